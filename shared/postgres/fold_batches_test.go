package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// A backlog is folded in bounded statements: the same statistics as one
// statement would give (without a discount), every row exactly once, and a
// fold whose deadline is near stops after a batch, leaving the rest for the
// next fold.
func TestFoldFeedbackInBatches(t *testing.T) {
	t.Parallel()
	st, pool, _, c := seededOne(t)
	ctx := t.Context()
	var evs []generation.FeedbackEvent
	for i := range 25 {
		evs = append(evs, event(c, generation.FeedbackSelected, t0.Add(time.Duration(i)*time.Second), func(e *generation.FeedbackEvent) {
			e.EventID = generation.EventID("batches", fmt.Sprint(i))
			e.Modifiers = []string{"a", fmt.Sprint("m", i%2)}
			passed := i%5 != 0
			e.Passed, e.Positive, e.Negative = &passed, passed, !passed
		}))
	}
	insertFeedback(t, st, evs...)

	// A deadline already near: one batch, then stop without an error.
	soon, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	stop, cancelStop := context.WithDeadline(soon, time.Now().Add(500*time.Millisecond))
	defer cancelStop()
	n, err := st.FoldFeedbackBatches(stop, 0, 10)
	require.NoError(t, err)
	require.Equal(t, 10, n)
	require.Equal(t, 15, countRows(t, pool, `SELECT count(*) FROM rlhf_feedback WHERE processed_at IS NULL`))

	n, err = st.FoldFeedbackBatches(ctx, 0, 10)
	require.NoError(t, err)
	require.Equal(t, 15, n, "the rest, in two more statements")
	requireStats(t, map[string]stat{
		"procedural/a":  {Passes: 20, Failures: 5, Samples: 25},
		"procedural/m0": {Passes: 10, Failures: 3, Samples: 13},
		"procedural/m1": {Passes: 10, Failures: 2, Samples: 12},
	}, attributeStats(t, pool))

	n, err = st.FoldFeedbackBatches(ctx, 0, 10)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = st.FoldFeedbackBatches(ctx, 0, 0)
	requireCode(t, generation.EINVALID, err)
}
