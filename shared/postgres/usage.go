package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/generation"
)

// Usage returns user's unfinished generations (ever) and what the ones
// created since `since` committed: a final generation's candidates and
// their cost, an unfinished one's settings.maxImages (5 × count when unset,
// the generation bound) and settings.maxCostUsd when larger, since it may
// still reach them.
func (s *Store) Usage(ctx context.Context, user string, since time.Time) (generation.Usage, error) {
	var u generation.Usage
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `
		WITH mine AS (
			SELECT g.created_at,
			       g.status NOT IN `+unfinished+` AS final,
			       COALESCE((g.settings->>'maxImages')::int, $3::int * g.requested_count) AS max_images,
			       COALESCE((g.settings->>'maxCostUsd')::float8, 0) AS max_cost,
			       c.images, c.cost
			FROM generations g
			CROSS JOIN LATERAL (
				SELECT count(*) AS images, COALESCE(sum(cost_usd), 0)::float8 AS cost
				FROM candidates WHERE generation_id = g.id
			) c
			WHERE g.user_id = $1
			  AND (g.created_at >= $2
			       OR g.status IN `+unfinished+`)
		)
		SELECT count(*) FILTER (WHERE NOT final),
		       COALESCE(sum(CASE WHEN final THEN images ELSE GREATEST(images, max_images) END)
		                FILTER (WHERE created_at >= $2), 0),
		       COALESCE(sum(CASE WHEN final THEN cost ELSE GREATEST(cost, max_cost) END)
		                FILTER (WHERE created_at >= $2), 0),
		       min(created_at) FILTER (WHERE created_at >= $2)
		FROM mine`, user, since, generation.GenerationImagesPerCount).Scan(&u.Unfinished, &u.Images, &u.CostUSD, &oldest)
	if err != nil {
		return generation.Usage{}, dbError(err, "read usage")
	}
	if oldest != nil {
		u.Oldest = *oldest
	}
	return u, nil
}

// TakeRating counts one rating request by user at `at` if fewer than limit
// were counted since `since`. A per-user advisory lock serialises one
// user's requests, so concurrent ones cannot both take the last slot; the
// user's entries older than the window are deleted on the way.
func (s *Store) TakeRating(ctx context.Context, user string, at, since time.Time, limit int) (bool, time.Duration, error) {
	var ok bool
	var retry time.Duration
	err := s.inTx(ctx, "count rating", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('rating:' || $1, 0))`, user); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM rating_requests WHERE user_id = $1 AND requested_at < $2`, user, since); err != nil {
			return err
		}
		var n int
		var oldest *time.Time
		if err := tx.QueryRow(ctx, `SELECT count(*), min(requested_at) FROM rating_requests WHERE user_id = $1`, user).Scan(&n, &oldest); err != nil {
			return err
		}
		if n >= limit {
			if oldest != nil {
				retry = oldest.Sub(since)
			}
			return nil
		}
		ok = true
		_, err := tx.Exec(ctx, `INSERT INTO rating_requests (user_id, requested_at) VALUES ($1, $2)`, user, at)
		return err
	})
	if err != nil {
		return false, 0, err
	}
	return ok, retry, nil
}
