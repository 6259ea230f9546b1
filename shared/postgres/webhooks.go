package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/generation"
)

var _ generation.WebhookOutbox = (*Store)(nil)

// ClaimWebhooks leases at most limit pending notifications that are due,
// oldest due first, by pushing their next_attempt_at out by lease in the
// claiming statement (FOR UPDATE SKIP LOCKED), so concurrent drivers (the
// deliver function, the schedule, `make serve`'s loop) never send one row
// twice at once, and one that dies mid-attempt leaves it due after lease.
func (s *Store) ClaimWebhooks(ctx context.Context, now time.Time, lease time.Duration, limit int, generationID string) ([]generation.WebhookDelivery, error) {
	if generationID != "" && !generation.IsUUID(generationID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT id FROM webhook_deliveries
			WHERE state = 'pending' AND next_attempt_at <= $1::timestamptz
			  AND ($4::text = '' OR generation_id = NULLIF($4::text, '')::uuid)
			ORDER BY next_attempt_at, id
			LIMIT $3::int
			FOR UPDATE SKIP LOCKED
		)
		UPDATE webhook_deliveries w
		SET next_attempt_at = $1::timestamptz + $2::interval
		FROM due
		WHERE w.id = due.id
		RETURNING w.id, w.generation_id::text, w.url, w.body::text, w.attempts`,
		now, lease, limit, generationID)
	if err != nil {
		return nil, dbError(err, "claim webhook deliveries")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (generation.WebhookDelivery, error) {
		var d generation.WebhookDelivery
		var body string
		err := row.Scan(&d.ID, &d.GenerationID, &d.URL, &body, &d.Attempts)
		d.Body = []byte(body)
		return d, err
	})
	if err != nil {
		return nil, dbError(err, "claim webhook deliveries")
	}
	return out, nil
}

// RecordWebhookAttempt stores the attempt (once per attempt number) and
// moves the delivery on: delivered, due again at next, or failed for good.
func (s *Store) RecordWebhookAttempt(ctx context.Context, d generation.WebhookDelivery, a generation.WebhookAttempt, delivered bool, next *time.Time) error {
	state := "pending"
	switch {
	case delivered:
		state = "delivered"
	case next == nil:
		state = "failed"
	}
	var status *int
	if a.StatusCode != 0 {
		status = &a.StatusCode
	}
	return s.inTx(ctx, "record webhook attempt", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms)
			VALUES ($1::bigint, $2::int, $3::timestamptz, $4::int, $5::text, $6::int)
			ON CONFLICT (delivery_id, attempt) DO NOTHING`,
			d.ID, d.Attempts+1, a.At, status, a.Error, a.Duration.Milliseconds())
		if err != nil {
			return dbError(err, "record webhook attempt of delivery %d", d.ID)
		}
		_, err = tx.Exec(ctx, `
			UPDATE webhook_deliveries
			SET attempts = GREATEST(attempts, $2::int), state = $3::text,
			    next_attempt_at = COALESCE($4::timestamptz, next_attempt_at)
			WHERE id = $1::bigint AND state = 'pending'`,
			d.ID, d.Attempts+1, state, next)
		if err != nil {
			return dbError(err, "update webhook delivery %d", d.ID)
		}
		return nil
	})
}
