package queue

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/designerbff/pipeline/shared/generation"
)

// SQSAPI is the part of the SQS client the publisher uses.
type SQSAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// SQSPublisher publishes feedback events to an SQS queue, one JSON event per
// message, in SendMessageBatch calls of at most 10 entries and 256 KiB.
//
// Delivery is at least once: an event may be sent again after a partial
// failure, and the learner stores each EventID once.
type SQSPublisher struct {
	client   SQSAPI
	queueURL string

	// MaxRetries bounds how often entries that SQS reports as failed through
	// no fault of ours (SenderFault false) are sent again. Default 3.
	MaxRetries int
	// Backoff is the wait before retry n (1-based). Default 100ms·2^(n-1);
	// tests set it to return 0.
	Backoff func(retry int) time.Duration
}

var _ generation.Publisher = (*SQSPublisher)(nil)

// NewSQSPublisher returns a publisher to the queue at queueURL.
func NewSQSPublisher(client SQSAPI, queueURL string) *SQSPublisher {
	return &SQSPublisher{
		client:     client,
		queueURL:   queueURL,
		MaxRetries: 3,
		Backoff:    func(retry int) time.Duration { return 100 * time.Millisecond << (retry - 1) },
	}
}

// Publish sends events. Every batch is attempted; if entries still fail (a
// sender fault, or retries exhausted) the error names their event ids. An
// event too large for SQS is ETOOLARGE and nothing is sent.
func (p *SQSPublisher) Publish(ctx context.Context, evs []generation.FeedbackEvent) error {
	msgs, err := encodeAll(evs)
	if err != nil {
		return fmt.Errorf("publish feedback: %w", err)
	}
	var failed []string
	for _, batch := range batches(msgs) {
		f, err := p.sendBatch(ctx, batch)
		if err != nil {
			return fmt.Errorf("publish feedback: %w", err)
		}
		failed = append(failed, f...)
	}
	if len(failed) > 0 {
		return fmt.Errorf("publish feedback: %d of %d events not sent: %s", len(failed), len(evs), strings.Join(failed, "; "))
	}
	return nil
}

// batches splits msgs in order into groups within SQS's batch limits.
func batches(msgs []message) [][]message {
	var out [][]message
	var cur []message
	size := 0
	for _, m := range msgs {
		if len(cur) == maxBatchEntries || (len(cur) > 0 && size+m.size > maxBatchBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, m)
		size += m.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sendBatch sends one batch, resending the entries SQS failed on its side.
// It returns a description of each entry that could not be sent.
func (p *SQSPublisher) sendBatch(ctx context.Context, batch []message) ([]string, error) {
	// Entry ids are positions in the batch: event ids could repeat within a
	// batch, which SQS rejects (BatchEntryIdsNotDistinct).
	pending := make(map[string]message, len(batch))
	for i, m := range batch {
		pending[strconv.Itoa(i)] = m
	}
	var failed []string
	for attempt := 0; ; attempt++ {
		out, err := p.client.SendMessageBatch(ctx, p.input(pending))
		if err != nil {
			return nil, fmt.Errorf("send message batch (events %s): %w", eventIDs(pending), err)
		}
		retry := map[string]message{}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			m, ok := pending[id]
			if !ok {
				return nil, fmt.Errorf("send message batch: SQS reported unknown entry %q failed", id)
			}
			if f.SenderFault || attempt >= p.MaxRetries {
				failed = append(failed, describeFailure(m.eventID, f))
				continue
			}
			retry[id] = m
		}
		if len(retry) == 0 {
			return failed, nil
		}
		if err := wait(ctx, p.backoff(attempt+1)); err != nil {
			return nil, fmt.Errorf("retry events %s: %w", eventIDs(retry), err)
		}
		pending = retry
	}
}

func (p *SQSPublisher) input(pending map[string]message) *sqs.SendMessageBatchInput {
	in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(p.queueURL)}
	for i := range maxBatchEntries {
		id := strconv.Itoa(i)
		m, ok := pending[id]
		if !ok {
			continue
		}
		attrs := make(map[string]types.MessageAttributeValue, len(m.attrs))
		for name, value := range m.attrs {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
		}
		in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{
			Id:                aws.String(id),
			MessageBody:       aws.String(m.body),
			MessageAttributes: attrs,
		})
	}
	return in
}

func (p *SQSPublisher) backoff(retry int) time.Duration {
	if p.Backoff == nil {
		return 0
	}
	return p.Backoff(retry)
}

func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func describeFailure(eventID string, f types.BatchResultErrorEntry) string {
	who := "SQS"
	if f.SenderFault {
		who = "sender"
	}
	return fmt.Sprintf("%s (%s fault, %s: %s)", eventID, who, aws.ToString(f.Code), aws.ToString(f.Message))
}

func eventIDs(pending map[string]message) string {
	ids := make([]string, 0, len(pending))
	for i := range maxBatchEntries {
		if m, ok := pending[strconv.Itoa(i)]; ok {
			ids = append(ids, m.eventID)
		}
	}
	return strings.Join(ids, ", ")
}
