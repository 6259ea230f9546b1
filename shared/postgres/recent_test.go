package postgres_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// Recent outcomes, newest first, with their modifiers and Recalibrate's
// outcome rule; and the recency-discounted counts ProviderStats adds with a
// half-life.
func TestRecentOutcomesAndRecencyDiscount(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()

	// An old generation: 4 failures (3 below the threshold, 1 filtered) and
	// a candidate still planned (no outcome).
	old := newGeneration(t, st, 1, nil)
	oc := planRound(t, st, old, 1, 5, []string{"golden hour"})
	for _, c := range oc[:3] {
		validate(t, st, c, 20, "blurry: soft")
	}
	filterCandidate(t, st, oc[3], "safety")
	// A newer one: 4 passes.
	recent := newGeneration(t, st, 1, nil)
	rc := planRound(t, st, recent, 1, 4, []string{"soft daylight", "calm"})
	for _, c := range rc {
		validate(t, st, c, 90)
	}

	got, err := st.RecentOutcomes(ctx, "procedural", 100)
	require.NoError(t, err)
	require.Len(t, got, 8, "the planned candidate has no outcome yet")
	for _, o := range got[:4] {
		require.Equal(t, generation.Outcome{Modifiers: []string{"soft daylight", "calm"}, Passed: true}, o)
	}
	for _, o := range got[4:] {
		require.Equal(t, generation.Outcome{Modifiers: []string{"golden hour"}, Passed: false}, o)
	}
	limited, err := st.RecentOutcomes(ctx, "procedural", 3)
	require.NoError(t, err)
	require.Equal(t, got[:3], limited)
	_, err = st.RecentOutcomes(ctx, "procedural", 0)
	requireCode(t, generation.EINVALID, err)

	_, err = st.Recalibrate(ctx, t0)
	require.NoError(t, err)
	plain, err := st.ProviderStats(ctx, "procedural")
	require.NoError(t, err)
	require.Len(t, plain, 1)
	require.Zero(t, plain[0].RecentPasses+plain[0].RecentFailures, "no half-life, no discount")
	p, f := plain[0].Weighted()
	require.Equal(t, []float64{4, 4}, []float64{p, f})

	// Half-life 2: the four passes are ages 0–3, the failures 4–7.
	st.HalfLife = 2
	disc, err := st.ProviderStats(ctx, "procedural")
	require.NoError(t, err)
	w := func(age int) float64 { return math.Pow(0.5, float64(age)/2) }
	require.InDelta(t, w(0)+w(1)+w(2)+w(3), disc[0].RecentPasses, 1e-9)
	require.InDelta(t, w(4)+w(5)+w(6)+w(7), disc[0].RecentFailures, 1e-9)
	require.Equal(t, 4, disc[0].Passes, "the plain counts stay")
}

// A plan's per-candidate predictions and exploration costs are stored with
// the candidates; an impossible prediction is refused before anything is
// written.
func TestSavePlanStoresCandidatePredictions(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	g := newGeneration(t, st, 2, nil)
	plan := generation.RoundPlan{Round: 1, Needed: 2, Count: 3, BufferMethod: generation.BufferAuto}
	choice := generation.ModifierChoice{
		Modifiers:       [][]string{{"a"}, {"b"}, {"c"}},
		Predictions:     generation.PassPredictions{Draws: [][]float64{{0.9, 0.5, 0.8}, {0.7, 0.3, 0.8}}},
		ExplorationCost: []float64{0, 1.25, 0},
	}
	bad := generation.NewCandidates(g, plan, choice)
	bad[1].PredictedPass = ptr(1.5)
	_, err := st.SavePlan(ctx, g.ID, plan, bad)
	requireCode(t, generation.EINVALID, err)

	cands, err := st.SavePlan(ctx, g.ID, plan, generation.NewCandidates(g, plan, choice))
	require.NoError(t, err)
	require.Len(t, cands, 3)
	for i, want := range []float64{0.8, 0.4, 0.8} {
		require.NotNil(t, cands[i].PredictedPass)
		require.InDelta(t, want, *cands[i].PredictedPass, 1e-12)
	}
	require.Equal(t, 1.25, cands[1].ExplorationCost)
	require.Zero(t, cands[0].ExplorationCost)
}
