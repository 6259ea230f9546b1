package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/generation"
)

// The Store is what the learning chooser and the learning API read.
var _ generation.AttributeStatsReader = (*Store)(nil)

// failureReasonWindow bounds the failures whose reasons teach negative
// terms: the provider's most recent ones, so a cured defect fades out.
const failureReasonWindow = 500

// AttributeStats returns the provider's folded attribute statistics, by
// attribute.
func (s *Store) AttributeStats(ctx context.Context, provider string) ([]generation.AttributeStat, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT attribute, passes, failures, samples
		FROM attribute_stats
		WHERE provider = $1
		ORDER BY attribute`, provider)
	if err != nil {
		return nil, dbError(err, "read attribute statistics of %s", provider)
	}
	stats, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (generation.AttributeStat, error) {
		var st generation.AttributeStat
		err := row.Scan(&st.Attribute, &st.Passes, &st.Failures, &st.Samples)
		return st, err
	})
	if err != nil {
		return nil, dbError(err, "read attribute statistics of %s", provider)
	}
	return stats, nil
}

// FailureReasons returns, over the provider's most recent failures (absolute
// outcomes; never user ratings, whose reasons are a user's own text), the
// count per reason code (the text before a reason's first ':'), largest first.
// Surplus discards are not failures and do not count.
func (s *Store) FailureReasons(ctx context.Context, provider string) ([]generation.ReasonCount, error) {
	rows, err := s.pool.Query(ctx, `
		WITH recent AS (
			SELECT id, reasons
			FROM rlhf_feedback
			WHERE provider = $1
			  -- Validator and provider outcomes only: a user rating's
			  -- reasons are one user's free text, never shown to others
			  -- nor put into their negative prompts.
			  AND passed = false AND feedback_type <> 'user_rating'
			ORDER BY created_at DESC, id DESC
			LIMIT $2
		)
		SELECT code, count(*)
		FROM (
			SELECT DISTINCT id, btrim(split_part(r, ':', 1)) AS code
			FROM recent, unnest(reasons) AS r
		) per_reason
		WHERE code <> ''
		GROUP BY code
		ORDER BY count(*) DESC, code`, provider, failureReasonWindow)
	if err != nil {
		return nil, dbError(err, "read failure reasons of %s", provider)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (generation.ReasonCount, error) {
		var rc generation.ReasonCount
		err := row.Scan(&rc.Reason, &rc.Weight)
		return rc, err
	})
	if err != nil {
		return nil, dbError(err, "read failure reasons of %s", provider)
	}
	return out, nil
}

// RecentOutcomes returns the provider's most recent absolute outcomes (at
// most limit), newest first, with each candidate's modifiers. The outcome
// rule is Recalibrate's (see recentOutcomes); the order is the candidates'
// planning time, ties broken by (generation, round, index), so the same
// history reads the same way.
func (s *Store) RecentOutcomes(ctx context.Context, provider string, limit int) ([]generation.Outcome, error) {
	if limit < 1 {
		return nil, generation.FieldError("limit", "must be at least 1, got %d", limit)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT c.modifiers, `+outcomePassed+`
		FROM `+outcomeFrom+`
		WHERE c.provider = $1::text AND `+hasOutcome+`
		ORDER BY `+newestFirst+`
		LIMIT $2::int`, provider, limit)
	if err != nil {
		return nil, dbError(err, "read recent outcomes of %s", provider)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (generation.Outcome, error) {
		var o generation.Outcome
		err := row.Scan(&o.Modifiers, &o.Passed)
		return o, err
	})
	if err != nil {
		return nil, dbError(err, "read recent outcomes of %s", provider)
	}
	return out, nil
}
