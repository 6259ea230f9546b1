package generation_test

import (
	"testing"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/stretchr/testify/require"
)

// cand makes a candidate of round 1; score < 0 means "no verdict".
func cand(index int, score float64, passed bool) generation.Candidate {
	c := generation.Candidate{ID: generation.NewID(), Round: 1, Index: index, Provider: "procedural", Status: generation.CandidateValidated, CostUSD: 0.01}
	if score >= 0 {
		c.Verdict = &generation.Verdict{Score: score, Passed: passed}
	} else {
		c.Status = generation.CandidateFailed
		c.FailureReason = "InternalError: boom"
	}
	return c
}

func refused(index int, reason string) generation.Candidate {
	c := cand(index, -1, false)
	c.FailureReason = reason
	return c
}

func TestSelectDecidesTopUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		settings  string
		round     int
		cands     []generation.Candidate
		topUp     bool
		shortfall int
		reason    string
	}{
		{"enough passed", `{"count": 2}`, 1, []generation.Candidate{cand(0, 90, true), cand(1, 80, true), cand(2, 20, false)}, false, 0, ""},
		{"short with rounds left", `{"count": 3}`, 1, []generation.Candidate{cand(0, 90, true), cand(1, 20, false), cand(2, -1, false)}, true, 2, ""},
		{"short on the last round", `{"count": 3, "maxRounds": 1}`, 1, []generation.Candidate{cand(0, 90, true)}, false, 2, "maxRounds reached"},
		{"short with images spent", `{"count": 2, "maxImages": 3}`, 1, []generation.Candidate{cand(0, 90, true), cand(1, 10, false), cand(2, 10, false)}, false, 1, "maxImages reached"},
		{"short with money spent", `{"count": 2, "maxCostUsd": 0.02}`, 1, []generation.Candidate{cand(0, 90, true), cand(1, 10, false)}, false, 1, "maxCostUsd reached"},
		{"every candidate refused", `{"count": 2}`, 1, []generation.Candidate{refused(0, "auth: invalid API key"), refused(1, "auth: invalid API key")}, false, 2,
			"the provider refused every candidate of round 1 (auth); another round would fail the same way"},
		{"a refusal among other failures still tops up", `{"count": 2}`, 1, []generation.Candidate{refused(0, "model_retired: gone"), cand(1, -1, false)}, true, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := generation.Select(newGeneration(t, tt.settings), tt.cands, tt.round)
			require.Equal(t, tt.topUp, s.TopUp)
			require.Equal(t, tt.shortfall, s.Shortfall)
			require.Equal(t, tt.reason, s.Reason)
			if tt.topUp {
				require.Equal(t, tt.round+1, s.NextRound)
			}
		})
	}
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	filtered := generation.Candidate{ID: generation.NewID(), Round: 1, Index: 5, Provider: "procedural", Status: generation.CandidateFiltered, FailureReason: "filtered: nsfw"}
	tests := []struct {
		name     string
		settings string
		cands    []generation.Candidate
		status   generation.Status
		selected []float64 // scores in rank order
	}{
		{"best N of the passed", `{"count": 2}`, []generation.Candidate{cand(0, 75, true), cand(1, 95, true), cand(2, 85, true), cand(3, 30, false), filtered}, generation.StatusDelivered, []float64{95, 85}},
		{"below threshold fills when not strict", `{"count": 3}`, []generation.Candidate{cand(0, 75, true), cand(1, 60, false), cand(2, 20, false), cand(3, -1, false)}, generation.StatusDeliveredBelowThreshold, []float64{75, 60, 20}},
		{"strict delivers only what passed", `{"count": 3, "strict": true}`, []generation.Candidate{cand(0, 75, true), cand(1, 60, false)}, generation.StatusPartial, []float64{75}},
		{"nothing usable fails", `{"count": 2}`, []generation.Candidate{cand(0, -1, false), filtered}, generation.StatusFailed, nil},
		{"ties broken by round and index", `{"count": 1}`, []generation.Candidate{cand(1, 80, true), cand(0, 80, true)}, generation.StatusDelivered, []float64{80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGeneration(t, tt.settings)
			d := generation.Deliver(g, tt.cands, now)
			require.Equal(t, tt.status, d.Status)
			var scores []float64
			for i, c := range d.Selected {
				scores = append(scores, c.Verdict.Score)
				require.Equal(t, i+1, *c.Rank)
				require.Equal(t, generation.CandidateSelected, c.Status)
			}
			require.Equal(t, tt.selected, scores)
			require.Len(t, d.Feedback, len(tt.cands), "one event per candidate")
			if tt.status != generation.StatusDelivered {
				require.NotEmpty(t, d.Reason)
			}
			ids := map[string]bool{}
			for _, e := range d.Feedback {
				require.NoError(t, e.Validate())
				require.False(t, ids[e.EventID])
				ids[e.EventID] = true
				require.NotNil(t, e.Passed)
			}
			again := generation.Deliver(g, tt.cands, now.Add(time.Hour))
			for i := range again.Feedback {
				require.Equal(t, d.Feedback[i].EventID, again.Feedback[i].EventID, "re-delivery re-publishes the same event ids")
			}
		})
	}
}

func TestDeliverFeedbackTypes(t *testing.T) {
	t.Parallel()
	g := newGeneration(t, `{"count": 1}`)
	best, surplus, bad := cand(0, 95, true), cand(1, 80, true), cand(2, 30, false)
	bad.Verdict.Reasons = []string{"blurry"}
	filtered := generation.Candidate{ID: generation.NewID(), Index: 3, Provider: "procedural", Status: generation.CandidateFiltered, FailureReason: "filtered: nsfw"}
	errored := cand(4, -1, false)
	d := generation.Deliver(g, []generation.Candidate{best, surplus, bad, filtered, errored}, time.Now())
	byCandidate := map[string]generation.FeedbackEvent{}
	for _, e := range d.Feedback {
		byCandidate[e.CandidateID] = e
	}
	tests := []struct {
		c        generation.Candidate
		typ      generation.FeedbackType
		passed   bool
		negative bool
		reasons  []string
	}{
		{best, generation.FeedbackSelected, true, false, nil},
		{surplus, generation.FeedbackDiscarded, true, true, []string{"surplus"}},
		{bad, generation.FeedbackFailed, false, true, []string{"blurry"}},
		{filtered, generation.FeedbackFiltered, false, true, []string{"filtered: nsfw"}},
		{errored, generation.FeedbackFailed, false, true, []string{"InternalError: boom"}},
	}
	for _, tt := range tests {
		e := byCandidate[tt.c.ID]
		require.Equal(t, tt.typ, e.Type, tt.c.Index)
		require.Equal(t, tt.passed, *e.Passed, tt.c.Index)
		require.Equal(t, tt.negative, e.Negative, tt.c.Index)
		require.Equal(t, tt.reasons, e.Reasons, tt.c.Index)
	}
}
