package generation

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Selection is the decision after a round: how many passed, what is missing
// and whether another round may be planned.
type Selection struct {
	Round     int
	Generated int
	Passed    int
	Shortfall int
	CostUSD   float64
	TopUp     bool
	NextRound int    // set when TopUp
	Reason    string // why no top-up despite a shortfall
}

// Select decides after `round`: a top-up when fewer than N passed, rounds
// remain, and neither maxImages nor maxCostUsd is spent.
func Select(g Generation, cands []Candidate, round int) Selection {
	t := TallyOf(cands)
	s := Selection{Round: round, Generated: t.Generated, Passed: t.Passed, CostUSD: t.CostUSD}
	s.Shortfall = max(0, g.RequestedCount-t.Passed)
	switch {
	case s.Shortfall == 0:
	case round >= g.Settings.MaxRounds:
		s.Reason = "maxRounds reached"
	case g.Settings.MaxImages > 0 && t.Generated >= g.Settings.MaxImages:
		s.Reason = "maxImages reached"
	case t.Generated >= GenerationBound(g.RequestedCount):
		s.Reason = boundReason(g.RequestedCount)
	case g.Settings.MaxCostUSD > 0 && t.CostUSD >= g.Settings.MaxCostUSD:
		s.Reason = "maxCostUsd reached"
	case refusedRound(cands, round) != "":
		s.Reason = "the provider refused every candidate of round " + strconv.Itoa(round) + " (" + refusedRound(cands, round) + "); another round would fail the same way"
	default:
		s.TopUp = true
		s.NextRound = round + 1
	}
	return s
}

// refusals are provider outcomes that no new seed or prompt variant fixes:
// retrying them in another round only spends time.
var refusals = []ProviderErrorKind{ProviderAuth, ProviderModelRetired, ProviderInvalidRequest, ProviderQuota}

// refusedRound returns the refusal code when every candidate of the round
// failed with one, else "".
func refusedRound(cands []Candidate, round int) string {
	code := ""
	for _, c := range cands {
		if c.Round != round {
			continue
		}
		kind, _, _ := strings.Cut(c.FailureReason, ":")
		if c.Status != CandidateFailed || !slices.Contains(refusals, ProviderErrorKind(kind)) {
			return ""
		}
		code = kind
	}
	return code
}

// ReasonDuplicate is the reason a verdict gets when a better-ranked
// near-copy of its image exists in the same generation.
const ReasonDuplicate = "duplicate"

// MarkDuplicates finds passing candidates whose image is a near-copy (same
// reports it) of a better-ranked passing one, and returns the candidates
// with those verdicts failed with ReasonDuplicate, plus the ids it failed.
// Candidates are compared in Ranked order, each against the ones kept so
// far, so the best of a group of twins is kept and the result does not
// depend on the order of cands; running it again on its own output changes
// nothing. Verdicts are copied, never changed in place.
func MarkDuplicates(cands []Candidate, same func(a, b Verdict) bool) ([]Candidate, []string) {
	out := slices.Clone(cands)
	pos := make(map[string]int, len(out))
	for i, c := range out {
		pos[c.ID] = i
	}
	var kept []Verdict
	var marked []string
	for _, c := range Ranked(out) {
		if !c.Verdict.Passed {
			break // Ranked puts every passing candidate first
		}
		dup := false
		for _, k := range kept {
			if same(k, *c.Verdict) {
				dup = true
				break
			}
		}
		if !dup {
			kept = append(kept, *c.Verdict)
			continue
		}
		v := *c.Verdict
		v.Passed, v.Flagged = false, false
		v.Reasons = append(slices.Clone(v.Reasons), ReasonDuplicate)
		out[pos[c.ID]].Verdict = &v
		marked = append(marked, c.ID)
	}
	return out, marked
}

// Ranked returns the candidates that have a verdict, best first: passed before
// failed, then by score, then by round and index (earlier first) so that
// ranking is deterministic.
func Ranked(cands []Candidate) []Candidate {
	var out []Candidate
	for _, c := range cands {
		if c.Verdict != nil {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Candidate) int {
		if a.Verdict.Passed != b.Verdict.Passed {
			if a.Verdict.Passed {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Verdict.Score, a.Verdict.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Round, b.Round); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	return out
}

// Delivery is the final outcome of a generation.
type Delivery struct {
	Status      Status
	Requested   int
	Selected    []Candidate // in rank order; Rank set from 1
	Discarded   []Candidate // validated but not delivered
	Generated   int
	Passed      int
	CostUSD     float64
	Reason      string // why fewer than N, or below threshold
	Feedback    []FeedbackEvent
	CompletedAt time.Time
	// PublishErr is why the feedback could not be published after the
	// delivery was committed (Pipeline.Deliver); the rows are stored.
	PublishErr error
}

// Deliver picks the best N passing candidates. When fewer passed: a non-strict
// request is topped up with the best below-threshold images
// (delivered_below_threshold); otherwise what passed is delivered (partial),
// or nothing (failed). Every candidate with an outcome yields one feedback
// event; an errored one yields none (it says nothing about its prompt).
func Deliver(g Generation, cands []Candidate, now time.Time) Delivery {
	t := TallyOf(cands)
	d := Delivery{Requested: g.RequestedCount, Generated: t.Generated, Passed: t.Passed, CostUSD: t.CostUSD, CompletedAt: now}
	ranked := Ranked(cands)
	n := g.RequestedCount
	take := min(n, t.Passed)
	if !g.Settings.Strict {
		take = min(n, len(ranked))
	}
	for i, c := range ranked {
		if i < take {
			rank := i + 1
			c.Rank = &rank
			c.Status = CandidateSelected
			d.Selected = append(d.Selected, c)
		} else {
			c.Status = CandidateDiscarded
			d.Discarded = append(d.Discarded, c)
		}
	}
	switch {
	case take == n && t.Passed >= n:
		d.Status = StatusDelivered
	case take == n:
		d.Status = StatusDeliveredBelowThreshold
		d.Reason = belowReason(n, t.Passed)
	case take > 0:
		d.Status = StatusPartial
		d.Reason = belowReason(n, t.Passed)
	default:
		d.Status = StatusFailed
		d.Reason = "no candidate produced a usable image"
	}
	if t.Passed < n && t.Generated >= GenerationBound(n) {
		d.Reason += "; " + boundReason(n)
	}
	selected := map[string]bool{}
	for _, c := range d.Selected {
		selected[c.ID] = true
	}
	for _, c := range cands {
		if c.Status == CandidateErrored {
			continue
		}
		d.Feedback = append(d.Feedback, feedbackFor(g, c, selected[c.ID], now))
	}
	return d
}

// boundReason says that the generation spent its image bound.
func boundReason(count int) string {
	return "stopped after " + itoa(GenerationBound(count)) + " images, the most a generation of " + itoa(count) +
		" may make (" + itoa(GenerationImagesPerCount) + " × count, at most " + itoa(MaxGenerationImages) + ")"
}

func belowReason(n, passed int) string {
	return "only " + itoa(passed) + " of " + itoa(n) + " requested images passed validation"
}

func itoa(i int) string { return strconv.Itoa(i) }

// feedbackFor turns a candidate's final state into one learning event.
func feedbackFor(g Generation, c Candidate, selected bool, now time.Time) FeedbackEvent {
	e := FeedbackEvent{
		GenerationID: g.ID,
		CandidateID:  c.ID,
		Provider:     c.Provider,
		Model:        c.Model,
		Source:       SourceValidationFilter,
		Weight:       1,
		Prompt:       c.Prompt,
		Modifiers:    c.Modifiers,
		CreatedAt:    now,
	}
	passed := c.Verdict != nil && c.Verdict.Passed
	e.Passed = &passed
	if c.Verdict != nil {
		score := c.Verdict.Score
		e.QualityScore = &score
		e.Reasons = c.Verdict.Reasons
	}
	switch {
	case c.Status == CandidateFiltered:
		e.Type, e.Source, e.Negative = FeedbackFiltered, SourceGeneration, true
		e.Reasons = []string{reasonOr(c.FailureReason, "filtered")}
	case c.Verdict == nil:
		e.Type, e.Source, e.Negative = FeedbackFailed, SourceGeneration, true
		e.Reasons = []string{reasonOr(c.FailureReason, "not_generated")}
	case selected && passed:
		e.Type, e.Positive = FeedbackSelected, true
	case selected:
		// Delivered below threshold: the user gets it, the learner counts a failure.
		e.Type, e.Negative = FeedbackFailed, true
	case passed:
		// A surplus image that passed: negative for ranking, not a failure.
		e.Type, e.Negative, e.Weight = FeedbackDiscarded, true, 0.25
		e.Reasons = []string{"surplus"}
	default:
		e.Type, e.Negative = FeedbackFailed, true
	}
	e.EventID = EventID("feedback", c.ID, string(e.Type))
	return e
}

func reasonOr(reason, fallback string) string {
	if reason != "" {
		return reason
	}
	return fallback
}
