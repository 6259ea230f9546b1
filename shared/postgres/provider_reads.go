package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/designerbff/pipeline/shared/generation"
)

var _ generation.ProviderStatsReader = (*Store)(nil)

// StoredProviderStats returns every provider_stats row as Recalibrate last
// stored it, ordered by provider and model. It only reads: the provider
// chooser uses the posterior pass rates (alpha, beta) without recomputing them.
func (s *Store) StoredProviderStats(ctx context.Context) ([]generation.ProviderStats, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT provider, model, passes, failures, alpha, beta, failures_by_reason::text, computed_at
		FROM provider_stats
		ORDER BY provider, model`)
	if err != nil {
		return nil, dbError(err, "read provider stats")
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
		return nil, dbError(err, "read provider stats")
	}
	slices.SortFunc(stats, func(a, b generation.ProviderStats) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return stats, nil
}
