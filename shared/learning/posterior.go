package learning

import (
	"cmp"
	"slices"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// Posterior is an attribute's Beta posterior of the pass rate.
type Posterior struct {
	Attribute string  `json:"attribute"`
	Group     string  `json:"group,omitempty"` // its catalog group; "" when not in the catalog
	Mean      float64 `json:"mean"`
	Lower     float64 `json:"lower"` // equal-tailed credible interval at Level
	Upper     float64 `json:"upper"`
	Level     float64 `json:"level"`
	Passes    float64 `json:"passes"`   // discounted
	Failures  float64 `json:"failures"` // discounted
	Samples   int64   `json:"samples"`  // undiscounted outcomes folded in
}

// Rank returns the posterior of every attribute in stats and of every
// catalog modifier without statistics (prior only), ordered by posterior mean,
// best first (ties: more samples first, then by name). level is the
// credible interval's mass, e.g. 0.9; prior is the pseudo-count a of the
// Beta(a, a) prior, as in Thompson (0: buffer.DefaultPriorCount).
func Rank(stats []generation.AttributeStat, catalog []Group, prior, level float64) []Posterior {
	prior = buffer.SymmetricPrior(prior).Alpha
	if catalog == nil {
		catalog = Catalog
	}
	groupOf := map[string]string{}
	for _, g := range catalog {
		for _, m := range g.Modifiers {
			groupOf[m] = g.Name
		}
	}
	seen := map[string]bool{}
	out := make([]Posterior, 0, len(stats)+len(groupOf))
	add := func(s generation.AttributeStat) {
		q := buffer.Posterior{Alpha: prior + s.Passes, Beta: prior + s.Failures}
		lo, hi := q.Interval(level)
		out = append(out, Posterior{
			Attribute: s.Attribute, Group: groupOf[s.Attribute],
			Mean: q.Mean(), Lower: lo, Upper: hi, Level: level,
			Passes: s.Passes, Failures: s.Failures, Samples: s.Samples,
		})
		seen[s.Attribute] = true
	}
	for _, s := range stats {
		add(s)
	}
	for _, g := range catalog {
		for _, m := range g.Modifiers {
			if !seen[m] {
				add(generation.AttributeStat{Attribute: m})
			}
		}
	}
	slices.SortFunc(out, func(x, y Posterior) int {
		return cmp.Or(cmp.Compare(y.Mean, x.Mean), cmp.Compare(y.Samples, x.Samples), cmp.Compare(x.Attribute, y.Attribute))
	})
	return out
}
