package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// unfinished is the SQL list of non-final statuses (generation.Status.Final's
// complement), as the partial index of migration 012 names them.
const unfinished = `('planning', 'generating', 'selecting')`

// UnfinishedGenerations returns the ids of every generation that is not
// final, least recently changed first.
func (s *Store) UnfinishedGenerations(ctx context.Context) ([]string, error) {
	return s.queryIDs(ctx, "list unfinished generations", `SELECT id::text FROM generations WHERE status IN `+unfinished+` ORDER BY updated_at, id`)
}

// FailStalled marks failed, with reason, every unfinished generation whose
// updated_at (its last progress, see migration 012) is before `before`, in
// one statement, so that a generation progressing meanwhile is left alone.
// It returns the ids it failed.
func (s *Store) FailStalled(ctx context.Context, before time.Time, reason string, at time.Time) ([]string, error) {
	return s.queryIDs(ctx, "fail stalled generations", `
		UPDATE generations
		SET status = 'failed', error = NULLIF($2::text, ''), completed_at = $3::timestamptz
		WHERE status IN `+unfinished+` AND updated_at < $1::timestamptz
		RETURNING id::text`, before, reason, at)
}

// queryIDs runs a statement that returns one text column of ids; what
// names it in an error.
func (s *Store) queryIDs(ctx context.Context, what, sql string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, dbError(err, "%s", what)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbError(err, "%s", what)
	}
	return ids, nil
}
