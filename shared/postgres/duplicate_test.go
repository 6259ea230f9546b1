package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

func TestVerdictFingerprintRoundTrips(t *testing.T) {
	t.Parallel()
	st, _, _, cands := seeded(t, 2, 2)
	ctx := t.Context()
	tests := []struct {
		name        string
		fingerprint string
	}{
		{name: "with a fingerprint", fingerprint: "dhash:00ff00ff00ff00ff"},
		{name: "undecodable: none", fingerprint: ""},
	}
	for i, tt := range tests {
		c := storeImage(t, st, cands[i])
		v := generation.Verdict{ValidatorVersion: validator, Score: 80, Passed: true, Fingerprint: tt.fingerprint}
		stored, err := st.SaveVerdict(ctx, c.ID, v)
		require.NoError(t, err, tt.name)
		require.Equal(t, tt.fingerprint, stored.Fingerprint, tt.name)
		loaded, err := st.Candidate(ctx, c.ID, validator)
		require.NoError(t, err, tt.name)
		require.Equal(t, tt.fingerprint, loaded.Verdict.Fingerprint, tt.name)
	}
}

func TestMarkDuplicate(t *testing.T) {
	t.Parallel()
	st, pool, _, cands := seeded(t, 1, 2)
	ctx := t.Context()
	c := storeImage(t, st, cands[0])
	_, err := st.SaveVerdict(ctx, c.ID, generation.Verdict{ValidatorVersion: validator, Score: 75, Passed: true, Flagged: true,
		Reasons: []string{"wrong_size"}, Fingerprint: "dhash:0000000000000001"})
	require.NoError(t, err)

	for range 2 { // marking twice adds the reason once
		require.NoError(t, st.MarkDuplicate(ctx, c.ID, validator))
	}
	got, err := st.Candidate(ctx, c.ID, validator)
	require.NoError(t, err)
	require.False(t, got.Verdict.Passed)
	require.False(t, got.Verdict.Flagged)
	require.Equal(t, []string{"wrong_size", generation.ReasonDuplicate}, got.Verdict.Reasons)
	require.InDelta(t, 75, got.Verdict.Score, 1e-9, "the score is kept for ranking and learning")
	require.Equal(t, 1, countRows(t, pool, `SELECT count(*) FROM validation_results WHERE candidate_id = $1`, c.ID))

	tests := []struct {
		name, id, version string
	}{
		{name: "other validator version", id: c.ID, version: "other"},
		{name: "candidate without a verdict", id: cands[1].ID, version: validator},
		{name: "not a uuid", id: "nope", version: validator},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireCode(t, generation.ENOTFOUND, st.MarkDuplicate(ctx, tt.id, tt.version))
		})
	}
}
