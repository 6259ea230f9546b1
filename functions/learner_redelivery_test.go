package functions_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sqslocal"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/infra/sam"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/stage"
)

// feedbackQueueSettings reads the feedback queue's maxReceiveCount and the
// learner's BatchSize from template.yaml, so the local queue behaves as the
// deployed one.
func feedbackQueueSettings(t *testing.T) (maxReceives, batchSize int) {
	t.Helper()
	tpl, err := sam.ReadTemplate(filepath.Join(stacktest.Root(t), "template.yaml"))
	require.NoError(t, err)
	redrive, ok := tpl.Resources["FeedbackQueue"].Properties["RedrivePolicy"].(map[string]any)
	require.True(t, ok, "FeedbackQueue has a RedrivePolicy")
	receives, ok := redrive["maxReceiveCount"].(float64)
	require.True(t, ok)
	batch := 10.0
	for _, ev := range tpl.Resources["LearnerFunction"].Properties["Events"].(map[string]any) {
		if props, ok := ev.(map[string]any)["Properties"].(map[string]any); ok {
			if b, ok := props["BatchSize"].(float64); ok {
				batch = b
			}
		}
	}
	return int(receives), int(batch)
}

// outcomeEvents are n outcome events over two modifiers: every third fails.
func outcomeEvents(n int, tag string) []generation.FeedbackEvent {
	var out []generation.FeedbackEvent
	for i := range n {
		passed := i%3 != 0
		e := generation.FeedbackEvent{
			EventID: generation.EventID(tag, fmt.Sprint(i)), GenerationID: stack.FixtureGenerationID,
			Provider: "procedural", Model: "procedural-v1", Type: generation.FeedbackSelected,
			Source: generation.SourceValidationFilter, Passed: &passed, Positive: passed, Negative: !passed, Weight: 1,
			Modifiers: []string{"golden hour", fmt.Sprintf("modifier %d", i%2)}, CreatedAt: time.Now(),
		}
		if !passed {
			e.Type, e.Reasons = generation.FeedbackFailed, []string{"blurry"}
		}
		out = append(out, e)
	}
	return out
}

var quiet = slog.New(slog.DiscardHandler)

type attrStat struct{ passes, failures float64 }

func attributeTable(t *testing.T, s *stack.Stack) map[string]attrStat {
	t.Helper()
	rows, err := s.Pool.Query(t.Context(), `SELECT attribute, passes, failures FROM attribute_stats`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]attrStat{}
	for rows.Next() {
		var a string
		var st attrStat
		require.NoError(t, rows.Scan(&a, &st.passes, &st.failures))
		out[a] = st
	}
	require.NoError(t, rows.Err())
	return out
}

func feedbackRows(t *testing.T, s *stack.Stack) (rows, unfolded int) {
	t.Helper()
	require.NoError(t, s.Pool.QueryRow(t.Context(),
		`SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL) FROM rlhf_feedback`).Scan(&rows, &unfolded))
	return rows, unfolded
}

// A poison message is reported as a batch item failure on every receive,
// so it reaches the dead letters after exactly the template's
// maxReceiveCount receives; its batch mates are stored once, and publishing
// the same events again (a redelivery or a re-run Deliver) changes nothing.
func TestPoisonMessageReachesTheDLQAndRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := t.Context()
	maxReceives, batchSize := feedbackQueueSettings(t)
	require.Greater(t, maxReceives, 1)

	var mu sync.Mutex
	reported := 0 // times the poison message was named a batch item failure
	var poisonID string
	p := *s.Pipeline
	p.LearningRate = 0 // no discount: exact counts whatever the batching
	learner := stage.Learner{Pipeline: &p, Logger: quiet}
	handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp, err := learner.Handle(ctx, ev)
		mu.Lock()
		defer mu.Unlock()
		for _, f := range resp.BatchItemFailures {
			if f.ItemIdentifier == poisonID {
				reported++
			}
		}
		return resp, err
	}
	q := sqslocal.New(handler, sqslocal.Options{MaxReceiveCount: maxReceives, BatchSize: batchSize})
	evs := outcomeEvents(12, "poison-test")
	require.NoError(t, q.Publish(ctx, evs[:6]))
	mu.Lock()
	poisonID = q.SendRaw(`{"eventId": "not-a-uuid", "provider": ""}`)
	mu.Unlock()
	require.NoError(t, q.Publish(ctx, evs[6:]))

	stats, err := q.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, maxReceives, reported, "reported on every receive")
	dead := q.DeadLetters()
	require.Len(t, dead, 1)
	require.Equal(t, poisonID, dead[0].MessageId)
	require.Equal(t, fmt.Sprint(maxReceives), dead[0].Attributes["ApproximateReceiveCount"])
	require.Equal(t, len(evs), stats.Deleted)
	rows, unfolded := feedbackRows(t, s)
	require.Equal(t, len(evs), rows)
	require.Zero(t, unfolded)
	before := attributeTable(t, s)
	require.Equal(t, attrStat{passes: 8, failures: 4}, before["golden hour"])

	// The same event ids again: nothing new is stored or folded.
	require.NoError(t, q.Publish(ctx, evs))
	_, err = q.Drain(ctx)
	require.NoError(t, err)
	rows, _ = feedbackRows(t, s)
	require.Equal(t, len(evs), rows)
	require.Equal(t, before, attributeTable(t, s))
}

// dyingStore kills the learner (a panic, as when Lambda's process dies or
// times out) at one point of its work, once.
type dyingStore struct {
	generation.Store
	at   string // "before insert", "after insert", "after fold"
	mu   *sync.Mutex
	died *bool
}

func (d dyingStore) die(point string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at == point && !*d.died {
		*d.died = true
		panic("learner killed " + point)
	}
}

func (d dyingStore) InsertFeedback(ctx context.Context, evs []generation.FeedbackEvent) (int, error) {
	d.die("before insert")
	n, err := d.Store.InsertFeedback(ctx, evs)
	d.die("after insert")
	return n, err
}

func (d dyingStore) FoldFeedback(ctx context.Context, discount float64) (int, error) {
	n, err := d.Store.FoldFeedback(ctx, discount)
	d.die("after fold")
	return n, err
}

// A learner that dies anywhere in a batch loses nothing and counts nothing
// twice: the batch comes back, stored rows are not stored again, and
// unfolded rows are folded by the next run.
func TestLearnerDyingMidBatchLosesNothing(t *testing.T) {
	t.Parallel()
	for _, point := range []string{"before insert", "after insert", "after fold"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			s := stacktest.New(t)
			ctx := t.Context()
			died := false
			p := *s.Pipeline
			p.LearningRate = 0 // no discount: the totals do not depend on how folds are grouped
			p.Store = dyingStore{Store: s.Store, at: point, mu: &sync.Mutex{}, died: &died}
			q := sqslocal.New(stage.Learner{Pipeline: &p, Logger: quiet}.Handle, sqslocal.Options{BatchSize: 10})
			evs := outcomeEvents(25, "dying-"+point)
			require.NoError(t, q.Publish(ctx, evs))
			stats, err := q.Drain(ctx)
			require.NoError(t, err)
			require.True(t, died, "the learner was killed")
			require.Equal(t, 1, stats.HandlerErrors)
			require.Equal(t, 10, stats.Redelivered, "the whole batch came back")
			require.Empty(t, q.DeadLetters())

			rows, unfolded := feedbackRows(t, s)
			require.Equal(t, len(evs), rows, "every event stored once")
			require.Zero(t, unfolded, "every row folded")
			got := attributeTable(t, s)
			require.Equal(t, attrStat{passes: 16, failures: 9}, got["golden hour"], "each outcome counted exactly once")
			require.Equal(t, attrStat{passes: 8, failures: 5}, got["modifier 0"])
			require.Equal(t, attrStat{passes: 8, failures: 4}, got["modifier 1"])
		})
	}
}
