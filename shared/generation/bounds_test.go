package generation_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

func TestBoundsAreMultiplesOfCountWithinTheAbsoluteLimits(t *testing.T) {
	t.Parallel()
	require.Equal(t, 492, generation.MaxGenerationImages)
	require.Equal(t, 840, generation.MaxRoundImages)
	for _, tc := range []struct{ count, round, gen int }{{1, 3, 5}, {6, 18, 30}, {50, 150, 250}, {100, 300, 492}} {
		require.Equal(t, tc.round, generation.RoundBound(tc.count), tc.count)
		require.Equal(t, tc.gen, generation.GenerationBound(tc.count), tc.count)
	}
	// A named buffer, however large, is never cut by the round bound.
	require.LessOrEqual(t, generation.WithBuffer(generation.MaxCount, generation.MaxBufferPercent), generation.RoundBound(generation.MaxCount))
}

// The runaway: N = 6 from a reference where nothing passes. Rounds
// 1 and 2 made 8 each with 0 passing; round 3's planner wants tens of
// thousands. The plan is the bound, says so, and the generation then stops
// with a reason.
func TestARunawayTopUpPlansAtMostTheBound(t *testing.T) {
	t.Parallel()
	policy := generation.PlanPolicy{DefaultBufferPercent: 30, Planner: buffer.Planner{MinSamples: 10}}
	g := newGeneration(t, `{"count": 6, "strict": true}`)
	tally := generation.Tally{Generated: 16}
	plan, err := generation.PlanRound(g, 3, tally, policy, nil)
	require.NoError(t, err)
	require.Equal(t, 14, plan.Count, "a generation of 6 makes at most 30 images: 14 are left")
	require.True(t, plan.Capped)
	require.Contains(t, plan.Bounded, "planned 14, the bound")
	require.Less(t, *plan.PredictedDeliveryProbability, 0.95, "the honest probability of the bounded round")

	// A first round never plans more than 3 × count, even from a history
	// that says almost nothing passes.
	bleak := []generation.ProviderStats{{Provider: g.Provider, Passes: 1, Failures: 500}}
	plan, err = generation.PlanRound(g, 1, generation.Tally{}, policy, bleak)
	require.NoError(t, err)
	require.Equal(t, 18, plan.Count)
	require.NotEmpty(t, plan.Bounded)

	// Without a planner the bound holds too.
	plan, err = generation.PlanRound(g, 3, tally, generation.PlanPolicy{DefaultBufferPercent: 200}, nil)
	require.NoError(t, err)
	require.Equal(t, 14, plan.Count)
	require.NotEmpty(t, plan.Bounded)

	// After round 3's 14 (30 in all), no top-up, whatever maxRounds allows,
	// and the delivery says why.
	g.Settings.MaxRounds = 10
	var cands []generation.Candidate
	for i := range 30 {
		cands = append(cands, generation.Candidate{ID: generation.NewID(), Round: 1 + i/10, Index: i % 10,
			Status: generation.CandidateValidated, Verdict: &generation.Verdict{Score: 10, Reasons: []string{"blank"}}})
	}
	s := generation.Select(g, cands, 3)
	require.False(t, s.TopUp)
	require.Contains(t, s.Reason, "stopped after 30 images")
	d := generation.Deliver(g, cands, time.Now())
	require.Equal(t, generation.StatusFailed, d.Status)
	require.Contains(t, d.Reason, "stopped after 30 images, the most a generation of 6 may make")
}
