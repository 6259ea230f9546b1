package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/generation"
)

// InsertFeedback inserts events in one transaction, ignoring event ids that
// are already stored (a redelivered message adds nothing), and returns how
// many rows were new or replaced. A user rating replaces the stored rating
// with its event id (the same user and image) when it is newer, and an
// operator review the stored review of the same image, and is
// folded again (see FoldFeedbackBatches); an older one is ignored, so
// queue reordering cannot bring back a replaced rating. An invalid event is EINVALID and nothing is stored.
func (s *Store) InsertFeedback(ctx context.Context, events []generation.FeedbackEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	var n int
	err := s.inTx(ctx, "insert feedback", func(tx pgx.Tx) error {
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
			ON CONFLICT (event_id) DO UPDATE
			-- A user's newer rating of the same image (one event id per
			-- user and image) replaces the row; the next fold adds the
			-- difference to what the row folded before.
			SET passed = excluded.passed, quality_score = excluded.quality_score,
			    is_negative = excluded.is_negative, is_positive = excluded.is_positive,
			    weight = excluded.weight, reasons = excluded.reasons, metadata = excluded.metadata,
			    created_at = excluded.created_at, processed_at = NULL
			WHERE rlhf_feedback.feedback_type IN ('user_rating', 'operator_review')
			  AND excluded.feedback_type = rlhf_feedback.feedback_type
			  AND excluded.created_at > rlhf_feedback.created_at`,
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

// FoldBatchSize is how many feedback rows one fold statement claims: a
// backlog (an outage, a lost queue) is folded in statements that each end
// in well under a second, never in one that outlives the Lambda timeout and
// is rolled back and repeated forever.
const FoldBatchSize = 1000

// FoldFeedback folds every unprocessed feedback row into attribute_stats
// exactly once, FoldBatchSize rows per statement (see FoldFeedbackBatches),
// and returns how many rows it folded (marked processed).
func (s *Store) FoldFeedback(ctx context.Context, discount float64) (int, error) {
	return s.FoldFeedbackBatches(ctx, discount, FoldBatchSize)
}

// FoldFeedbackBatches folds unprocessed rows in statements of at most batch
// rows, oldest first, until none is left or ctx's deadline is near, and
// returns how many rows it folded. A fold that stops early (the deadline, an
// error after some batches) has committed what it folded; the rest stays
// unfolded for the next fold.
//
// Semantics of one statement:
//   - It claims at most batch rows with FOR UPDATE SKIP LOCKED and marks
//     them processed_at in the same statement, so concurrent folds take
//     disjoint rows and a row is never counted twice; a second fold with
//     nothing new folds 0.
//   - Only the absolute outcome counts: per (provider, modifier) of a row,
//     passes += 1 when passed is true, failures += 1 when false. An
//     outcome counts once per candidate whatever the event's weight: that
//     weight ranks training examples (a passing surplus image is a weak
//     negative, 0.25) and says nothing about how much the image passed.
//     high_quality rows add nothing: they restate the outcome of a
//     candidate whose delivery event already counts (counting both would
//     count one candidate twice). A modifier listed twice counts once.
//   - A user rating (passed NULL, type user_rating) and an operator's
//     review (operator_review) count with their own weight
//     (learning.RatingWeight: |rating − 3|; learning.ReviewWeight): passes += weight when
//     it is positive, failures += weight when negative; a neutral rating
//     and any other row with passed NULL add nothing but are marked
//     processed.
//   - Each row stores what it added (folded_passes, folded_failures) in
//     the statement that marks it processed. A user rating has one row per
//     (user, image); a newer rating replaces it and clears processed_at
//     (InsertFeedback), and its next fold adds only the difference (new
//     contribution − what it added before; samples count a row once). So
//     30 re-ratings of one image are one live rating, folded exactly once
//     per version. What the old version added has been discounted since,
//     so taking it back is floored at 0.
//   - The discount (0–1) decays an attribute's old counts once per
//     statement in which it receives new outcomes: passes = passes·(1−discount) + new,
//     likewise failures, in the upsert itself (no read-modify-write). An
//     attribute without new outcomes keeps its counts, so evidence ages
//     with use, not with time: an attribute remembers about 1/discount of
//     its folds (RLHF_LEARNING_RATE 0.1: its last ~10 folds), and a rarely
//     chosen attribute keeps what it taught. A learner batch (10 messages)
//     is one statement; a backlog is one per batch rows. samples counts the
//     outcome rows folded in, undiscounted.
func (s *Store) FoldFeedbackBatches(ctx context.Context, discount float64, batch int) (int, error) {
	if err := finite("discount", discount); err != nil {
		return 0, err
	}
	if discount < 0 || discount > 1 {
		return 0, generation.FieldError("discount", "must be from 0 to 1, got %v", discount)
	}
	if batch < 1 {
		return 0, generation.FieldError("batch", "must be at least 1, got %d", batch)
	}
	total := 0
	for {
		start := time.Now()
		n, err := s.foldBatch(ctx, discount, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
		// Another statement only when it surely ends before the deadline:
		// twice the last one's time plus a second to spare.
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < 2*time.Since(start)+time.Second {
			return total, nil
		}
	}
}

// foldBatch is one fold statement over at most batch rows.
func (s *Store) foldBatch(ctx context.Context, discount float64, batch int) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `
		WITH claimed AS (
			SELECT id, folded_passes, folded_failures FROM rlhf_feedback
			WHERE processed_at IS NULL
			ORDER BY id
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		),
		contributions AS (
			-- What each claimed row adds now, and what it added when last
			-- folded (a replaced user rating; NULL: never folded).
			SELECT f.id, f.provider, f.modifiers, claimed.folded_passes, claimed.folded_failures,
			       CASE WHEN f.feedback_type = 'high_quality' THEN 0
			            WHEN f.passed THEN 1
			            WHEN f.feedback_type IN ('user_rating', 'operator_review') AND f.is_positive THEN f.weight
			            ELSE 0 END AS passes,
			       CASE WHEN f.feedback_type = 'high_quality' THEN 0
			            WHEN f.passed = false THEN 1
			            WHEN f.passed IS NULL AND f.feedback_type IN ('user_rating', 'operator_review') AND f.is_negative THEN f.weight
			            ELSE 0 END AS failures
			FROM rlhf_feedback f JOIN claimed ON claimed.id = f.id
		),
		folded AS (
			UPDATE rlhf_feedback f
			SET processed_at = now(), folded_passes = c.passes, folded_failures = c.failures
			FROM contributions c
			WHERE f.id = c.id
			RETURNING c.*
		),
		outcomes AS (
			SELECT DISTINCT id, provider, m AS attribute,
			       passes - COALESCE(folded_passes, 0) AS passes,
			       failures - COALESCE(folded_failures, 0) AS failures,
			       (passes + failures > 0)::int - (COALESCE(folded_passes, 0) + COALESCE(folded_failures, 0) > 0)::int AS samples
			FROM folded, unnest(modifiers) AS m
			WHERE passes <> COALESCE(folded_passes, 0) OR failures <> COALESCE(folded_failures, 0)
		),
		deltas AS (
			SELECT provider, attribute, sum(passes) AS passes, sum(failures) AS failures, sum(samples) AS samples
			FROM outcomes
			GROUP BY provider, attribute
		),
		upserted AS (
			INSERT INTO attribute_stats AS a (provider, attribute, passes, failures, samples, updated_at)
			SELECT provider, attribute, GREATEST(passes, 0), GREATEST(failures, 0), GREATEST(samples, 0), now()
			FROM deltas
			-- A fixed order makes concurrent folds lock rows in the same order.
			ORDER BY provider, attribute
			ON CONFLICT (provider, attribute) DO UPDATE
			-- A replaced rating takes back what it added; the old amount
			-- has since been discounted, so the result is floored at 0.
			SET passes = GREATEST(a.passes * (1 - $1::float8) +
			                      (SELECT d.passes FROM deltas d WHERE (d.provider, d.attribute) = (a.provider, a.attribute)), 0),
			    failures = GREATEST(a.failures * (1 - $1::float8) +
			                        (SELECT d.failures FROM deltas d WHERE (d.provider, d.attribute) = (a.provider, a.attribute)), 0),
			    samples = GREATEST(a.samples +
			                       (SELECT d.samples FROM deltas d WHERE (d.provider, d.attribute) = (a.provider, a.attribute)), 0),
			    updated_at = excluded.updated_at
		)
		SELECT count(*) FROM folded`, discount, batch).Scan(&n)
	if err != nil {
		return 0, dbError(err, "fold feedback")
	}
	return n, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
