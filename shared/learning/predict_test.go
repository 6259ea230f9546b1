package learning_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
)

// history draws n outcomes of random candidates (one modifier per group of
// twoGroups) from a known truth: "bad light" fails 60 % of the time, every
// other candidate 10 %. Newest first, as RecentOutcomes returns them.
func history(n int, seed uint64) []generation.Outcome {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]generation.Outcome, n)
	for i := range out {
		mods := []string{twoGroups[0].Modifiers[rng.IntN(3)], twoGroups[1].Modifiers[rng.IntN(2)]}
		fail := 0.1
		if mods[0] == "bad light" {
			fail = 0.6
		}
		out[i] = generation.Outcome{Modifiers: mods, Passed: rng.Float64() >= fail}
	}
	return out
}

func TestThompsonPredictsEachCandidateFromTheJointFit(t *testing.T) {
	t.Parallel()
	c := learning.Thompson{Stats: fakeStats{outcomes: history(1000, 3)}, Catalog: twoGroups, Explore: 0.3, ExploreBudget: -1}
	req := generation.ChoiceRequest{Provider: "p", Count: 400, Seed: 9, Learn: true, Need: 20, BaseAlpha: 80, BaseBeta: 20}
	choice, err := c.Choose(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, choice.Predictions.Draws, learning.DefaultPredictionDraws)
	var bad, good []float64
	for i, mods := range choice.Modifiers {
		p, ok := choice.Predictions.Mean(i)
		require.True(t, ok)
		if mods[0] == "bad light" {
			bad = append(bad, p)
		} else {
			good = append(good, p)
		}
	}
	require.NotEmpty(t, bad, "the exploration floor tries the bad modifier")
	for _, p := range bad {
		require.InDelta(t, 0.4, p, 0.08, "a candidate with the bad modifier is predicted near its true 40 %")
	}
	for _, p := range good {
		require.InDelta(t, 0.9, p, 0.05, "the others near their true 90 %")
	}
	again, err := c.Choose(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, choice, again, "the same seed and history predict the same")

	// The first n of a larger choice are the choice of n: the planner may
	// take a prefix.
	small := req
	small.Count = 50
	prefix, err := c.Choose(context.Background(), small)
	require.NoError(t, err)
	require.Equal(t, choice.Modifiers[:50], prefix.Modifiers)

	// Without the planner's posterior nothing is predicted.
	req.BaseAlpha, req.BaseBeta = 0, 0
	none, err := c.Choose(context.Background(), req)
	require.NoError(t, err)
	require.Empty(t, none.Predictions.Draws)
}

func TestThompsonPaysForExplorationWithinItsBudget(t *testing.T) {
	t.Parallel()
	outcomes := history(1000, 4)
	spend := func(budget float64) (cost float64, bad int) {
		c := learning.Thompson{Stats: fakeStats{outcomes: outcomes}, Catalog: twoGroups, Explore: 0.3, ExploreBudget: budget}
		choice, err := c.Choose(context.Background(), generation.ChoiceRequest{Provider: "p", Count: 300, Seed: 5, Learn: true, Need: 20})
		require.NoError(t, err)
		for i, mods := range choice.Modifiers {
			cost += choice.ExplorationCost[i]
			if mods[0] == "bad light" {
				bad++
			}
		}
		return cost, bad
	}
	free, freeBad := spend(-1)
	tight, tightBad := spend(0.05)
	require.Greater(t, free, 1.0, "a 30 %% floor without a budget keeps trying the bad modifier")
	require.LessOrEqual(t, tight, 0.05*20+1e-9, "the budget bounds the expected extra images")
	require.Less(t, tightBad, freeBad)
}

// TestAModifierBreaksImagesMoreEasilyThanItMendsThem: ten failures in ten
// sink a modifier's predictions far below the others', ten passes in ten
// lift them only a little (the split-normal prior on the effects), so the
// best-looking modifier of a group is not credited with its luck.
func TestAModifierBreaksImagesMoreEasilyThanItMendsThem(t *testing.T) {
	t.Parallel()
	var outcomes []generation.Outcome
	for i := range 30 {
		light := twoGroups[0].Modifiers[i%3] // good, bad, plain light in turn
		passed := light == "good light" || (light == "plain light" && i%5 != 2)
		outcomes = append(outcomes, generation.Outcome{Modifiers: []string{light, twoGroups[1].Modifiers[i%2]}, Passed: passed})
	}
	c := learning.Thompson{Stats: fakeStats{outcomes: outcomes}, Catalog: twoGroups, Explore: 1, ExploreBudget: -1}
	// The planner's pooled posterior: 18 passes, 12 failures.
	req := generation.ChoiceRequest{Provider: "p", Count: 300, Seed: 5, Learn: true, Need: 20, BaseAlpha: 18.5, BaseBeta: 12.5}
	choice, err := c.Choose(context.Background(), req)
	require.NoError(t, err)
	mean := map[string][]float64{}
	for i, mods := range choice.Modifiers {
		p, ok := choice.Predictions.Mean(i)
		require.True(t, ok)
		mean[mods[0]] = append(mean[mods[0]], logOdds(p))
	}
	avg := func(light string) float64 {
		require.NotEmpty(t, mean[light], light)
		s := 0.0
		for _, v := range mean[light] {
			s += v
		}
		return s / float64(len(mean[light]))
	}
	plain, good, bad := avg("plain light"), avg("good light"), avg("bad light")
	// Measured: plain 1.20, good 1.36, bad −1.24 in log-odds (a symmetric
	// N(0, 0.85²) prior gives 1.02, 1.54, −0.99).
	require.Less(t, bad, plain-2.2, "ten failures in ten: believed")
	require.Greater(t, good, plain, "ten passes in ten still help")
	require.Less(t, good, plain+0.3, "but only a little: luck is not credited")
	require.Greater(t, plain-bad, 6*(good-plain))
}

func logOdds(p float64) float64 { return math.Log(p / (1 - p)) }
