package generation_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

func TestUserLimitsApply(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)
	limits := generation.UserLimits{MaxUnfinished: 2, MaxImagesPerDay: 100, MaxCostPerGeneration: 5, MaxCostPerDay: 20}
	oldest := now.Add(-23 * time.Hour)
	tests := []struct {
		name      string
		settings  string
		usage     generation.Usage
		code      string
		retry     time.Duration
		maxCost   float64
		maxImages int
	}{
		{name: "defaults: the cap", settings: `{"count": 4}`, maxCost: 5},
		{name: "an explicit lower cost is kept", settings: `{"count": 4, "maxCostUsd": 1}`, maxCost: 1},
		{name: "above the cap is refused", settings: `{"count": 4, "maxCostUsd": 6}`, code: generation.EINVALID},
		{name: "concurrent generations", settings: `{"count": 4}`, usage: generation.Usage{Unfinished: 2}, code: generation.ELIMITED, retry: 30 * time.Second},
		{name: "images left below count", settings: `{"count": 4}`, usage: generation.Usage{Images: 97, Oldest: oldest}, code: generation.ELIMITED, retry: time.Hour},
		{name: "explicit maxImages above what is left", settings: `{"count": 4, "maxImages": 10}`, usage: generation.Usage{Images: 92, Oldest: oldest}, code: generation.ELIMITED, retry: time.Hour},
		{name: "maxImages defaults to what is left", settings: `{"count": 4}`, usage: generation.Usage{Images: 90, Oldest: oldest}, maxCost: 5, maxImages: 10},
		{name: "daily cost spent", settings: `{"count": 4}`, usage: generation.Usage{CostUSD: 20, Oldest: oldest}, code: generation.ELIMITED, retry: time.Hour},
		{name: "the default is lowered to what is left", settings: `{"count": 4}`, usage: generation.Usage{CostUSD: 18, Oldest: oldest}, maxCost: 2},
		{name: "an explicit cost above what is left", settings: `{"count": 4, "maxCostUsd": 3}`, usage: generation.Usage{CostUSD: 18, Oldest: oldest}, code: generation.ELIMITED, retry: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := generation.ParseSettings([]byte(tt.settings), generation.Defaults{TargetConfidence: 0.95, Provider: "procedural"})
			require.NoError(t, err)
			got, err := limits.Apply(s, tt.usage, now)
			if tt.code != "" {
				require.Equal(t, tt.code, generation.ErrorCode(err), "%v", err)
				require.Equal(t, tt.retry, generation.RetryAfter(err))
				return
			}
			require.NoError(t, err)
			require.InDelta(t, tt.maxCost, got.MaxCostUSD, 1e-9)
			require.Equal(t, tt.maxImages, got.MaxImages)
			require.NoError(t, got.Validate(), "applied settings stay valid")
		})
	}
	s, err := generation.UserLimits{}.Apply(generation.Settings{Count: 3}, generation.Usage{Unfinished: 99, Images: 1e6, CostUSD: 1e6}, now)
	require.NoError(t, err, "no limits: nothing is refused")
	require.Zero(t, s.MaxCostUSD)
}

// maxCostUsd is priced at the list price before anything is spent, so a
// priced provider without history cannot overspend in round 1; with no
// price known, round 1 makes one image to learn it.
func TestPlanHonoursTheCostCapBeforeAnyPrice(t *testing.T) {
	t.Parallel()
	g := newGeneration(t, `{"count": 4, "maxCostUsd": 0.25, "bufferPercent": 50}`)
	price := func(string, string) float64 { return 0.1 }
	plan, err := generation.PlanRound(g, 1, generation.Tally{}, generation.PlanPolicy{UnitCost: price}, nil)
	require.NoError(t, err)
	require.Equal(t, 2, plan.Count, "0.25 / 0.10")
	plan, err = generation.PlanRound(g, 1, generation.Tally{}, generation.PlanPolicy{}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, plan.Count, "no price known: one image first")
	plan, err = generation.PlanRound(g, 2, generation.Tally{Generated: 2, CostUSD: 0.24}, generation.PlanPolicy{UnitCost: price}, nil)
	require.NoError(t, err)
	require.Zero(t, plan.Count, "the dearer of its own mean (0.12) and the list price leaves nothing")
}

func TestSafeReason(t *testing.T) {
	t.Parallel()
	for reason, want := range map[string]string{
		"":               "",
		"filtered: nsfw": "filtered: nsfw",
		"timed_out: the generation did not finish within its time limit":                            "timed_out: the generation did not finish within its time limit",
		`invalid_request: save plan: ERROR: new row violates check constraint "x" (SQLSTATE 23514)`: "invalid_request: the detail is withheld; it was logged",
		"unavailable: dial tcp 127.0.0.1:5432: connect: connection refused":                         "unavailable: the detail is withheld; it was logged",
		"failed to connect to `host=db user=app`: pgx":                                              "internal_error: the detail is withheld; it was logged",
	} {
		require.Equal(t, want, generation.SafeReason(reason), reason)
	}
}
