package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/postgres"
)

// counts is what Recalibrate says of one provider/model.
type counts struct {
	Passes, Failures, Scored, Outliers int
	ByReason                           map[string]int
}

func recalibrated(t *testing.T, st *postgres.Store) map[string]counts {
	t.Helper()
	stats, err := st.Recalibrate(t.Context(), t0)
	require.NoError(t, err)
	out := map[string]counts{}
	for _, s := range stats {
		out[s.Provider+"/"+s.Model] = counts{s.Passes, s.Failures, s.Scored, s.Outliers, s.FailuresByReason}
	}
	return out
}

// requireMatchesRebuild checks that the trigger-kept counters equal a full
// recomputation from the history.
func requireMatchesRebuild(t *testing.T, st *postgres.Store, pool *pgxpool.Pool) map[string]counts {
	t.Helper()
	kept := recalibrated(t, st)
	_, err := pool.Exec(t.Context(), `SELECT rebuild_provider_outcomes()`)
	require.NoError(t, err)
	require.Equal(t, recalibrated(t, st), kept, "incremental counters drifted from a full rebuild")
	return kept
}

// outcomeTotal is the number of outcomes the trigger-kept counters hold.
func outcomeTotal(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	return countRows(t, pool, `SELECT COALESCE(sum(passes + failures), 0) FROM provider_outcomes`)
}

// The outcome counters follow every way the pipeline (and an operator)
// changes outcomes: verdicts, duplicates, a second validator version,
// failures, delivery, deletion.
func TestOutcomeCountersFollowEveryChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(t *testing.T, st *postgres.Store, pool *pgxpool.Pool, c []generation.Candidate, g generation.Generation)
		want   counts
	}{
		{"verdicts, a filter and a failure",
			func(t *testing.T, st *postgres.Store, pool *pgxpool.Pool, c []generation.Candidate, g generation.Generation) {
			},
			counts{2, 4, 4, 1, map[string]int{"blank": 1, "filtered": 1, "timeout": 1, "below_threshold": 1}}},
		{"a retried verdict (ON CONFLICT DO NOTHING) and a retried failure change nothing",
			func(t *testing.T, st *postgres.Store, pool *pgxpool.Pool, c []generation.Candidate, g generation.Generation) {
				_, err := st.SaveVerdict(t.Context(), c[2].ID, generation.Verdict{ValidatorVersion: validator, Score: 95, Passed: true})
				require.NoError(t, err)
				failCandidate(t, st, c[5].ID, "timeout")
			},
			counts{2, 4, 4, 1, map[string]int{"blank": 1, "filtered": 1, "timeout": 1, "below_threshold": 1}}},
		{"a passed verdict marked duplicate becomes a failure",
			func(t *testing.T, st *postgres.Store, pool *pgxpool.Pool, c []generation.Candidate, g generation.Generation) {
				require.NoError(t, st.MarkDuplicate(t.Context(), c[0].ID, validator))
			},
			counts{1, 5, 4, 1, map[string]int{"blank": 1, "filtered": 1, "timeout": 1, "below_threshold": 1, generation.ReasonDuplicate: 1}}},
		{"a newer verdict of another validator version replaces the older",
			func(t *testing.T, st *postgres.Store, pool *pgxpool.Pool, c []generation.Candidate, g generation.Generation) {
				_, err := st.SaveVerdict(t.Context(), c[2].ID, generation.Verdict{ValidatorVersion: "v2", Score: 88, Passed: true})
				require.NoError(t, err)
				_, err = pool.Exec(t.Context(), `UPDATE validation_results SET created_at = now() + interval '1 minute' WHERE validator_version = 'v2'`)
				require.NoError(t, err)
			},
			counts{3, 3, 4, 0, map[string]int{"filtered": 1, "timeout": 1, "below_threshold": 1}}},
		{"delivery (selected/discarded) changes nothing",
			func(t *testing.T, st *postgres.Store, pool *pgxpool.Pool, c []generation.Candidate, g generation.Generation) {
				deliver(t, st, g)
			},
			counts{2, 4, 4, 1, map[string]int{"blank": 1, "filtered": 1, "timeout": 1, "below_threshold": 1}}},
		{"deleting the generation removes its outcomes",
			func(t *testing.T, st *postgres.Store, pool *pgxpool.Pool, c []generation.Candidate, g generation.Generation) {
				_, err := pool.Exec(t.Context(), `DELETE FROM generations WHERE id = $1`, g.ID)
				require.NoError(t, err)
			},
			counts{0, 0, 0, 0, map[string]int{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, pool, g, c := seeded(t, 2, 8)
			validate(t, st, c[0], 90)
			validate(t, st, c[1], 75)
			validate(t, st, c[2], 10, "blank: uniform")
			validate(t, st, c[3], 60)
			filterCandidate(t, st, c[4], "filtered: safety")
			failCandidate(t, st, c[5].ID, "timeout")
			storeImage(t, st, c[6]) // stored, no verdict: not counted
			// c[7] stays planned: not counted

			tt.change(t, st, pool, c, g)
			kept := outcomeTotal(t, pool)
			require.Equal(t, tt.want.Passes+tt.want.Failures, kept)
			got := requireMatchesRebuild(t, st, pool)["procedural/proc-1"]
			if kept == 0 {
				require.Empty(t, got.ByReason) // and provider_stats keeps its last row
				return
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestProviderStatsAndAssessments(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()

	none, err := st.ProviderStats(ctx, "procedural")
	require.NoError(t, err)
	require.Empty(t, none)

	g := newGeneration(t, st, 1, nil)
	c := planRound(t, st, g, 1, 2)
	validate(t, st, c[0], 80)
	validate(t, st, c[1], 20, "blurry: soft")
	stats, err := st.Recalibrate(ctx, t0)
	require.NoError(t, err)
	require.Len(t, stats, 1)
	stats[0].RecommendedBuffers = []generation.BufferAdvice{{Count: 4, Planned: 9, BufferPercent: 125, Probability: 0.96, Confidence: 0.95}}
	stats[0].Recommendations = []generation.Recommendation{{Type: "HIGH_FAILURE_RATE", Severity: "high", Action: "increase_buffer", Message: "m", Value: 0.5, Limit: 0.3}}
	for range 2 { // idempotent
		require.NoError(t, st.SaveAssessments(ctx, stats))
	}
	got, err := st.ProviderStats(ctx, "procedural")
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, stats[0].RecommendedBuffers, got[0].RecommendedBuffers)
	require.Equal(t, stats[0].Recommendations, got[0].Recommendations)
	require.Equal(t, 1, got[0].Passes)
	require.Equal(t, 1, got[0].Failures)
	require.Equal(t, map[string]int{"blurry": 1}, got[0].FailuresByReason)
	require.InDelta(t, 50, got[0].ScoreMean, 1e-9)
	require.InDelta(t, 30, got[0].ScoreStdDev, 1e-9)
	require.True(t, got[0].ComputedAt.Equal(t0))

	other, err := st.ProviderStats(ctx, "openai")
	require.NoError(t, err)
	require.Empty(t, other)
}

func TestSavePlanRecordsThePosterior(t *testing.T) {
	t.Parallel()
	st, pool := newStore(t)
	ctx := t.Context()
	g := newGeneration(t, st, 3, nil)
	prob := 0.961
	plan := generation.RoundPlan{Round: 1, Needed: 3, Count: 5, BufferPercent: 66.67, BufferMethod: generation.BufferAuto,
		PredictedDeliveryProbability: &prob, PosteriorAlpha: 41, PosteriorBeta: 7}
	_, err := st.SavePlan(ctx, g.ID, plan, generation.NewCandidates(g, plan, generation.ModifierChoice{}))
	require.NoError(t, err)
	var alpha, beta, p float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT posterior_alpha, posterior_beta, predicted_delivery_probability
		FROM generations WHERE id = $1`, g.ID).Scan(&alpha, &beta, &p))
	require.Equal(t, []float64{41, 7, 0.961}, []float64{alpha, beta, p})
	stored, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.InDelta(t, 0.961, *stored.PredictedDeliveryProbability, 1e-12)
}
