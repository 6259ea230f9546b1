package sqslocal_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sqslocal"
	"github.com/designerbff/pipeline/shared/generation"
)

// learner is a test handler shaped like the learner Lambda. It names each
// record by its event's Prompt ("e<i>"), or by its raw body when the body is
// not an event, and fails the records and calls the test asks it to.
type learner struct {
	failLabel func(label string) bool // report as a BatchItemFailure
	failCall  func(call int) error    // fail the whole call (1-based)
	badID     bool                    // name a message id not in the batch, on call 1

	mu        sync.Mutex
	batches   [][]string     // labels per call
	receives  map[string]int // label → times delivered
	processed map[string]int // label → times processed successfully
	records   []events.SQSMessage
}

func label(body string) string {
	var ev generation.FeedbackEvent
	if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.Validate() != nil {
		return body
	}
	return ev.Prompt
}

func (l *learner) handle(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	call := len(l.batches) + 1
	var labels []string
	for _, r := range ev.Records {
		labels = append(labels, label(r.Body))
		l.receives[label(r.Body)]++
		l.records = append(l.records, r)
	}
	l.batches = append(l.batches, labels)
	if l.failCall != nil {
		if err := l.failCall(call); err != nil {
			return events.SQSEventResponse{}, err
		}
	}
	if l.badID && call == 1 {
		return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-in-batch"}}}, nil
	}
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		if l.failLabel != nil && l.failLabel(label(r.Body)) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			continue
		}
		l.processed[label(r.Body)]++
	}
	return resp, nil
}

func labels(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func TestLocal_Drain(t *testing.T) {
	t.Parallel()
	e := labels("e", 23)
	tests := []struct {
		name        string
		opts        sqslocal.Options
		events      int
		raw         []string
		learner     *learner
		wantBatches [][]string
		wantDead    []string
		wantStats   sqslocal.DrainStats
	}{
		{
			name: "OrderAndBatchSize", events: 23, learner: &learner{},
			wantBatches: [][]string{e[:10], e[10:20], e[20:23]},
			wantStats:   sqslocal.DrainStats{Batches: 3, Received: 23, Deleted: 23},
		},
		{
			name: "SmallerBatches", events: 5, opts: sqslocal.Options{BatchSize: 2}, learner: &learner{},
			wantBatches: [][]string{e[:2], e[2:4], e[4:5]},
			wantStats:   sqslocal.DrainStats{Batches: 3, Received: 5, Deleted: 5},
		},
		{
			name: "FailingMessageDeadLettered", events: 3,
			learner: &learner{failLabel: func(l string) bool { return l == "e1" }},
			wantBatches: [][]string{
				{"e0", "e1", "e2"}, {"e1"}, {"e1"}, {"e1"}, {"e1"}, // 5 receives, the default MaxReceiveCount
			},
			wantDead:  []string{"e1"},
			wantStats: sqslocal.DrainStats{Batches: 5, Received: 7, Deleted: 2, Redelivered: 4, DeadLettered: 1},
		},
		{
			name: "HandlerErrorRedeliversWholeBatch", events: 4, opts: sqslocal.Options{BatchSize: 3},
			learner: &learner{failCall: func(call int) error {
				if call == 1 {
					return errors.New("database down")
				}
				return nil
			}},
			// The failed batch goes behind e3, which was waiting.
			wantBatches: [][]string{{"e0", "e1", "e2"}, {"e3", "e0", "e1"}, {"e2"}},
			wantStats:   sqslocal.DrainStats{Batches: 3, Received: 7, Deleted: 4, Redelivered: 3, HandlerErrors: 1},
		},
		{
			name: "PanicIsAnError", events: 2,
			learner: &learner{failCall: func(call int) error {
				if call == 1 {
					panic("nil map")
				}
				return nil
			}},
			wantBatches: [][]string{{"e0", "e1"}, {"e0", "e1"}},
			wantStats:   sqslocal.DrainStats{Batches: 2, Received: 4, Deleted: 2, Redelivered: 2, HandlerErrors: 1},
		},
		{
			name: "UnknownItemIdentifierFailsBatch", events: 2, learner: &learner{badID: true},
			wantBatches: [][]string{{"e0", "e1"}, {"e0", "e1"}},
			wantStats:   sqslocal.DrainStats{Batches: 2, Received: 4, Deleted: 2, Redelivered: 2, HandlerErrors: 1},
		},
		{
			name: "PoisonRawMessage", events: 1, raw: []string{"{not json"},
			opts:        sqslocal.Options{MaxReceiveCount: 2},
			learner:     &learner{failLabel: func(l string) bool { return l == "{not json" }},
			wantBatches: [][]string{{"e0", "{not json"}, {"{not json"}},
			wantDead:    []string{"{not json"},
			wantStats:   sqslocal.DrainStats{Batches: 2, Received: 3, Deleted: 1, Redelivered: 1, DeadLettered: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := tt.learner
			l.receives, l.processed = map[string]int{}, map[string]int{}
			q := sqslocal.New(l.handle, tt.opts)
			require.NoError(t, q.Publish(t.Context(), fakeEvents(tt.events, 0)))
			for _, body := range tt.raw {
				require.True(t, generation.IsUUID(q.SendRaw(body)))
			}

			stats, err := q.Drain(t.Context())
			require.NoError(t, err)
			require.Equal(t, tt.wantStats, stats)
			require.Equal(t, tt.wantBatches, l.batches)
			require.Zero(t, q.Len())

			var dead []string
			for _, m := range q.DeadLetters() {
				dead = append(dead, label(m.Body))
				maxReceives := tt.opts.MaxReceiveCount
				if maxReceives == 0 {
					maxReceives = 5
				}
				require.Equal(t, strconv.Itoa(maxReceives), m.Attributes["ApproximateReceiveCount"])
			}
			require.Equal(t, tt.wantDead, dead)

			// Everything not dead was processed exactly once.
			for _, lbl := range append(labels("e", tt.events), tt.raw...) {
				want := 1
				for _, d := range tt.wantDead {
					if d == lbl {
						want = 0
					}
				}
				require.Equal(t, want, l.processed[lbl], "processed %s", lbl)
			}
		})
	}
}

func TestLocal_Records(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	l := &learner{
		receives: map[string]int{}, processed: map[string]int{},
		failCall: func(call int) error {
			if call == 1 {
				return errors.New("retry me")
			}
			return nil
		},
	}
	q := sqslocal.New(l.handle, sqslocal.Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	evs := fakeEvents(2, 0)
	require.NoError(t, q.Publish(t.Context(), evs))
	_, err := q.Drain(t.Context())
	require.NoError(t, err)
	require.Len(t, l.records, 4)

	tests := []struct {
		name         string
		record       events.SQSMessage
		event        generation.FeedbackEvent
		wantReceives string
		wantSent     time.Time
		wantFirst    time.Time
	}{
		{name: "FirstReceive", record: l.records[0], event: evs[0], wantReceives: "1", wantSent: now.Add(time.Second), wantFirst: now.Add(3 * time.Second)},
		{name: "SecondEventFirstReceive", record: l.records[1], event: evs[1], wantReceives: "1", wantSent: now.Add(2 * time.Second), wantFirst: now.Add(3 * time.Second)},
		{name: "Redelivery", record: l.records[2], event: evs[0], wantReceives: "2", wantSent: now.Add(time.Second), wantFirst: now.Add(3 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.record
			var got generation.FeedbackEvent
			require.NoError(t, json.Unmarshal([]byte(r.Body), &got))
			require.Equal(t, tt.event, got)
			sum := md5.Sum([]byte(r.Body))
			require.Equal(t, hex.EncodeToString(sum[:]), r.Md5OfBody)
			require.True(t, generation.IsUUID(r.MessageId))
			require.NotEmpty(t, r.ReceiptHandle)
			require.Equal(t, "aws:sqs", r.EventSource)
			require.Equal(t, sqslocal.QueueARN, r.EventSourceARN)
			require.Equal(t, tt.wantReceives, r.Attributes["ApproximateReceiveCount"])
			require.Equal(t, strconv.FormatInt(tt.wantSent.UnixMilli(), 10), r.Attributes["SentTimestamp"])
			require.Equal(t, strconv.FormatInt(tt.wantFirst.UnixMilli(), 10), r.Attributes["ApproximateFirstReceiveTimestamp"])
			require.Equal(t, "String", r.MessageAttributes["feedbackType"].DataType)
			require.Equal(t, string(tt.event.Type), *r.MessageAttributes["feedbackType"].StringValue)
			require.Equal(t, tt.event.Provider, *r.MessageAttributes["provider"].StringValue)
		})
	}
	// A redelivery keeps the message id and gets a new receipt handle.
	require.Equal(t, l.records[0].MessageId, l.records[2].MessageId)
	require.NotEqual(t, l.records[0].ReceiptHandle, l.records[2].ReceiptHandle)
}

func TestLocal_Errors(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		run      func(q *sqslocal.Queue) error
		wantErr  string
		wantCode string
	}{
		{
			name:    "DrainCancelled",
			run:     func(q *sqslocal.Queue) error { _, err := q.Drain(cancelled); return err },
			wantErr: "context canceled",
		},
		{
			name:    "PublishCancelled",
			run:     func(q *sqslocal.Queue) error { return q.Publish(cancelled, fakeEvents(1, 0)) },
			wantErr: "context canceled",
		},
		{
			name:     "PublishTooLarge",
			run:      func(q *sqslocal.Queue) error { return q.Publish(context.Background(), fakeEvents(1, 300_000)) },
			wantCode: generation.ETOOLARGE,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := &learner{receives: map[string]int{}, processed: map[string]int{}}
			q := sqslocal.New(l.handle, sqslocal.Options{})
			q.SendRaw("waiting")
			err := tt.run(q)
			require.Error(t, err)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			}
			if tt.wantCode != "" {
				require.Equal(t, tt.wantCode, generation.ErrorCode(err))
			}
			require.Empty(t, l.batches, "nothing is delivered")
			require.Equal(t, 1, q.Len())
		})
	}
}

// fakeEvents returns n events that pass Validate, labelled by their
// Prompt "e<i>" plus padding bytes of filler (to size them).
func fakeEvents(n, padding int) []generation.FeedbackEvent {
	evs := make([]generation.FeedbackEvent, n)
	for i := range evs {
		id := strconv.Itoa(i)
		evs[i] = generation.FeedbackEvent{
			EventID: generation.EventID("sqslocal-test", id), GenerationID: generation.EventID("generation", id),
			Provider: "procedural", Type: generation.FeedbackSelected, Source: generation.SourceGeneration,
			Prompt: "e" + id + strings.Repeat(" ", padding),
		}
	}
	return evs
}
