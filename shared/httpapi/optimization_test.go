package httpapi_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// bufferAnswer is the body of GET /api/optimization/buffer/{providerId}.
type bufferAnswer struct {
	ProviderID                   string       `json:"providerId"`
	Model                        string       `json:"model"`
	Count                        int          `json:"count"`
	Confidence                   float64      `json:"confidence"`
	PlannedCount                 int          `json:"plannedCount"`
	BufferPercent                float64      `json:"bufferPercent"`
	PredictedDeliveryProbability float64      `json:"predictedDeliveryProbability"`
	Method                       string       `json:"method"`
	IsDefault                    bool         `json:"isDefault"`
	Stats                        buffer.Stats `json:"stats"`
	ComputedAt                   *string      `json:"computedAt"`
}

// providerAnswer is the body of GET /api/optimization/provider/{providerId}.
type providerAnswer struct {
	ProviderID      string                      `json:"providerId"`
	Recommendations []generation.Recommendation `json:"recommendations"`
	Stats           buffer.Stats                `json:"stats"`
	Models          []struct {
		Model              string                      `json:"model"`
		Stats              buffer.Stats                `json:"stats"`
		Recommendations    []generation.Recommendation `json:"recommendations"`
		RecommendedBuffers []generation.BufferAdvice   `json:"recommendedBuffers"`
	} `json:"models"`
	ComputedAt *string `json:"computedAt"`
}

// seedStats stores a provider_stats row as Recalibrate would.
func (e *env) seedStats(t *testing.T, provider, model string, passes, failures int, byReason string, scoreMean, scoreSD float64) {
	t.Helper()
	_, err := e.pool.Exec(t.Context(), `INSERT INTO provider_stats (provider, model, passes, failures, alpha, beta,
		failures_by_reason, scored, score_mean, score_stddev, computed_at)
		VALUES ($1::text, $2::text, $3::bigint, $4::bigint, 1 + $3::bigint, 1 + $4::bigint, $5::jsonb, $3::bigint + $4::bigint,
		        $6::float8, $7::float8, '2026-03-14T09:00:00Z')`,
		provider, model, passes, failures, byReason, scoreMean, scoreSD)
	require.NoError(t, err)
}

func decodeStrict[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "body: %s", body)
	return v
}

// getOK sends GET path as alice, requires a 200 answer and decodes its body
// strictly.
func getOK[T any](t *testing.T, e *env, path string) T {
	t.Helper()
	rec := e.do(t, request{method: http.MethodGet, path: path, user: "alice"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decodeStrict[T](t, rec.Body.Bytes())
}

func TestOptimizationBufferWithoutHistoryUsesTheColdStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got := getOK[bufferAnswer](t, e, "/api/optimization/buffer/procedural?count=4")
	require.True(t, got.IsDefault)
	require.Equal(t, 0.9, got.Confidence, "the environment's default confidence")
	// The cold start: the default 20 %'s rate, 1/1.2, worth 10 outcomes.
	alpha, beta := 10/1.2, 10-10/1.2
	want, prob := buffer.Count(4, 0.9, alpha, beta, 0)
	require.Equal(t, 7, want)
	require.Equal(t, want, got.PlannedCount)
	require.InDelta(t, prob, got.PredictedDeliveryProbability, 1e-12)
	require.GreaterOrEqual(t, got.PredictedDeliveryProbability, 0.9, "the promise, over the cold-start prior")
	// The provider's own statistics are still the prior alone, Jeffreys'.
	require.Equal(t, 0, got.Stats.Samples)
	require.InDelta(t, 0.5, got.Stats.PassRateMean, 1e-12)
	// Beta(½, ½) has CDF (2/π)·asin(√x): its 2.5 % quantile is sin²(π/80).
	require.InDelta(t, math.Pow(math.Sin(math.Pi/80), 2), got.Stats.PassRateLow, 1e-9)
	require.Nil(t, got.ComputedAt)
	require.Equal(t, map[string]int{}, got.Stats.FailuresByReason)
}

func TestOptimizationBufferWithHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedStats(t, "procedural", "proc-1", 140, 60, `{"blurry": 40, "filtered": 20}`, 74, 12)
	e.seedStats(t, "procedural", "proc-2", 3, 1, `{"blurry": 1}`, 80, 5)
	tests := []struct {
		query       string
		wantPlanned int
		alpha, beta float64
		confidence  float64
	}{
		// buffer-statistics §4: n = 200, k = 60, N = 30 → 52.
		{"count=30&confidence=0.95&model=proc-1", 52, 140.5, 60.5, 0.95},
		{"count=30&confidence=0.99&model=proc-1", 0, 140.5, 60.5, 0.99},
		// proc-2 has 4 outcomes (< BUFFER_MIN_SAMPLES): the provider's total.
		{"count=30&confidence=0.95&model=proc-2", 0, 143.5, 61.5, 0.95},
		{"count=10", 0, 143.5, 61.5, 0.9},
	}
	for _, tt := range tests {
		got := getOK[bufferAnswer](t, e, "/api/optimization/buffer/procedural?"+tt.query)
		want := tt.wantPlanned
		if want == 0 {
			want, _ = buffer.Count(got.Count, tt.confidence, tt.alpha, tt.beta, 0)
		}
		require.False(t, got.IsDefault, tt.query)
		require.Equal(t, want, got.PlannedCount, tt.query)
		require.Equal(t, tt.confidence, got.Confidence, tt.query)
		require.GreaterOrEqual(t, got.PredictedDeliveryProbability, tt.confidence, tt.query)
		require.InDelta(t, 1-buffer.Shortfall(got.Count, got.PlannedCount, tt.alpha, tt.beta), got.PredictedDeliveryProbability, 1e-12, tt.query)
		require.InDelta(t, 100*float64(got.PlannedCount-got.Count)/float64(got.Count), got.BufferPercent, 1e-9)
		require.InDelta(t, tt.alpha/(tt.alpha+tt.beta), got.Stats.PassRateMean, 1e-12, tt.query)
		require.Equal(t, int(tt.alpha+tt.beta-1), got.Stats.Samples, tt.query)
		require.NotNil(t, got.ComputedAt)
	}
}

func TestOptimizationRejectsBadQueries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		path  string
		field string
	}{
		{"/api/optimization/buffer/procedural", "count"},
		{"/api/optimization/buffer/procedural?count=0", "count"},
		{"/api/optimization/buffer/procedural?count=101", "count"},
		{"/api/optimization/buffer/procedural?count=four", "count"},
		{"/api/optimization/buffer/procedural?count=4&confidence=1.5", "confidence"},
		{"/api/optimization/buffer/procedural?count=4&confidence=0.2", "confidence"},
		{"/api/optimization/buffer/procedural?count=4&confidence=NaN", "confidence"},
		{"/api/optimization/buffer/procedural?count=4&confidence=", "confidence"},
		{"/api/optimization/buffer/procedural?count=4&count=5", "count"},
		{"/api/optimization/buffer/procedural?count=4&bufferPercent=5", "bufferPercent"},
		{"/api/optimization/buffer/bad%20id?count=4", "providerId"},
		{"/api/optimization/buffer/procedural?count=4&model=a%20b", "model"},
		{"/api/optimization/provider/procedural?count=4", "count"},
		{"/api/optimization/provider/%3Cscript%3E", "providerId"},
	}
	for _, tt := range tests {
		rec := e.do(t, request{method: http.MethodGet, path: tt.path, user: "alice"})
		requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusBadRequest, generation.EINVALID, tt.field)
	}
	rec := e.do(t, request{method: http.MethodGet, path: "/api/optimization/buffer/procedural?count=4"})
	requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusUnauthorized, generation.EUNAUTHORIZED, "")
}

func TestOptimizationProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	empty := getOK[providerAnswer](t, e, "/api/optimization/provider/openai")
	require.Empty(t, empty.Recommendations)
	require.Empty(t, empty.Models)
	require.Equal(t, 0, empty.Stats.Samples)
	require.Nil(t, empty.ComputedAt)

	// 40 % absolute failures and widely spread scores.
	e.seedStats(t, "procedural", "proc-1", 60, 40, `{"blurry": 30, "filtered": 10}`, 65, 20)
	_, err := e.pool.Exec(t.Context(), `UPDATE provider_stats SET recommended_buffers = '[{"count": 4, "planned": 9, "bufferPercent": 125, "predictedDeliveryProbability": 0.96, "confidence": 0.95}]'`)
	require.NoError(t, err)
	got := getOK[providerAnswer](t, e, "/api/optimization/provider/procedural")
	var types []string
	for _, r := range got.Recommendations {
		types = append(types, r.Type)
	}
	require.Equal(t, []string{buffer.HighFailureRate, buffer.LowConsistency}, types)
	require.Equal(t, 100, got.Stats.Samples)
	require.Equal(t, map[string]int{"blurry": 30, "filtered": 10}, got.Stats.FailuresByReason)
	require.Equal(t, "2026-03-14T09:00:00Z", *got.ComputedAt)
	require.Len(t, got.Models, 1)
	require.Equal(t, "proc-1", got.Models[0].Model)
	require.Equal(t, []generation.BufferAdvice{{Count: 4, Planned: 9, BufferPercent: 125, Probability: 0.96, Confidence: 0.95}}, got.Models[0].RecommendedBuffers)
}
