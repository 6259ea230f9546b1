package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// The outbox gets one notification per generation with a webhookUrl, in the
// statement that makes it final, whichever path does; none without a URL.
func TestWebhookEnqueuedOnceWhenFinal(t *testing.T) {
	t.Parallel()
	st, pool := newStore(t)
	ctx := t.Context()
	with := newGeneration(t, st, 1, func(g *generation.Generation) { g.Settings.WebhookURL = "https://hooks.example.com/x" })
	without := newGeneration(t, st, 1, nil)
	count := func() int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries`).Scan(&n))
		return n
	}
	require.Zero(t, count(), "not final yet")
	for _, id := range []string{with.ID, without.ID} {
		require.NoError(t, st.MarkGenerationFailed(ctx, id, "timed_out: test", time.Now()))
		require.NoError(t, st.MarkGenerationFailed(ctx, id, "again", time.Now()))
	}
	require.Equal(t, 1, count())
	var body, url string
	require.NoError(t, pool.QueryRow(ctx, `SELECT body::text, url FROM webhook_deliveries WHERE generation_id = $1`, with.ID).Scan(&body, &url))
	require.Equal(t, "https://hooks.example.com/x", url)
	require.Contains(t, body, `"status": "failed"`)
	require.Contains(t, body, `"generationId": "`+with.ID+`"`)
	require.NotContains(t, body, "red coat", "no user content in the body")
}

// Concurrent claims never return one notification twice while it is
// leased; an attempt moves it on; a lease that lapses makes it due again.
func TestWebhookClaimsAreLeased(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	var ids []string
	for range 6 {
		g := newGeneration(t, st, 1, func(g *generation.Generation) { g.Settings.WebhookURL = "https://hooks.example.com/x" })
		require.NoError(t, st.MarkGenerationFailed(ctx, g.ID, "failed: test", time.Now()))
		ids = append(ids, g.ID)
	}
	now := time.Now()
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := st.ClaimWebhooks(ctx, now, time.Minute, 2, "")
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			for _, d := range got {
				claimed[d.ID]++
			}
		})
	}
	wg.Wait()
	require.Len(t, claimed, 6, "four claimers of two took all six")
	for id, n := range claimed {
		require.Equal(t, 1, n, "delivery %d claimed twice", id)
	}
	again, err := st.ClaimWebhooks(ctx, now.Add(30*time.Second), time.Minute, 10, "")
	require.NoError(t, err)
	require.Empty(t, again, "leased")

	lapsed, err := st.ClaimWebhooks(ctx, now.Add(2*time.Minute), time.Minute, 10, ids[0])
	require.NoError(t, err)
	require.Len(t, lapsed, 1, "a lapsed lease is due again; the claim names one generation")
	d := lapsed[0]
	next := now.Add(10 * time.Minute)
	require.NoError(t, st.RecordWebhookAttempt(ctx, d, generation.WebhookAttempt{At: now, StatusCode: 500, Error: "receiver answered 500"}, false, &next))
	d.Attempts++
	require.NoError(t, st.RecordWebhookAttempt(ctx, d, generation.WebhookAttempt{At: now, StatusCode: 200}, true, nil))
	done, err := st.ClaimWebhooks(ctx, now.Add(time.Hour), time.Minute, 10, ids[0])
	require.NoError(t, err)
	require.Empty(t, done, "delivered is never claimed again")
}

// DeleteGeneration refuses a generation that is not final and keeps the
// first deleted_at when repeated.
func TestDeleteGenerationNeedsAFinalGeneration(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	g := newGeneration(t, st, 1, nil)
	require.Equal(t, generation.ECONFLICT, generation.ErrorCode(st.DeleteGeneration(ctx, g.ID, time.Now())))
	require.NoError(t, st.MarkGenerationFailed(ctx, g.ID, "failed: test", time.Now()))
	first := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	require.NoError(t, st.DeleteGeneration(ctx, g.ID, first))
	require.NoError(t, st.DeleteGeneration(ctx, g.ID, time.Now()))
	got, err := st.Generation(ctx, g.ID)
	require.NoError(t, err)
	require.NotNil(t, got.DeletedAt)
	require.True(t, first.Equal(*got.DeletedAt), "%v != %v", first, got.DeletedAt)
	require.Empty(t, got.BasePrompt)
	require.Equal(t, generation.ENOTFOUND, generation.ErrorCode(st.DeleteGeneration(ctx, generation.NewID(), time.Now())))
	list, err := st.ListGenerations(ctx, g.UserID, generation.ListQuery{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, list)
}

// A rating that reaches the store after its generation was deleted keeps
// its weight for the learner but none of its text.
func TestLateRatingOfADeletedGenerationKeepsNoText(t *testing.T) {
	t.Parallel()
	st, pool, g, c := seededOne(t)
	ctx := t.Context()
	require.NoError(t, st.MarkGenerationFailed(ctx, g.ID, "failed: test", time.Now()))
	require.NoError(t, st.DeleteGeneration(ctx, g.ID, time.Now()))
	late := event(c, generation.FeedbackUserRating, time.Now(), func(e *generation.FeedbackEvent) {
		asUserRating(e)
		e.Reasons, e.Weight, e.Positive = []string{"my secret words"}, 2, true
		e.Metadata = map[string]any{"rating": 5, "note": "my secret words"}
	})
	require.Equal(t, 1, insertFeedback(t, st, late))
	var reasons, metadata string
	var weight float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT reasons::text, metadata::text, weight FROM rlhf_feedback WHERE event_id = $1`, late.EventID).Scan(&reasons, &metadata, &weight))
	require.Equal(t, "{}", reasons)
	require.Equal(t, "{}", metadata)
	require.InDelta(t, 2, weight, 1e-9, "the learning signal stays")
}
