package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/generation"
)

// erasedURL replaces the webhook URL of a deleted generation's
// notification: the row and its attempts stay as the record of what was
// sent, without the user's address.
const erasedURL = "https://erased.invalid/"

// MaxListLimit bounds one page of ListGenerations (the API's pages are
// smaller; it asks for one row more than a page to know whether another
// follows).
const MaxListLimit = 1000

// ListGenerations returns user's generations that are not deleted, newest
// first by (created_at, id), after q.After when set. The keyset comparison
// is a row comparison on the generations_user_list_idx index, so a page
// costs the same however deep it is, and a generation created meanwhile
// (later created_at) never shifts a later page.
func (s *Store) ListGenerations(ctx context.Context, user string, q generation.ListQuery) ([]generation.Generation, error) {
	if q.Limit <= 0 || q.Limit > MaxListLimit {
		return nil, generation.FieldError("limit", "must be from 1 to %d", MaxListLimit)
	}
	var afterAt *time.Time
	var afterID *string
	if q.After != nil {
		if !generation.IsUUID(q.After.ID) {
			return nil, generation.FieldError("cursor", "is not a valid cursor")
		}
		afterAt, afterID = &q.After.CreatedAt, &q.After.ID
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+generationColumns+`
		FROM generations
		WHERE user_id = $1::text AND deleted_at IS NULL
		  AND ($2::text = '' OR status = $2::text)
		  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
		ORDER BY created_at DESC, id DESC
		LIMIT $5::int`,
		user, string(q.Status), afterAt, afterID, q.Limit)
	if err != nil {
		return nil, dbError(err, "list generations of user %s", user)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (generation.Generation, error) {
		return scanGeneration(row)
	})
	if err != nil {
		return nil, dbError(err, "list generations of user %s", user)
	}
	return out, nil
}

// DeleteGeneration marks a final generation deleted and erases its user
// content, in one transaction (see generation.Store). Erasing again is a
// no-op that keeps the first deleted_at.
func (s *Store) DeleteGeneration(ctx context.Context, id string, at time.Time) error {
	if !generation.IsUUID(id) {
		return notFound("generation %s", id)
	}
	var deletedAt *time.Time
	if !at.IsZero() {
		deletedAt = &at
	}
	return s.inTx(ctx, "delete generation "+id, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM generations WHERE id = $1::uuid FOR UPDATE`, id).Scan(&status)
		if err != nil {
			return dbError(err, "generation %s", id)
		}
		if !generation.Status(status).Final() {
			return generation.Errorf(generation.ECONFLICT, "generation %s is still %s: delete it once it is final", id, status)
		}
		// Settings keep what planning and usage read (count, caps); the
		// free text and the webhook URL go. The reference's palette is
		// the user's image in summary, and so is its tone; its size and
		// format are not.
		_, err = tx.Exec(ctx, `
			UPDATE generations
			SET deleted_at = COALESCE(deleted_at, $2::timestamptz, now()),
			    base_prompt = '',
			    settings = settings - 'prompt' - 'negativePrompt' - 'webhookUrl',
			    reference_key = NULL,
			    reference_features = reference_features - 'palette' - 'tone'
			WHERE id = $1::uuid`, id, deletedAt)
		if err != nil {
			return dbError(err, "erase generation %s", id)
		}
		for _, stmt := range []string{
			`UPDATE candidates SET prompt = '', negative_prompt = ''
			 WHERE generation_id = $1::uuid AND (prompt <> '' OR negative_prompt <> '')`,
			`UPDATE validation_results v SET fingerprint = NULL
			 FROM candidates c
			 WHERE v.candidate_id = c.id AND c.generation_id = $1::uuid AND v.fingerprint IS NOT NULL`,
			// Outcome events keep their reason codes (the validator's, the
			// provider's); a rating's reasons are the user's words.
			`UPDATE rlhf_feedback
			 SET prompt = '',
			     reasons = CASE WHEN feedback_type = 'user_rating' THEN '{}' ELSE reasons END,
			     metadata = CASE WHEN feedback_type = 'user_rating' THEN '{}' ELSE metadata END
			 WHERE generation_id = $1::uuid`,
			// A notification not yet sent is not sent after the deletion.
			`UPDATE webhook_deliveries SET url = '` + erasedURL + `', state = CASE WHEN state = 'pending' THEN 'failed' ELSE state END
			 WHERE generation_id = $1::uuid AND url <> '` + erasedURL + `'`,
		} {
			if _, err := tx.Exec(ctx, stmt, id); err != nil {
				return dbError(err, "erase generation %s", id)
			}
		}
		return nil
	})
}
