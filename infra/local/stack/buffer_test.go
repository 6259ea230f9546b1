package stack_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// The planner through the real definition: a cold start plans over the
// default percent's cold-start prior; after a recalibration the history
// is trusted, "auto" plans the exact quantile and records its posterior, and
// the optimization API says the same.
func TestAutoBufferLearnsFromRecalibratedHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), nil)
	ctx := context.Background()
	posterior := func(id string) (alpha, beta float64) {
		require.NoError(t, h.stack.Pool.QueryRow(ctx, `SELECT posterior_alpha, posterior_beta FROM generations WHERE id = $1`, id).Scan(&alpha, &beta))
		return alpha, beta
	}

	cold, err := h.run(`{"count": 4}`)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, cold.Status)
	require.Equal(t, generation.BufferAuto, cold.BufferMethod)
	// No history: the default 20 %'s rate, 1/1.2, worth 10 outcomes.
	coldAlpha, coldBeta := 10/1.2, 10-10/1.2
	want, prob := buffer.Count(4, 0.95, coldAlpha, coldBeta, 0)
	require.Equal(t, 8, want)
	require.Equal(t, want, cold.PlannedCount, "no history: the cold start")
	require.NotNil(t, cold.PredictedDeliveryProbability)
	require.InDelta(t, prob, *cold.PredictedDeliveryProbability, 1e-9, "the promise, over the cold-start prior")
	a, b := posterior(cold.ID)
	require.InDelta(t, coldAlpha, a, 1e-9)
	require.InDelta(t, coldBeta, b, 1e-9)

	warm, err := h.run(`{"count": 6}`)
	require.NoError(t, err)
	want, _ = buffer.Count(6, 0.95, coldAlpha, coldBeta, 0)
	require.Equal(t, want, warm.PlannedCount, "still no recalibrated history: the cold start")

	stats, err := h.stack.Pipeline.Recalibrate(ctx)
	require.NoError(t, err)
	require.Len(t, stats, 1)
	require.Equal(t, 8+11, stats[0].Passes, "every clean image passed")
	require.Len(t, stats[0].RecommendedBuffers, len(buffer.AdviceCounts), "recalibration stored its advice")

	auto, err := h.run(`{"count": 10, "targetConfidence": 0.95}`)
	require.NoError(t, err)
	// The planner's evidence is recency-discounted: the k-th most recent
	// of the 19 passes counts 2^(−k/BUFFER_HALF_LIFE).
	alpha := 0.5
	for k := range 19 {
		alpha += math.Exp2(-float64(k) / h.stack.Config.BufferHalfLife)
	}
	want, prob = buffer.Count(10, 0.95, alpha, 0.5, 0)
	require.Equal(t, want, auto.PlannedCount)
	require.InDelta(t, prob, *auto.PredictedDeliveryProbability, 1e-9)
	require.GreaterOrEqual(t, *auto.PredictedDeliveryProbability, 0.95)
	a, b = posterior(auto.ID)
	require.InDelta(t, alpha, a, 1e-9)
	require.Equal(t, 0.5, b)

	var body struct {
		PlannedCount int  `json:"plannedCount"`
		IsDefault    bool `json:"isDefault"`
	}
	stacktest.GetJSON(t, h.api.URL+"/api/optimization/buffer/procedural?count=10&confidence=0.95", "designer", &body)
	require.False(t, body.IsDefault)
	// The recency discount reads the outcomes as they are, so the API
	// already counts the last generation's passes (the plain counts wait
	// for the next recalibration).
	for k := 19; k < 19+auto.PlannedCount; k++ {
		alpha += math.Exp2(-float64(k) / h.stack.Config.BufferHalfLife)
	}
	now, _ := buffer.Count(10, 0.95, alpha, 0.5, 0)
	require.Equal(t, now, body.PlannedCount)
}
