package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/generation"
)

var _ generation.ProviderBudget = (*Store)(nil)

// Acquire grants a call to provider when fewer than limit.Concurrent calls
// are in flight, fewer than limit.PerWindow started in the last
// limit.Window and no Hold is in force; otherwise it says what is exhausted
// and, when it knows, how long until a call may start. One transaction,
// serialised per provider by its provider_budget row; it also forgets calls
// that no longer count, so the log stays at about PerWindow rows.
func (s *Store) Acquire(ctx context.Context, provider string, limit generation.ProviderLimit, lease time.Duration) (generation.BudgetGrant, error) {
	if provider == "" || limit.Concurrent < 1 || limit.PerWindow < 1 || limit.Window <= 0 || lease <= 0 {
		return generation.BudgetGrant{}, generation.Errorf(generation.EINVALID, "provider budget: bad limit %+v for %q (lease %v)", limit, provider, lease)
	}
	var g generation.BudgetGrant
	err := s.inTx(ctx, "acquire a "+provider+" call", func(tx pgx.Tx) error {
		g = generation.BudgetGrant{}
		var blocked *time.Time
		var now time.Time
		// One round trip creates the provider's row if need be and locks it
		// (the no-op DO UPDATE takes the row lock), and reads the time
		// after the lock, not the transaction's start: a call must not look
		// older than it is by however long the lock took (RETURNING is
		// computed once the row is locked).
		if err := tx.QueryRow(ctx, `
			INSERT INTO provider_budget AS b (provider) VALUES ($1)
			ON CONFLICT (provider) DO UPDATE SET blocked_until = b.blocked_until
			RETURNING b.blocked_until, clock_timestamp()`, provider).Scan(&blocked, &now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM provider_calls
			WHERE provider = $1 AND started_at <= $3::timestamptz - $2::float8 * interval '1 second'
			  AND (finished_at IS NOT NULL OR lease_until <= $3::timestamptz)`, provider, limit.Window.Seconds(), now); err != nil {
			return err
		}
		var inFlight, inWindow int
		var oldest *time.Time
		if err := tx.QueryRow(ctx, `
			SELECT count(*) FILTER (WHERE finished_at IS NULL AND lease_until > $3::timestamptz),
			       count(*) FILTER (WHERE started_at > $3::timestamptz - $2::float8 * interval '1 second'),
			       min(started_at) FILTER (WHERE started_at > $3::timestamptz - $2::float8 * interval '1 second')
			FROM provider_calls WHERE provider = $1`, provider, limit.Window.Seconds(), now).Scan(&inFlight, &inWindow, &oldest); err != nil {
			return err
		}
		switch {
		case blocked != nil && blocked.After(now):
			g.Wait, g.Why = blocked.Sub(now), fmt.Sprintf("%s asked us to wait until %s", provider, blocked.UTC().Format(time.RFC3339Nano))
		case inFlight >= limit.Concurrent:
			g.Why = fmt.Sprintf("%d calls to %s in flight (limit %d)", inFlight, provider, limit.Concurrent)
		case inWindow >= limit.PerWindow:
			g.Why = fmt.Sprintf("%d calls to %s in the last %v (limit %d)", inWindow, provider, limit.Window, limit.PerWindow)
			if oldest != nil {
				g.Wait = max(0, oldest.Add(limit.Window).Sub(now))
			}
		default:
			return tx.QueryRow(ctx, `
				INSERT INTO provider_calls (provider, started_at, lease_until)
				VALUES ($1, $3::timestamptz, $3::timestamptz + $2::float8 * interval '1 second') RETURNING id`, provider, lease.Seconds(), now).Scan(&g.Lease)
		}
		return nil
	})
	if err != nil {
		return generation.BudgetGrant{}, err
	}
	return g, nil
}

// Release ends a call: it no longer counts as in flight, and still counts in
// its window.
func (s *Store) Release(ctx context.Context, lease int64) error {
	if _, err := s.pool.Exec(ctx, `UPDATE provider_calls SET finished_at = clock_timestamp() WHERE id = $1 AND finished_at IS NULL`, lease); err != nil {
		return dbError(err, "release provider call %d", lease)
	}
	return nil
}

// Hold stops every call to provider for d from now (never shortening a
// longer hold).
func (s *Store) Hold(ctx context.Context, provider string, d time.Duration) error {
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO provider_budget AS b (provider, blocked_until) VALUES ($1, clock_timestamp() + $2::float8 * interval '1 second')
		ON CONFLICT (provider) DO UPDATE SET blocked_until = greatest(b.blocked_until, excluded.blocked_until)`, provider, d.Seconds()); err != nil {
		return dbError(err, "hold %s", provider)
	}
	return nil
}
