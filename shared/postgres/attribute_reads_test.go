package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
)

func TestAttributeStatsAndFailureReasons(t *testing.T) {
	t.Parallel()
	st, _, _, c := seededOne(t)
	ctx := t.Context()
	f, tr := false, true
	rated := c
	rated.Modifiers = []string{"calm"}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	events := []generation.FeedbackEvent{
		event(c, generation.FeedbackFailed, at(1), func(e *generation.FeedbackEvent) {
			e.Modifiers, e.Passed, e.Reasons = []string{"night scene", "calm"}, &f, []string{"underexposed", "low_score"}
		}),
		event(c, generation.FeedbackFailed, at(2), func(e *generation.FeedbackEvent) {
			e.Modifiers, e.Passed, e.Reasons = []string{"night scene"}, &f, []string{"underexposed: mean luma 0.05", "underexposed"}
		}),
		event(c, generation.FeedbackSelected, at(3), func(e *generation.FeedbackEvent) {
			e.Modifiers, e.Passed, e.Reasons = []string{"calm"}, &tr, []string{"flagged"}
		}),
		event(c, generation.FeedbackDiscarded, at(4), func(e *generation.FeedbackEvent) {
			e.Modifiers, e.Passed, e.Reasons = []string{"calm"}, &tr, []string{"surplus"}
		}),
		learning.RatingEvent(rated, "alice", 1, []string{"blurry"}, at(5)),
	}
	insertFeedback(t, st, events...)
	fold(t, st, 0.1)

	stats, err := st.AttributeStats(ctx, c.Provider)
	require.NoError(t, err)
	require.Equal(t, []generation.AttributeStat{
		{Attribute: "calm", Passes: 2, Failures: 1 + 2, Samples: 4}, // the 1-star rating counts 2 failures
		{Attribute: "night scene", Passes: 0, Failures: 2, Samples: 2},
	}, stats)
	none, err := st.AttributeStats(ctx, "nobody")
	require.NoError(t, err)
	require.Empty(t, none)

	reasons, err := st.FailureReasons(ctx, c.Provider)
	require.NoError(t, err)
	require.Equal(t, []generation.ReasonCount{
		{Reason: "underexposed", Weight: 2}, // once per failure, whatever its wording
		{Reason: "low_score", Weight: 1},
	}, reasons, "passes and surplus discards are not failures; a user's rating text is never a reason")
}
