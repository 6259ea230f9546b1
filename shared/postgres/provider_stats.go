package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// providerStatsColumns is the one projection of a provider_stats row; see
// scanProviderStats.
const providerStatsColumns = `p.provider, p.model, p.passes, p.failures, p.alpha, p.beta,
	p.failures_by_reason::text, p.scored, p.score_mean, p.score_stddev, p.outliers,
	p.mean_cost_usd, p.computed_at, p.recommended_buffers::text, p.recommendations::text`

func scanProviderStats(row pgx.CollectableRow) (generation.ProviderStats, error) {
	var (
		st                          generation.ProviderStats
		byReason, buffers, recommns string
	)
	if err := row.Scan(&st.Provider, &st.Model, &st.Passes, &st.Failures, &st.Alpha, &st.Beta,
		&byReason, &st.Scored, &st.ScoreMean, &st.ScoreStdDev, &st.Outliers,
		&st.MeanCostUSD, &st.ComputedAt, &buffers, &recommns); err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(byReason), &st.FailuresByReason); err != nil {
		return st, fmt.Errorf("decode failures by reason of %s/%s: %w", st.Provider, st.Model, err)
	}
	// recommended_buffers was an object before the planner filled it.
	if buffers != "{}" {
		if err := json.Unmarshal([]byte(buffers), &st.RecommendedBuffers); err != nil {
			return st, fmt.Errorf("decode recommended buffers of %s/%s: %w", st.Provider, st.Model, err)
		}
	}
	if err := json.Unmarshal([]byte(recommns), &st.Recommendations); err != nil {
		return st, fmt.Errorf("decode recommendations of %s/%s: %w", st.Provider, st.Model, err)
	}
	return st, nil
}

// Recalibrate recomputes every provider's (and model's) statistics from
// the outcome aggregates that triggers keep (migrations 008 and 009), stores
// them in provider_stats with the posterior Beta(a+passes, a+failures)
// (a is PassRatePrior, the planner's and the learner's prior too), and
// returns them ordered by provider and model. It reads a few rows per
// provider whatever the size of the history, and running it twice stores the
// same thing; a provider with no outcome left keeps its last row.
//
// The outcome rule (in candidate_outcome_apply): a candidate passes when it
// is validated, selected or discarded and its latest verdict passed; it
// fails when it was filtered or failed, or its latest verdict did not pass.
// Candidates still planned or stored are not counted. Never "not in the top
// N". FailuresByReason counts failed candidates per reason code (a reason's
// text before its first ':'; the failure reason for filtered/failed ones); a
// candidate with several reasons counts under each. Scored, ScoreMean and
// ScoreStdDev are over the latest verdicts; Outliers are verdicts with a
// hard-fail reason (blank, undecodable, too_large).
func (s *Store) Recalibrate(ctx context.Context, at time.Time) ([]generation.ProviderStats, error) {
	if at.IsZero() {
		at = time.Now()
	}
	rows, err := s.pool.Query(ctx, `
		WITH reasons AS (
			SELECT provider, model, jsonb_object_agg(reason, failures) AS by_reason
			FROM provider_failure_reasons
			WHERE failures > 0
			GROUP BY provider, model
		)
		INSERT INTO provider_stats AS p (provider, model, passes, failures, alpha, beta, failures_by_reason,
			scored, score_mean, score_stddev, outliers, mean_cost_usd, computed_at)
		SELECT o.provider, o.model, o.passes, o.failures, $2::float8 + o.passes, $2::float8 + o.failures,
		       COALESCE(r.by_reason, '{}'::jsonb), o.scored,
		       COALESCE(o.score_sum / NULLIF(o.scored, 0), 0)::float8,
		       sqrt(GREATEST(0, COALESCE(o.score_square_sum / NULLIF(o.scored, 0)
		                                 - (o.score_sum / NULLIF(o.scored, 0))^2, 0)))::float8,
		       o.outliers, COALESCE(o.cost_sum / NULLIF(o.passes + o.failures, 0), 0)::float8,
		       $1::timestamptz
		FROM provider_outcomes o
		LEFT JOIN reasons r ON r.provider = o.provider AND r.model = o.model
		WHERE o.passes + o.failures > 0
		ORDER BY o.provider, o.model
		ON CONFLICT (provider, model) DO UPDATE
		SET passes = excluded.passes,
		    failures = excluded.failures,
		    alpha = excluded.alpha,
		    beta = excluded.beta,
		    failures_by_reason = excluded.failures_by_reason,
		    scored = excluded.scored,
		    score_mean = excluded.score_mean,
		    score_stddev = excluded.score_stddev,
		    outliers = excluded.outliers,
		    mean_cost_usd = excluded.mean_cost_usd,
		    computed_at = excluded.computed_at
		RETURNING `+providerStatsColumns, at, buffer.SymmetricPrior(s.PassRatePrior).Alpha)
	if err != nil {
		return nil, dbError(err, "recalibrate provider stats")
	}
	stats, err := pgx.CollectRows(rows, scanProviderStats)
	if err != nil {
		return nil, dbError(err, "recalibrate provider stats")
	}
	slices.SortFunc(stats, func(a, b generation.ProviderStats) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return stats, nil
}

// SaveAssessments stores each entry's recommended buffers and
// recommendations on its (provider, model) row, in one transaction.
func (s *Store) SaveAssessments(ctx context.Context, stats []generation.ProviderStats) error {
	batch := &pgx.Batch{}
	for _, st := range stats {
		buffers, err := json.Marshal(nonNilSlice(st.RecommendedBuffers))
		if err != nil {
			return fmt.Errorf("encode recommended buffers of %s/%s: %w", st.Provider, st.Model, err)
		}
		recs, err := json.Marshal(nonNilSlice(st.Recommendations))
		if err != nil {
			return fmt.Errorf("encode recommendations of %s/%s: %w", st.Provider, st.Model, err)
		}
		batch.Queue(`UPDATE provider_stats SET recommended_buffers = $3::jsonb, recommendations = $4::jsonb
			WHERE provider = $1::text AND model = $2::text`, st.Provider, st.Model, string(buffers), string(recs))
	}
	return s.inTx(ctx, "save provider assessments", func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, batch).Close()
	})
}

// ProviderStats returns the stored statistics of provider, one per model,
// ordered by model; none for a provider never recalibrated. With a HalfLife,
// each row also carries its recency-discounted outcomes (RecentPasses,
// RecentFailures; see recentOutcomes).
func (s *Store) ProviderStats(ctx context.Context, provider string) ([]generation.ProviderStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+providerStatsColumns+`
		FROM provider_stats p WHERE p.provider = $1::text ORDER BY p.model`, provider)
	if err != nil {
		return nil, dbError(err, "load stats of provider %s", provider)
	}
	stats, err := pgx.CollectRows(rows, scanProviderStats)
	if err != nil {
		return nil, dbError(err, "load stats of provider %s", provider)
	}
	if s.HalfLife > 0 {
		for i := range stats {
			if stats[i].RecentPasses, stats[i].RecentFailures, err = s.recentOutcomes(ctx, provider, stats[i].Model); err != nil {
				return nil, err
			}
		}
	}
	return stats, nil
}

// recentHalfLives is how many half-lives of outcomes recentOutcomes reads:
// older ones weigh less than 2⁻¹⁰ each.
const recentHalfLives = 10

// The SQL of a candidate's absolute outcome, shared by recentOutcomes and
// RecentOutcomes: Recalibrate's rule (filtered or failed is a failure,
// else the latest verdict of any validator version), over candidates c
// joined to that verdict v; newestFirst is the planning order, ties broken
// by (generation, round, index), which candidates_provider_recent_idx and
// candidates_provider_latest_idx serve.
const (
	outcomePassed = `CASE WHEN c.status IN ('filtered', 'failed') THEN false ELSE v.passed END`
	outcomeFrom   = `candidates c
		LEFT JOIN LATERAL (
			SELECT r.passed FROM validation_results r
			WHERE r.candidate_id = c.id
			ORDER BY r.created_at DESC, r.id DESC
			LIMIT 1
		) v ON true`
	hasOutcome = `(c.status IN ('filtered', 'failed')
		OR (c.status IN ('validated', 'selected', 'discarded') AND v.passed IS NOT NULL))`
	newestFirst = `c.created_at DESC, c.generation_id DESC, c.round DESC, c.index DESC`
)

// recentOutcomes returns the model's outcomes discounted by age, newest
// first: the k-th most recent (k = 0, 1, …) counts 2^(−k/HalfLife). Age is
// counted in outcomes, not time, so a provider used rarely keeps what it
// taught. The outcome rule is Recalibrate's (candidate_outcome_apply, with
// the latest verdict of any validator version); the order is the
// candidates' planning time, ties broken by (generation, round, index), so
// equal histories weigh alike. It reads at most recentHalfLives·HalfLife
// candidates, through candidates_provider_recent_idx.
func (s *Store) recentOutcomes(ctx context.Context, provider, model string) (passes, failures float64, err error) {
	limit := int(math.Ceil(recentHalfLives * s.HalfLife))
	err = s.pool.QueryRow(ctx, `
		WITH recent AS (
			SELECT `+outcomePassed+` AS passed,
			       row_number() OVER (ORDER BY `+newestFirst+`) - 1 AS age
			FROM `+outcomeFrom+`
			WHERE c.provider = $1::text AND c.model = $2::text AND `+hasOutcome+`
			ORDER BY `+newestFirst+`
			LIMIT $3::int
		)
		SELECT COALESCE(sum(power(0.5, age / $4::float8)) FILTER (WHERE passed), 0)::float8,
		       COALESCE(sum(power(0.5, age / $4::float8)) FILTER (WHERE NOT passed), 0)::float8
		FROM recent`, provider, model, limit, s.HalfLife).Scan(&passes, &failures)
	if err != nil {
		return 0, 0, dbError(err, "load recent outcomes of %s/%s", provider, model)
	}
	return passes, failures, nil
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
