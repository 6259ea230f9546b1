package generation_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// PlanRound with the real planner (shared/buffer): "auto" is the exact
// Beta-Binomial quantile, a named percent is kept, caps bind honestly and a
// top-up is sized by the same rule with the request's own outcomes.
func TestPlanRoundWithPlanner(t *testing.T) {
	t.Parallel()
	policy := generation.PlanPolicy{DefaultBufferPercent: 20, Planner: buffer.Planner{MinSamples: 10}}
	// 140 passes and 60 failures: N = 30 at 95 % needs 52 (buffer-statistics §4).
	history := []generation.ProviderStats{{Provider: "procedural", Model: "m1", Passes: 140, Failures: 60, MeanCostUSD: 0.25}}
	tests := []struct {
		name        string
		settings    string
		round       int
		tally       generation.Tally
		history     []generation.ProviderStats
		wantCount   int
		wantMethod  string
		wantCapped  bool
		wantNeeded  int
		wantProbMin float64 // the reported probability is at least this …
		wantProbMax float64 // … and at most this
		alpha, beta float64
	}{
		{"auto plans the exact quantile", `{"count": 30, "model": "m1"}`, 1, generation.Tally{}, history,
			52, generation.BufferAuto, false, 30, 0.95, 1, 140.5, 60.5},
		{"a higher confidence plans more", `{"count": 30, "model": "m1", "targetConfidence": 0.99}`, 1, generation.Tally{}, history,
			0, generation.BufferAuto, false, 30, 0.99, 1, 140.5, 60.5},
		{"a named percent is planned as named, with its probability", `{"count": 30, "model": "m1", "bufferPercent": 20}`, 1, generation.Tally{}, history,
			36, generation.BufferFixed, false, 30, 0, 0.5, 140.5, 60.5},
		{"maxImages binds: plan the cap, report its probability", `{"count": 30, "model": "m1", "maxImages": 45}`, 1, generation.Tally{}, history,
			45, generation.BufferAuto, true, 30, 0.5, 0.95, 140.5, 60.5},
		// 0.25 a candidate: $10 buys 40.
		{"maxCostUsd binds through the recalibrated mean cost", `{"count": 30, "model": "m1", "maxCostUsd": 10}`, 1, generation.Tally{}, history,
			40, generation.BufferAuto, true, 30, 0.1, 0.95, 140.5, 60.5},
		// Round 1 made 52 at $0.25 (13), 27 passed: $1 is left for 4 more.
		{"maxCostUsd binds a top-up through the request's own cost", `{"count": 30, "model": "m1", "maxCostUsd": 14}`, 2,
			generation.Tally{Generated: 52, Passed: 27, CostUSD: 13}, history, 4, generation.BufferAuto, true, 3, 0.2, 0.95, 167.5, 85.5},
		{"a top-up plans the shortfall by the same rule", `{"count": 30, "model": "m1"}`, 2,
			generation.Tally{Generated: 52, Passed: 27}, history, 0, generation.BufferAuto, false, 3, 0.95, 1, 167.5, 85.5},
		{"cold start: the default percent, honest probability", `{"count": 12}`, 1, generation.Tally{}, nil,
			15, generation.BufferAuto, false, 12, 0, 0.5, 0.5, 0.5},
		{"nothing left to deliver", `{"count": 3}`, 2, generation.Tally{Generated: 4, Passed: 3}, nil,
			0, generation.BufferAuto, false, 0, 1, 1, 0, 0},
		{"spent budget", `{"count": 10, "maxImages": 12}`, 2, generation.Tally{Generated: 12, Passed: 7}, nil,
			0, generation.BufferAuto, true, 3, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGeneration(t, tt.settings)
			g.Model = "m1"
			if g.Settings.Model != "" {
				g.Model = g.Settings.Model
			}
			plan, err := generation.PlanRound(g, tt.round, tt.tally, policy, tt.history)
			require.NoError(t, err)
			want := tt.wantCount
			if want == 0 && tt.alpha > 0 {
				want, _ = buffer.Count(tt.wantNeeded, g.Settings.TargetConfidence, tt.alpha, tt.beta, 0)
			}
			require.Equal(t, want, plan.Count)
			require.Equal(t, tt.wantNeeded, plan.Needed)
			require.Equal(t, tt.wantMethod, plan.BufferMethod)
			require.Equal(t, tt.wantCapped, plan.Capped)
			require.Equal(t, tt.alpha, plan.PosteriorAlpha)
			require.Equal(t, tt.beta, plan.PosteriorBeta)
			require.NotNil(t, plan.PredictedDeliveryProbability)
			p := *plan.PredictedDeliveryProbability
			require.GreaterOrEqual(t, p, tt.wantProbMin)
			require.LessOrEqual(t, p, tt.wantProbMax)
			if tt.alpha > 0 {
				require.InDelta(t, 1-buffer.Shortfall(plan.Needed, plan.Count, tt.alpha, tt.beta), p, 1e-12)
			}
		})
	}
}

// rows is n candidates' draws, every candidate at p in every draw.
func rows(p float64, n int) [][]float64 {
	row := make([]float64, n)
	for i := range row {
		row[i] = p
	}
	return [][]float64{row}
}

// PlanRoundPredicted: "auto" is the smallest prefix of the chooser's
// candidates that keeps the promise, a named percent keeps its count and
// reports the candidates' probability, a short history plans the default,
// and the recency-discounted evidence is what the posterior is built from.
func TestPlanRoundPredicted(t *testing.T) {
	t.Parallel()
	policy := generation.PlanPolicy{DefaultBufferPercent: 20, Planner: buffer.Planner{MinSamples: 10}}
	// 600 old outcomes at 70 % but the recent ones at 95 %: the posterior
	// is built from the recent ones.
	history := []generation.ProviderStats{{Provider: "procedural", Model: "m1", Passes: 420, Failures: 180, RecentPasses: 190, RecentFailures: 10}}
	g := newGeneration(t, `{"count": 20, "model": "m1"}`)
	g.Model = "m1"

	plan, err := generation.PlanRoundPredicted(g, 1, generation.Tally{}, policy, history, generation.PassPredictions{Draws: rows(0.95, 60)})
	require.NoError(t, err)
	want, _ := buffer.CountKnown(20, 0.95, 0.05, 0)
	require.Equal(t, want, plan.Count, "the exact Poisson-binomial over the predicted candidates")
	require.True(t, plan.Predicted)
	require.Equal(t, generation.BufferAuto, plan.BufferMethod)
	require.GreaterOrEqual(t, *plan.PredictedDeliveryProbability, 0.95)
	require.Equal(t, 190.5, plan.PosteriorAlpha, "the recent outcomes, not all 600")
	require.Equal(t, 10.5, plan.PosteriorBeta)

	// The pool is too small to keep the promise: the whole pool, capped.
	short, err := generation.PlanRoundPredicted(g, 1, generation.Tally{}, policy, history, generation.PassPredictions{Draws: rows(0.6, 22)})
	require.NoError(t, err)
	require.Equal(t, 22, short.Count)
	require.True(t, short.Capped)

	fixed := newGeneration(t, `{"count": 20, "model": "m1", "bufferPercent": 10}`)
	fixed.Model = "m1"
	plan, err = generation.PlanRoundPredicted(fixed, 1, generation.Tally{}, policy, history, generation.PassPredictions{Draws: rows(0.95, 60)})
	require.NoError(t, err)
	require.Equal(t, 22, plan.Count, "a named percent plans as named")
	require.Equal(t, 10.0, plan.BufferPercent)
	require.InDelta(t, 1-buffer.ShortfallKnown(20, 22, 0.05), *plan.PredictedDeliveryProbability, 1e-9)

	plan, err = generation.PlanRoundPredicted(g, 1, generation.Tally{}, policy, nil, generation.PassPredictions{Draws: rows(0.99, 60)})
	require.NoError(t, err)
	require.Equal(t, 24, plan.Count, "no history: the default percent, whatever is predicted")
	require.False(t, plan.Predicted)
}
