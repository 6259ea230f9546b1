package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// updated_at is a generation's last progress: a candidate's change moves it
// (migration 012), and only generations that stopped moving are swept.
func TestUpdatedAtAndFailStalled(t *testing.T) {
	t.Parallel()
	st, pool := newStore(t)
	ctx := t.Context()
	idle := newGeneration(t, st, 2, nil)
	busy := newGeneration(t, st, 2, nil)
	done := newGeneration(t, st, 2, nil)
	cands := planRound(t, st, busy, 1, 2)
	require.NoError(t, st.MarkGenerationFailed(ctx, done.ID, "x", t0))
	// Age every row by an hour, as if nothing had happened since.
	_, err := pool.Exec(ctx, `ALTER TABLE generations DISABLE TRIGGER generations_set_updated_at`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE generations SET updated_at = now() - interval '1 hour'`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ALTER TABLE generations ENABLE TRIGGER generations_set_updated_at`)
	require.NoError(t, err)

	unfinished, err := st.UnfinishedGenerations(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{idle.ID, busy.ID}, unfinished)

	before, err := st.Generation(ctx, busy.ID)
	require.NoError(t, err)
	_, err = st.MarkCandidateErrored(ctx, cands[0].ID, "boom")
	require.NoError(t, err)
	after, err := st.Generation(ctx, busy.ID)
	require.NoError(t, err)
	require.True(t, after.UpdatedAt.After(before.UpdatedAt.Add(50*time.Minute)), "a candidate's change is the generation's progress")

	swept, err := st.FailStalled(ctx, time.Now().Add(-30*time.Minute), generation.EndReason(generation.ReasonStalled), t0)
	require.NoError(t, err)
	require.Equal(t, []string{idle.ID}, swept)
	g, err := st.Generation(ctx, idle.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusFailed, g.Status)
	require.Equal(t, "stalled: the generation made no progress for too long", g.Error)
	require.NotNil(t, g.CompletedAt)

	again, err := st.FailStalled(ctx, time.Now().Add(-30*time.Minute), "stalled", t0)
	require.NoError(t, err)
	require.Empty(t, again, "a final generation is never swept")
}
