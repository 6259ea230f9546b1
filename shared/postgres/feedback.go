package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/generation"
)

// InsertFeedback inserts events in one transaction, ignoring event ids that
// are already stored (a redelivered message adds nothing), and returns how
// many rows were new. An invalid event is EINVALID and nothing is stored.
func (s *Store) InsertFeedback(ctx context.Context, events []generation.FeedbackEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		n, err = insertFeedback(ctx, tx, events)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// insertFeedback queues one idempotent insert per event in one round trip.
func insertFeedback(ctx context.Context, tx pgx.Tx, events []generation.FeedbackEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	batch := &pgx.Batch{}
	for _, e := range events {
		if err := e.Validate(); err != nil {
			return 0, err
		}
		if err := finite("weight", e.Weight); err != nil {
			return 0, err
		}
		metadata := []byte("{}")
		if e.Metadata != nil {
			var err error
			if metadata, err = json.Marshal(e.Metadata); err != nil {
				return 0, generation.FieldError("metadata", "cannot be encoded as JSON: %v", err)
			}
		}
		var createdAt *time.Time
		if !e.CreatedAt.IsZero() {
			createdAt = &e.CreatedAt
		}
		batch.Queue(`
			INSERT INTO rlhf_feedback (event_id, generation_id, candidate_id, provider, model,
				feedback_type, feedback_source, passed, quality_score, is_negative, is_positive,
				weight, prompt, modifiers, reasons, metadata, created_at)
			VALUES ($1::uuid, $2::uuid, NULLIF($3::text, '')::uuid, $4::text, $5::text,
				$6::text, $7::text, $8::boolean, $9::numeric, $10::boolean, $11::boolean,
				$12::float8, $13::text, $14::text[], $15::text[], $16::jsonb, COALESCE($17::timestamptz, now()))
			ON CONFLICT (event_id) DO NOTHING`,
			e.EventID, e.GenerationID, e.CandidateID, e.Provider, e.Model,
			string(e.Type), string(e.Source), e.Passed, e.QualityScore, e.Negative, e.Positive,
			e.Weight, e.Prompt, nonNil(e.Modifiers), nonNil(e.Reasons), string(metadata), createdAt)
	}
	br := tx.SendBatch(ctx, batch)
	n := 0
	for _, e := range events {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return 0, dbError(err, "insert feedback event %s", e.EventID)
		}
		n += int(tag.RowsAffected())
	}
	if err := br.Close(); err != nil {
		return 0, dbError(err, "insert feedback")
	}
	return n, nil
}

// FoldFeedback folds every unprocessed feedback row into attribute_stats
// exactly once, in one statement (one transaction), and returns how many rows
// it folded (marked processed).
//
// Semantics:
//   - Rows are claimed with FOR UPDATE SKIP LOCKED and marked processed_at in
//     the same statement, so concurrent folds take disjoint rows and a row is
//     never counted twice; a second fold with nothing new folds 0.
//   - Only the absolute outcome counts: per (provider, modifier) of a row,
//     passes += weight when passed is true, failures += weight when false.
//     Rows with passed NULL (user ratings) are marked processed but add
//     nothing, and so do high_quality rows: they restate the outcome of a
//     candidate whose delivery event already counts (counting both would
//     count one candidate twice). A modifier listed twice counts once.
//   - The discount (0–1) decays an attribute's old counts once per fold in
//     which it receives new outcomes: passes = passes·(1−discount) + new,
//     likewise failures, in the upsert itself (no read-modify-write). An
//     attribute without new outcomes keeps its counts. samples counts the
//     outcome rows folded in, undiscounted.
func (s *Store) FoldFeedback(ctx context.Context, discount float64) (int, error) {
	if err := finite("discount", discount); err != nil {
		return 0, err
	}
	if discount < 0 || discount > 1 {
		return 0, generation.FieldError("discount", "must be from 0 to 1, got %v", discount)
	}
	var n int
	err := s.pool.QueryRow(ctx, `
		WITH claimed AS (
			SELECT id FROM rlhf_feedback
			WHERE processed_at IS NULL
			ORDER BY id
			FOR UPDATE SKIP LOCKED
		),
		folded AS (
			UPDATE rlhf_feedback f
			SET processed_at = now()
			FROM claimed
			WHERE f.id = claimed.id
			RETURNING f.id, f.provider, f.modifiers, f.passed, f.weight, f.feedback_type
		),
		outcomes AS (
			SELECT DISTINCT id, provider, m AS attribute, passed, weight
			FROM folded, unnest(modifiers) AS m
			WHERE passed IS NOT NULL AND feedback_type <> 'high_quality'
		),
		deltas AS (
			SELECT provider, attribute,
			       COALESCE(sum(weight) FILTER (WHERE passed), 0) AS passes,
			       COALESCE(sum(weight) FILTER (WHERE NOT passed), 0) AS failures,
			       count(*) AS samples
			FROM outcomes
			GROUP BY provider, attribute
		),
		upserted AS (
			INSERT INTO attribute_stats AS a (provider, attribute, passes, failures, samples, updated_at)
			SELECT provider, attribute, passes, failures, samples, now()
			FROM deltas
			-- A fixed order makes concurrent folds lock rows in the same order.
			ORDER BY provider, attribute
			ON CONFLICT (provider, attribute) DO UPDATE
			SET passes = a.passes * (1 - $1::float8) + excluded.passes,
			    failures = a.failures * (1 - $1::float8) + excluded.failures,
			    samples = a.samples + excluded.samples,
			    updated_at = excluded.updated_at
		)
		SELECT count(*) FROM folded`, discount).Scan(&n)
	if err != nil {
		return 0, dbError(err, "fold feedback")
	}
	return n, nil
}

// Recalibrate recomputes every provider's (and model's) pass/fail counts
// from absolute candidate outcomes, in one statement, stores them in
// provider_stats with the Beta(1+passes, 1+failures) posterior, and returns
// them ordered by provider and model.
//
// A candidate passes when it is validated, selected or discarded and its
// latest verdict passed; it fails when it was filtered or failed, or its
// latest verdict did not pass. Candidates still planned or stored are not
// counted. Never "not in the top N". FailuresByReason counts failed
// candidates per reason code (a reason's text before its first ':'; the
// failure reason for filtered/failed ones); a candidate with several
// reasons counts under each.
func (s *Store) Recalibrate(ctx context.Context, at time.Time) ([]generation.ProviderStats, error) {
	if at.IsZero() {
		at = time.Now()
	}
	rows, err := s.pool.Query(ctx, `
		WITH latest AS (
			SELECT DISTINCT ON (candidate_id) candidate_id, passed, reasons
			FROM validation_results
			ORDER BY candidate_id, created_at DESC, id DESC
		),
		outcomes AS (
			SELECT c.id, c.provider, c.model,
			       CASE WHEN c.status IN ('filtered', 'failed') THEN false ELSE v.passed END AS passed,
			       CASE WHEN c.status IN ('filtered', 'failed')
			                 THEN ARRAY[COALESCE(NULLIF(c.failure_reason, ''), c.status)]
			            WHEN NOT v.passed AND cardinality(v.reasons) > 0 THEN v.reasons
			            WHEN NOT v.passed THEN ARRAY['below_threshold']
			            ELSE '{}'::text[] END AS reasons
			FROM candidates c
			LEFT JOIN latest v ON v.candidate_id = c.id
			WHERE c.status IN ('filtered', 'failed', 'validated', 'selected', 'discarded')
		),
		counts AS (
			SELECT provider, model,
			       count(*) FILTER (WHERE passed) AS passes,
			       count(*) FILTER (WHERE NOT passed) AS failures
			FROM outcomes
			WHERE passed IS NOT NULL
			GROUP BY provider, model
		),
		reason_counts AS (
			SELECT provider, model, jsonb_object_agg(reason, n) AS by_reason
			FROM (
				SELECT provider, model, btrim(split_part(r, ':', 1)) AS reason, count(DISTINCT id) AS n
				FROM outcomes, unnest(reasons) AS r
				WHERE passed = false
				GROUP BY 1, 2, 3
			) per_reason
			GROUP BY provider, model
		)
		INSERT INTO provider_stats AS p (provider, model, passes, failures, alpha, beta, failures_by_reason, computed_at)
		SELECT k.provider, k.model, k.passes, k.failures, 1 + k.passes, 1 + k.failures,
		       COALESCE(r.by_reason, '{}'::jsonb), $1::timestamptz
		FROM counts k
		LEFT JOIN reason_counts r ON r.provider = k.provider AND r.model = k.model
		ORDER BY k.provider, k.model
		ON CONFLICT (provider, model) DO UPDATE
		SET passes = excluded.passes,
		    failures = excluded.failures,
		    alpha = excluded.alpha,
		    beta = excluded.beta,
		    failures_by_reason = excluded.failures_by_reason,
		    computed_at = excluded.computed_at
		RETURNING p.provider, p.model, p.passes, p.failures, p.alpha, p.beta,
		          p.failures_by_reason::text, p.computed_at`, at)
	if err != nil {
		return nil, dbError(err, "recalibrate provider stats")
	}
	stats, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (generation.ProviderStats, error) {
		var (
			st       generation.ProviderStats
			byReason string
		)
		if err := row.Scan(&st.Provider, &st.Model, &st.Passes, &st.Failures, &st.Alpha, &st.Beta,
			&byReason, &st.ComputedAt); err != nil {
			return st, err
		}
		if err := json.Unmarshal([]byte(byReason), &st.FailuresByReason); err != nil {
			return st, fmt.Errorf("decode failures by reason of %s/%s: %w", st.Provider, st.Model, err)
		}
		return st, nil
	})
	if err != nil {
		return nil, dbError(err, "recalibrate provider stats")
	}
	slices.SortFunc(stats, func(a, b generation.ProviderStats) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return stats, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
