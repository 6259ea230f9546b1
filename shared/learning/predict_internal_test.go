package learning

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// TestTheChoosersDrawsKeepBothSidesOfThePrior: the Laplace normal is
// symmetric about the mode, the split prior is not. An untried modifier
// draws its help from the help side's width and its harm from the harm
// side's; one whose data put it above 0 can still draw below 0 with the
// harm side's width.
func TestTheChoosersDrawsKeepBothSidesOfThePrior(t *testing.T) {
	t.Parallel()
	catalog := []Group{
		{"lighting", []string{"plain light", "lucky light", "untried light"}},
		{"mood", []string{"calm", "loud"}},
	}
	rng := rand.New(rand.NewPCG(7, 1))
	var outcomes []generation.Outcome
	for i := range 400 {
		light, fail := "plain light", 0.2
		if i%2 == 0 {
			light, fail = "lucky light", 0.05
		}
		mood := catalog[1].Modifiers[i%2]
		outcomes = append(outcomes, generation.Outcome{Modifiers: []string{light, mood}, Passed: rng.Float64() >= fail})
	}
	m, ok := fitModel(catalog, outcomes, 80, 20)
	require.True(t, ok)
	lucky, untried := m.index["lucky light"], m.index["untried light"]
	require.Zero(t, m.mode[untried], "no outcome, no effect")
	require.Greater(t, m.mode[lucky], 0.0)

	rms := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x * x
		}
		return math.Sqrt(s / float64(len(xs)))
	}
	var up, down, luckyBelow []float64
	draws := rand.New(rand.NewPCG(8, 2))
	for range 20_000 {
		d := m.draw(draws)
		if x := d[untried]; x > 0 {
			up = append(up, x)
		} else {
			down = append(down, x)
		}
		if x := d[lucky]; x < 0 {
			luckyBelow = append(luckyBelow, x)
		}
	}
	require.InDelta(t, EffectSDHelp, rms(up), 0.02, "an untried modifier helps at most as the prior allows")
	require.InDelta(t, EffectSDHarm, rms(down), 0.05, "and may harm as much as it allows")

	// Below 0 the lucky modifier's draws spread wider than its plain
	// marginal N(mode, 1/margPrec) does there: the harm side's precision
	// replaces the help side's.
	sd := 1 / math.Sqrt(m.margPrec[lucky])
	widen := 1 / math.Sqrt(m.margPrec[lucky]-effectPrecision(1)+effectPrecision(-1))
	var plainBelow []float64
	for range 20_000 {
		if x := m.mode[lucky] + sd*draws.NormFloat64(); x < 0 {
			plainBelow = append(plainBelow, x)
		}
	}
	require.Greater(t, len(luckyBelow), 100)
	require.Greater(t, len(plainBelow), 100)
	require.Greater(t, widen, 1.1*sd)
	require.InDelta(t, widen/sd, rms(luckyBelow)/rms(plainBelow), 0.1*widen/sd)
}
