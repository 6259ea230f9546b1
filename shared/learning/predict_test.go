package learning_test

import (
	"context"
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
