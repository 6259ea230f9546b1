package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/generation"
)

// A batch of 10: 8 distinct valid events, one duplicate of them and one
// malformed body → 8 new rows and exactly one reported failure.
func TestBatchWithMalformedAndDuplicate(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	learner := s.System.Learner().Handle
	ctx := context.Background()
	passed, failed := true, false
	var records []events.SQSMessage
	for i := range 8 {
		e := generation.FeedbackEvent{
			EventID: generation.NewID(), GenerationID: stack.FixtureGenerationID, Provider: "procedural", Model: "procedural-v1",
			Type: generation.FeedbackSelected, Source: generation.SourceValidationFilter, Passed: &passed, Positive: true, Weight: 1,
			Modifiers: []string{"golden hour", fmt.Sprintf("modifier %d", i%2)}, CreatedAt: time.Now(),
		}
		if i%3 == 0 {
			e.Type, e.Passed, e.Positive, e.Negative, e.Reasons = generation.FeedbackFailed, &failed, false, true, []string{"blurry"}
		}
		body, err := json.Marshal(e)
		require.NoError(t, err)
		records = append(records, events.SQSMessage{MessageId: generation.NewID(), Body: string(body), EventSource: "aws:sqs"})
	}
	records = append(records, events.SQSMessage{MessageId: generation.NewID(), Body: records[3].Body, EventSource: "aws:sqs"})
	malformed := events.SQSMessage{MessageId: generation.NewID(), Body: `{"eventId": "oops"`, EventSource: "aws:sqs"}
	records = append(records, malformed)
	payload, err := json.Marshal(events.SQSEvent{Records: records})
	require.NoError(t, err)

	out, err := stacktest.Invoke(t, learner, payload)
	require.NoError(t, err)
	require.Equal(t, []string{malformed.MessageId}, failedIDs(t, out))

	rows, unfolded := feedbackRows(t, s)
	require.Equal(t, 8, rows)
	require.Zero(t, unfolded, "the batch is folded into attribute statistics")
	var passes, failures float64
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT passes, failures FROM attribute_stats WHERE provider = 'procedural' AND attribute = 'golden hour'`).Scan(&passes, &failures))
	require.Equal(t, 5.0, passes, "events 1,2,4,5,7 passed")
	require.Equal(t, 3.0, failures, "events 0,3,6 failed")

	// Redelivery of the whole batch changes nothing but reports the malformed one again.
	out, err = stacktest.Invoke(t, learner, payload)
	require.NoError(t, err)
	require.Equal(t, []string{malformed.MessageId}, failedIDs(t, out))
	rows, _ = feedbackRows(t, s)
	require.Equal(t, 8, rows)
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT passes, failures FROM attribute_stats WHERE provider = 'procedural' AND attribute = 'golden hour'`).Scan(&passes, &failures))
	require.Equal(t, 5.0, passes, "a redelivered event is folded once")
}
