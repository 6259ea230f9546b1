package bufsim_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/bench/bufsim"
)

// The earlier rule's values from buffer-statistics §3 ("ref code, sd =
// per-request") and lessons §2: the clamp at 50 % and e ≥ 1 → 10 %.
func TestEarlierPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, failures, samples int
		c                    float64
		want                 float64
	}{
		{4, 10, 200, 0.95, 30},   // p = 0.05
		{10, 30, 200, 0.95, 50},  // p = 0.15
		{30, 30, 200, 0.95, 35},  // p = 0.15
		{100, 30, 200, 0.95, 30}, // p = 0.15
		{30, 100, 200, 0.95, 50}, // p = 0.5: the clamp
		{100, 10, 200, 0.95, 10}, // p = 0.05
		{1, 120, 200, 0.95, 10},  // e = 0.6 + 1.645·0.49 ≥ 1: negative, clamped to 10
		{30, 5, 9, 0.95, 20},     // below 10 samples: the default
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, bufsim.EarlierPercent(tt.n, tt.failures, tt.samples, tt.c), "%+v", tt)
	}
}

func TestSimulateIsReproducibleAndSane(t *testing.T) {
	t.Parallel()
	cell := bufsim.Cell{N: 30, Fail: 0.30, History: 200, Confidence: 0.95}
	a := bufsim.Simulate(cell, 3000, 7)
	require.Equal(t, a, bufsim.Simulate(cell, 3000, 7), "same seed, same result")
	require.Equal(t, 50, a.Oracle)
	require.InDelta(t, 0.9522, a.OracleProb, 5e-5)
	// Ours keeps the promise; the clamp at 45 images cannot (exact P = 0.7462).
	require.GreaterOrEqual(t, a.Ours.FirstDelivery, 0.93)
	require.InDelta(t, 0.7462, a.Earlier.FirstDelivery, 0.03)
	// The simulation agrees with the exact rate (3000 requests: sd ≈ 0.004).
	require.InDelta(t, a.OursExact, a.Ours.FirstDelivery, 0.02)
	require.GreaterOrEqual(t, a.OursExact, 0.94)
	require.Equal(t, 45.0, a.Earlier.FirstImages)
	require.Equal(t, 36.0, a.Fixed.FirstImages)
	require.Equal(t, 1.0, a.Ours.TopUpDelivery)
	require.Less(t, a.Ours.FirstImages/float64(a.Oracle), 1.10)
	require.Greater(t, a.Ours.TopUpRounds, 1.0)
	require.Len(t, bufsim.Grid(), 5*6*4*3)
}
