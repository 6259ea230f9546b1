package generation_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// One generation of N=2 over two rounds: every metric is worked out by hand
// from the candidates.
func TestDeliveryMetrics(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	g := generation.Generation{ID: generation.NewID(), RequestedCount: 2, CreatedAt: created, Rounds: 2,
		Settings: generation.Settings{MaxRounds: 3}}
	blurry := cand(2, 40, false)
	blurry.Verdict.Reasons = []string{"blurry", "low_contrast"}
	twin := cand(3, 85, false)
	twin.Verdict.Reasons = []string{"duplicate"}
	late := cand(1, 80, true)
	late.Round = 2
	errored := generation.Candidate{ID: generation.NewID(), Round: 2, Index: 2, Status: generation.CandidateErrored}
	cands := []generation.Candidate{
		cand(0, 90, true), blurry, twin,
		refused(4, "filtered: the provider's safety system"), refused(5, "quota: out of credit"),
		late, errored,
	}
	d := generation.Deliver(g, cands, created.Add(90*time.Second))
	require.Equal(t, generation.StatusDelivered, d.Status)

	got := map[string][]float64{}
	for _, p := range generation.DeliveryMetrics(g, cands, d, len(d.Feedback), 0) {
		def, ok := generation.MetricNamed(p.Name)
		require.True(t, ok, "%s is in the catalogue", p.Name)
		require.Equal(t, def.Unit, p.Unit, p.Name)
		key := p.Name
		if def.Dimension != "" {
			require.Len(t, p.Dimensions, 1, p.Name)
			key += "/" + p.Dimensions[def.Dimension]
		} else {
			require.Empty(t, p.Dimensions, p.Name)
		}
		require.NotContains(t, got, key, "one point per metric and dimension value")
		got[key] = p.Values
	}
	require.Equal(t, map[string][]float64{
		"Generations/delivered":         {1},
		"ImagesGenerated":               {4},    // the four judged images; the refused and errored made none
		"ImagesPassed":                  {2},    // 90 and 80
		"ImagesFailed":                  {4},    // blurry, the twin, the filtered one and the quota refusal; errored is no outcome
		"ImagesDelivered":               {2},    //
		"CostUSD":                       {0.06}, // 6 × 0.01 (errored costs nothing)
		"Rounds":                        {2},
		"TimeToDelivery":                {90},
		"DeliveredScore":                {90, 80},
		"FeedbackPublished":             {0},
		"FeedbackUnsent":                {6}, // one per candidate with an outcome
		"FailuresByReason/blurry":       {1},
		"FailuresByReason/low_contrast": {1},
		"FailuresByReason/duplicate":    {1},
		"FailuresByReason/filtered":     {1},
		"FailuresByReason/quota":        {1},
	}, roundValues(got))
}

func roundValues(m map[string][]float64) map[string][]float64 {
	for k, vs := range m {
		for i, v := range vs {
			vs[i] = float64(int64(v*1e6+0.5)) / 1e6
		}
		m[k] = vs
	}
	return m
}

func TestEveryMetricIsDefinedOnce(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, m := range generation.Metrics {
		require.False(t, seen[m.Name], "%s defined twice", m.Name)
		seen[m.Name] = true
		require.NotEmpty(t, m.Unit, m.Name)
		require.NotEmpty(t, m.Meaning, m.Name)
	}
}
