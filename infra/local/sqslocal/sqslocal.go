// Package sqslocal is an in-process stand-in for the feedback queue and its
// Lambda event source mapping, with SQS's batches, partial batch failures,
// redelivery and dead letters; the messages are shared/sqs's encoding.
package sqslocal

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/sqs"
)

// QueueARN is the EventSourceARN of records from a local queue.
const QueueARN = "arn:aws:sqs:us-east-1:000000000000:feedback-local"

// Handler has the shape of the learner Lambda with ReportBatchItemFailures.
type Handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Options tune a local queue. Zero values take the defaults.
type Options struct {
	// BatchSize is the most records per handler call (default 10, as the
	// SAM SQS event's BatchSize).
	BatchSize int
	// MaxReceiveCount is how many receives a message gets before it moves to
	// the dead letters (default 5, as the queue's RedrivePolicy).
	MaxReceiveCount int
	// Now stamps SentTimestamp and receive timestamps (default time.Now).
	Now func() time.Time
	// Logger receives handler failures (default: discarded).
	Logger *slog.Logger
}

// DrainStats count what one Drain did.
type DrainStats struct {
	Batches       int // handler calls
	Received      int // records delivered, redeliveries included
	Deleted       int // records the handler processed
	Redelivered   int // records put back after a failure
	DeadLettered  int // records moved to the dead letters
	HandlerErrors int // calls that returned an error (or panicked)
}

// Queue is an in-process stand-in for the feedback queue and its Lambda event
// source mapping. Publish only enqueues; Drain delivers, the way the event
// source polls the queue apart from the sender. A record the handler names in
// BatchItemFailures (or every record of a call that fails) comes back with
// ApproximateReceiveCount+1, behind what was waiting; after MaxReceiveCount
// receives it moves to the dead letters. It is safe for concurrent use.
//
// Not modelled: visibility timeouts (redelivery is immediate), message
// attribute MD5s, FIFO queues.
type Queue struct {
	handler Handler
	opts    Options

	mu      sync.Mutex
	waiting []*localMessage
	dead    []events.SQSMessage
}

type localMessage struct {
	record       events.SQSMessage // without receive-specific fields
	receives     int
	firstReceive time.Time
}

var _ generation.Publisher = (*Queue)(nil)

// New returns an empty queue delivering to handler.
func New(handler Handler, opts Options) *Queue {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 10
	}
	if opts.MaxReceiveCount <= 0 {
		opts.MaxReceiveCount = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Queue{handler: handler, opts: opts}
}

// Publish enqueues one message per event, with the same body and attributes
// sqs.Publisher sends. It does not call the handler; Drain does.
func (q *Queue) Publish(ctx context.Context, evs []generation.FeedbackEvent) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish feedback: %w", err)
	}
	msgs, err := sqs.EncodeAll(evs)
	if err != nil {
		return fmt.Errorf("publish feedback: %w", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range msgs {
		q.enqueue(m.Body, m.Attrs)
	}
	return nil
}

// SendRaw enqueues a message with any body (a poison message, say) and no
// attributes, and returns its message id.
func (q *Queue) SendRaw(body string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.enqueue(body, nil)
}

func (q *Queue) enqueue(body string, attrs map[string]string) string {
	sum := md5.Sum([]byte(body))
	rec := events.SQSMessage{
		MessageId: generation.NewID(),
		Body:      body,
		Md5OfBody: hex.EncodeToString(sum[:]),
		Attributes: map[string]string{
			"SentTimestamp": millis(q.opts.Now()),
			"SenderId":      "local",
		},
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSource:       "aws:sqs",
		EventSourceARN:    QueueARN,
		AWSRegion:         "us-east-1",
	}
	for name, value := range attrs {
		rec.MessageAttributes[name] = events.SQSMessageAttribute{
			DataType:         "String",
			StringValue:      &value,
			StringListValues: []string{},
			BinaryListValues: [][]byte{},
		}
	}
	q.waiting = append(q.waiting, &localMessage{record: rec})
	return rec.MessageId
}

// Drain delivers batches to the handler until the queue is empty. Handler
// failures are not errors of Drain (they lead to redelivery and are counted
// and logged); Drain fails only when ctx ends.
func (q *Queue) Drain(ctx context.Context) (DrainStats, error) {
	var stats DrainStats
	if q.handler == nil {
		return stats, errors.New("drain local queue: no handler")
	}
	for {
		if err := ctx.Err(); err != nil {
			return stats, fmt.Errorf("drain local queue: %w", err)
		}
		batch := q.receive()
		if len(batch) == 0 {
			return stats, nil
		}
		stats.Batches++
		stats.Received += len(batch)
		failed, err := q.deliver(ctx, batch)
		if err != nil {
			stats.HandlerErrors++
			q.opts.Logger.WarnContext(ctx, "feedback handler failed; redelivering the batch", "records", len(batch), "err", err)
		}
		q.settle(batch, failed, &stats)
	}
}

// DeadLetters returns the messages that ran out of receives, oldest first,
// as last delivered.
func (q *Queue) DeadLetters() []events.SQSMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.dead)
}

// Len returns how many messages wait for delivery.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}

type received struct {
	msg    *localMessage
	record events.SQSMessage
}

// receive takes the next batch off the queue and stamps it as SQS does on
// each receive.
func (q *Queue) receive() []received {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(q.opts.BatchSize, len(q.waiting))
	batch := make([]received, 0, n)
	now := q.opts.Now()
	for _, m := range q.waiting[:n] {
		m.receives++
		if m.receives == 1 {
			m.firstReceive = now
		}
		rec := m.record
		rec.ReceiptHandle = generation.NewID()
		rec.Attributes = map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(m.receives),
			"ApproximateFirstReceiveTimestamp": millis(m.firstReceive),
		}
		for k, v := range m.record.Attributes {
			rec.Attributes[k] = v
		}
		batch = append(batch, received{msg: m, record: rec})
	}
	q.waiting = slices.Delete(q.waiting, 0, n)
	return batch
}

// deliver calls the handler with the batch as Lambda would: through JSON, so
// the handler sees exactly what it decodes in AWS and cannot alias our
// state. It returns the message ids to redeliver. As in Lambda, an error, a
// panic, or a failure naming a record not in the batch fails the whole batch.
func (q *Queue) deliver(ctx context.Context, batch []received) (failed map[string]bool, err error) {
	all := make(map[string]bool, len(batch))
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(batch))}
	for _, r := range batch {
		all[r.record.MessageId] = true
		ev.Records = append(ev.Records, r.record)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return all, fmt.Errorf("encode sqs event: %w", err)
	}
	var decoded events.SQSEvent
	if err := json.Unmarshal(payload, &decoded); err != nil {
		return all, fmt.Errorf("decode sqs event: %w", err)
	}

	resp, err := q.call(ctx, decoded)
	if err != nil {
		return all, err
	}
	failed = map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !all[f.ItemIdentifier] {
			return all, fmt.Errorf("batch item failure names unknown message %q", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

// call runs the handler, turning a panic into an error as the Lambda runtime
// does.
func (q *Queue) call(ctx context.Context, ev events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return q.handler(ctx, ev)
}

// settle deletes processed records and puts failed ones back at the end of
// the queue, or into the dead letters once they have had MaxReceiveCount
// receives.
func (q *Queue) settle(batch []received, failed map[string]bool, stats *DrainStats) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, r := range batch {
		switch {
		case !failed[r.record.MessageId]:
			stats.Deleted++
		case r.msg.receives >= q.opts.MaxReceiveCount:
			dead := r.record
			dead.ReceiptHandle = ""
			q.dead = append(q.dead, dead)
			stats.DeadLettered++
		default:
			q.waiting = append(q.waiting, r.msg)
			stats.Redelivered++
		}
	}
}

func millis(t time.Time) string {
	return strconv.FormatInt(t.UnixMilli(), 10)
}
