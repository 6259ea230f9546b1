package postgres_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

func TestStoredProviderStats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rows []generation.ProviderStats
	}{
		{name: "no statistics yet", rows: nil},
		{name: "rows come back ordered by provider and model, posterior as stored", rows: []generation.ProviderStats{
			{Provider: "openai", Model: "gpt-image-2", Passes: 8, Failures: 2, Alpha: 9, Beta: 3, FailuresByReason: map[string]int{"filtered": 2}},
			{Provider: "gemini", Model: "gemini-3.1-flash-image", Passes: 1, Failures: 4, Alpha: 2, Beta: 5, FailuresByReason: map[string]int{"blurry": 3, "filtered": 1}},
			{Provider: "gemini", Model: "", Passes: 0, Failures: 0, Alpha: 1, Beta: 1, FailuresByReason: map[string]int{}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, pool := newStore(t)
			ctx := t.Context()
			at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
			for _, r := range tt.rows {
				byReason, err := json.Marshal(r.FailuresByReason)
				require.NoError(t, err)
				_, err = pool.Exec(ctx, `INSERT INTO provider_stats (provider, model, passes, failures, alpha, beta, failures_by_reason, computed_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)`, r.Provider, r.Model, r.Passes, r.Failures, r.Alpha, r.Beta, string(byReason), at)
				require.NoError(t, err)
			}
			got, err := st.StoredProviderStats(ctx)
			require.NoError(t, err)
			require.Len(t, got, len(tt.rows))
			for i := 1; i < len(got); i++ {
				prev, cur := got[i-1], got[i]
				require.True(t, prev.Provider < cur.Provider || (prev.Provider == cur.Provider && prev.Model < cur.Model), "ordered: %v", got)
			}
			for _, want := range tt.rows {
				want.ComputedAt = at
				found := false
				for _, g := range got {
					if g.Provider == want.Provider && g.Model == want.Model {
						require.True(t, g.ComputedAt.Equal(at))
						g.ComputedAt = at
						require.Equal(t, want, g)
						found = true
					}
				}
				require.True(t, found, "%s/%s missing", want.Provider, want.Model)
			}
		})
	}
}
