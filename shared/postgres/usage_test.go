package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
)

// Re-rating one image replaces the rating in the statistics: 30 ratings by
// one user of one image, folded between and after, leave one live rating
// (the last), and an older rating arriving late changes nothing.
func TestReRatingReplacesTheRating(t *testing.T) {
	t.Parallel()
	st, _, _, c := seededOne(t)
	ctx := t.Context()
	c.Modifiers = []string{"calm"}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	stats := func() []generation.AttributeStat {
		fold(t, st, 0)
		s, err := st.AttributeStats(ctx, c.Provider)
		require.NoError(t, err)
		return s
	}
	for i := range 30 {
		insertFeedback(t, st, learning.RatingEvent(c, "alice", 1, []string{"reason " + string(rune('a'+i%26))}, t0.Add(time.Duration(i)*time.Second)))
		if i%7 == 0 {
			stats() // some re-ratings are folded in between, some not
		}
	}
	require.Equal(t, []generation.AttributeStat{{Attribute: "calm", Passes: 0, Failures: 2, Samples: 1}}, stats(),
		"30 one-star ratings of one image by one user are one rating")

	insertFeedback(t, st, learning.RatingEvent(c, "alice", 5, nil, t0.Add(time.Hour)))
	require.Equal(t, []generation.AttributeStat{{Attribute: "calm", Passes: 2, Failures: 0, Samples: 1}}, stats(),
		"a 5 replaces the 1")

	require.Zero(t, insertFeedback(t, st, learning.RatingEvent(c, "alice", 1, nil, t0.Add(time.Minute))), "an older rating that arrives late is ignored")
	insertFeedback(t, st, learning.RatingEvent(c, "bob", 1, nil, t0))
	require.Equal(t, []generation.AttributeStat{{Attribute: "calm", Passes: 2, Failures: 2, Samples: 2}}, stats(),
		"another user's rating is its own")
}

func TestUsageAndRatingWindow(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := t.Context()
	u, err := st.Usage(ctx, "nobody", time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, generation.Usage{}, u)

	g := newGeneration(t, st, 2, nil)
	planRound(t, st, g, 1, 3)
	u, err = st.Usage(ctx, g.UserID, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, u.Unfinished)
	require.Equal(t, generation.GenerationBound(2), u.Images, "an unfinished generation commits its bound")
	require.False(t, u.Oldest.IsZero())
	u, err = st.Usage(ctx, g.UserID, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, generation.Usage{Unfinished: 1}, u, "outside the window it still counts as unfinished")

	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 3 {
		ok, _, err := st.TakeRating(ctx, "alice", at.Add(time.Duration(i)*time.Second), at.Add(-time.Minute), 3)
		require.NoError(t, err)
		require.True(t, ok)
	}
	ok, retry, err := st.TakeRating(ctx, "alice", at.Add(3*time.Second), at.Add(3*time.Second-time.Minute), 3)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, 57*time.Second, retry, "the first request leaves the window a minute after it")
	ok, _, err = st.TakeRating(ctx, "bob", at, at.Add(-time.Minute), 3)
	require.NoError(t, err)
	require.True(t, ok, "limits are per user")
	ok, _, err = st.TakeRating(ctx, "alice", at.Add(61*time.Second), at.Add(time.Second), 3)
	require.NoError(t, err)
	require.True(t, ok, "the window slides")
}
