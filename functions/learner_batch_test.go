package functions_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sqslocal"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/stage"
)

// One bad event in a batch of ten sends only itself to the dead letters:
// an event breaking a schema CHECK is refused by Validate when decoded, and
// one the database refuses for a reason Validate cannot know (here a CHECK
// this test adds) makes the learner store the batch one event at a time, so
// its eight good batch mates are stored and folded on the first receive.
func TestOneBadEventFailsOnlyItself(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := t.Context()
	_, err := s.Pool.Exec(ctx, `ALTER TABLE rlhf_feedback ADD CONSTRAINT test_refuses_poison CHECK (prompt <> 'poison')`)
	require.NoError(t, err)
	maxReceives, batchSize := feedbackQueueSettings(t)
	require.GreaterOrEqual(t, batchSize, 10)

	evs := outcomeEvents(10, "one-bad-event")
	score := 150.0
	evs[3].QualityScore = &score // quality_score BETWEEN 0 AND 100
	evs[7].Prompt = "poison"     // valid, but the database refuses it

	var mu sync.Mutex
	reported := map[int]int{} // receive count per reported event index
	learner := stage.Learner{Pipeline: s.Pipeline, Logger: quiet}
	var ids []string
	q := sqslocal.New(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp, err := learner.Handle(ctx, ev)
		mu.Lock()
		defer mu.Unlock()
		for _, f := range resp.BatchItemFailures {
			for i, id := range ids {
				if id == f.ItemIdentifier {
					reported[i]++
				}
			}
		}
		return resp, err
	}, sqslocal.Options{MaxReceiveCount: maxReceives, BatchSize: batchSize})
	mu.Lock()
	for _, e := range evs {
		body, err := json.Marshal(e)
		require.NoError(t, err)
		ids = append(ids, q.SendRaw(string(body)))
	}
	mu.Unlock()

	stats, err := q.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, map[int]int{3: maxReceives, 7: maxReceives}, reported, "only the two bad events are reported, on every receive")
	require.Len(t, q.DeadLetters(), 2)
	require.Equal(t, 8, stats.Deleted)
	rows, unfolded := feedbackRows(t, s)
	require.Equal(t, 8, rows)
	require.Zero(t, unfolded)
}
