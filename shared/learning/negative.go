package learning

import (
	"cmp"
	"slices"
	"strings"

	"github.com/designerbff/pipeline/shared/generation"
)

// negativeTermFor maps a validator reason code to the negative-prompt term
// that asks a provider to avoid it. Reasons a prompt cannot influence
// (undecodable, wrong_size, filtered, surplus, low_score) have none.
var negativeTermFor = map[string]string{
	"blurry":       "blurry",
	"noisy":        "grainy noise",
	"underexposed": "underexposed",
	"overexposed":  "overexposed",
	"blank":        "blank image",
	"low_contrast": "flat low contrast",
	"blocky":       "jpeg artifacts",
	"duplicate":    "generic stock photo",
	"off_palette":  "off-palette colours",
}

// Minimum evidence for a learned term: its reason must carry at least
// minTermShare of the provider's recent failure weight and minTermWeight
// in absolute terms, so one unlucky image teaches nothing.
const (
	minTermShare  = 0.10
	minTermWeight = 3.0
)

// NegativeTerms turns recent failure reasons into at most max negative-prompt
// terms, the most frequent first. A reason's code is its text before the
// first ':' ("filtered: …" is "filtered").
func NegativeTerms(reasons []generation.ReasonCount, max int) []string {
	weights := map[string]float64{}
	var total float64
	for _, r := range reasons {
		if r.Weight <= 0 {
			continue
		}
		total += r.Weight
		code, _, _ := strings.Cut(r.Reason, ":")
		if term, ok := negativeTermFor[strings.TrimSpace(code)]; ok {
			weights[term] += r.Weight
		}
	}
	type tw struct {
		term   string
		weight float64
	}
	var ranked []tw
	for term, w := range weights {
		if w >= minTermWeight && w >= minTermShare*total {
			ranked = append(ranked, tw{term, w})
		}
	}
	slices.SortFunc(ranked, func(a, b tw) int {
		return cmp.Or(cmp.Compare(b.weight, a.weight), cmp.Compare(a.term, b.term))
	})
	out := []string{}
	for _, r := range ranked {
		if len(out) == max {
			break
		}
		out = append(out, r.term)
	}
	return out
}
