package buffer_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/buffer"
)

// bruteTail is P(at least n of the candidates pass) by enumerating every
// outcome: the definition of the Poisson-binomial tail.
func bruteTail(n int, p []float64) float64 {
	total := 0.0
	for mask := 0; mask < 1<<len(p); mask++ {
		prob, passes := 1.0, 0
		for i, q := range p {
			if mask&(1<<i) != 0 {
				prob *= q
				passes++
			} else {
				prob *= 1 - q
			}
		}
		if passes >= n {
			total += prob
		}
	}
	return total
}

func TestPredictedTailsIsTheExactPoissonBinomialAveragedOverDraws(t *testing.T) {
	t.Parallel()
	draws := [][]float64{
		{0.9, 0.4, 0.95, 0.7, 0.99, 0.2, 0.85, 0.6, 0.93, 0.5},
		{0.8, 0.5, 0.9, 0.75, 0.97, 0.3, 0.8, 0.65, 0.9, 0.45},
		{1, 0, 0.5, 0.5, 0.99, 0.01, 0.9, 0.9, 0.9, 0.9},
	}
	for _, n := range []int{1, 3, 6, 10} {
		tails := buffer.PredictedTails(n, draws)
		require.Len(t, tails, 11)
		for m := 0; m <= 10; m++ {
			want := 0.0
			for _, d := range draws {
				want += bruteTail(n, d[:m])
			}
			want /= float64(len(draws))
			require.InDelta(t, want, tails[m], 1e-12, "n=%d m=%d", n, m)
		}
	}
}

// With every candidate alike and one draw, the Poisson-binomial is the
// binomial: CountPredicted finds the same M* as CountKnown.
func TestCountPredictedWithEqualCandidatesIsTheBinomialPlan(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    int
		fail float64
	}{{4, 0.15}, {10, 0.3}, {30, 0.05}, {100, 0.15}} {
		row := make([]float64, 400)
		for i := range row {
			row[i] = 1 - tt.fail
		}
		want, wantP := buffer.CountKnown(tt.n, 0.95, tt.fail, 0)
		got, p := buffer.CountPredicted(tt.n, 0.95, [][]float64{row}, 0)
		require.Equal(t, want, got, "%+v", tt)
		require.InDelta(t, wantP, p, 1e-9)
	}
}

// Uncertainty shared by the candidates widens the plan: a 50/50 mixture of
// two pass rates needs more than their mean rate known exactly.
func TestCountPredictedIntegratesSharedUncertainty(t *testing.T) {
	t.Parallel()
	mk := func(p float64) []float64 {
		row := make([]float64, 200)
		for i := range row {
			row[i] = p
		}
		return row
	}
	known, _ := buffer.CountPredicted(20, 0.95, [][]float64{mk(0.85)}, 0)
	mixed, p := buffer.CountPredicted(20, 0.95, [][]float64{mk(0.75), mk(0.95)}, 0)
	require.Greater(t, mixed, known)
	require.GreaterOrEqual(t, p, 0.95)
	// The cap: the largest allowed and its honest probability.
	capped, pc := buffer.CountPredicted(20, 0.95, [][]float64{mk(0.75), mk(0.95)}, 22)
	require.Equal(t, 22, capped)
	require.Less(t, pc, 0.95)
	require.False(t, math.IsNaN(pc))
	// Nothing to deliver.
	m, p0 := buffer.CountPredicted(0, 0.95, nil, 0)
	require.Equal(t, 0, m)
	require.Equal(t, 1.0, p0)
}
