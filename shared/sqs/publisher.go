package sqs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/netfail"
)

// API is the part of the SQS client the publisher uses.
type API interface {
	SendMessageBatch(ctx context.Context, in *awssqs.SendMessageBatchInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error)
}

// Publisher publishes feedback events to an SQS queue, one JSON event per
// message, in SendMessageBatch calls of at most 10 entries and 256 KiB.
//
// Delivery is at least once: an event may be sent again after a partial
// failure, and the learner stores each EventID once.
type Publisher struct {
	client   API
	queueURL string

	// MaxRetries bounds how often entries that SQS reports as failed through
	// no fault of ours (SenderFault false) are sent again. Default 3.
	MaxRetries int
	// Backoff is the wait before retry n (1-based). Default 100ms·2^(n-1);
	// tests set it to return 0.
	Backoff func(retry int) time.Duration
}

var _ generation.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher to the queue at queueURL.
func NewPublisher(client API, queueURL string) *Publisher {
	return &Publisher{
		client:     client,
		queueURL:   queueURL,
		MaxRetries: 3,
		Backoff:    func(retry int) time.Duration { return 100 * time.Millisecond << (retry - 1) },
	}
}

// Publish sends events. Every batch is attempted; if entries still fail (a
// sender fault, or retries exhausted) the error names their event ids. An
// event too large for SQS is ETOOLARGE and nothing is sent.
func (p *Publisher) Publish(ctx context.Context, evs []generation.FeedbackEvent) error {
	msgs, err := EncodeAll(evs)
	if err != nil {
		return fmt.Errorf("publish feedback: %w", err)
	}
	var failed []string
	senderFault := false
	for _, batch := range batches(msgs) {
		f, fault, err := p.sendBatch(ctx, batch)
		if err != nil {
			return fmt.Errorf("publish feedback: %w", err)
		}
		failed = append(failed, f...)
		senderFault = senderFault || fault
	}
	if len(failed) > 0 {
		err := fmt.Errorf("%d of %d events not sent: %s", len(failed), len(evs), strings.Join(failed, "; "))
		if !senderFault {
			// SQS kept failing on its side: worth another try later.
			err = fmt.Errorf("%w: %w", generation.Errorf(generation.EUNAVAILABLE, "the feedback queue is unavailable"), err)
		}
		return fmt.Errorf("publish feedback: %w", err)
	}
	return nil
}

// batches splits msgs in order into groups within SQS's batch limits.
func batches(msgs []Message) [][]Message {
	var out [][]Message
	var cur []Message
	size := 0
	for _, m := range msgs {
		if len(cur) == maxBatchEntries || (len(cur) > 0 && size+m.Size > maxBatchBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, m)
		size += m.Size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sendBatch sends one batch, resending the entries SQS failed on its side.
// It returns a description of each entry that could not be sent, and
// whether any of them was refused as our fault.
func (p *Publisher) sendBatch(ctx context.Context, batch []Message) ([]string, bool, error) {
	// Entry ids are positions in the batch: event ids could repeat within a
	// batch, which SQS rejects (BatchEntryIdsNotDistinct).
	pending := make(map[string]Message, len(batch))
	for i, m := range batch {
		pending[strconv.Itoa(i)] = m
	}
	var failed []string
	senderFault := false
	for attempt := 0; ; attempt++ {
		out, err := p.client.SendMessageBatch(ctx, p.input(pending))
		if err != nil {
			return nil, false, requestError(err, fmt.Sprintf("send message batch (events %s)", eventIDs(pending)))
		}
		retry := map[string]Message{}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			m, ok := pending[id]
			if !ok {
				return nil, false, fmt.Errorf("send message batch: SQS reported unknown entry %q failed", id)
			}
			if f.SenderFault || attempt >= p.MaxRetries {
				failed = append(failed, describeFailure(m.EventID, f))
				senderFault = senderFault || f.SenderFault
				continue
			}
			retry[id] = m
		}
		if len(retry) == 0 {
			return failed, senderFault, nil
		}
		if err := generation.Sleep(ctx, p.backoff(attempt+1)); err != nil {
			return nil, false, fmt.Errorf("retry events %s: %w", eventIDs(retry), err)
		}
		pending = retry
	}
}

// requestError codes a failed SendMessageBatch call from the SDK's own
// signals: throttling, a 5xx, a timeout or a broken connection is
// EUNAVAILABLE (retrying later may work); any other answer (4xx: access
// denied, no such queue, a malformed request) is a permanent EINTERNAL that
// says what SQS refused, since a retry fails the same way.
func requestError(err error, what string) error {
	if netfail.Transient(err, throttlingCodes) {
		return fmt.Errorf("%s: %w: %w", what, generation.Errorf(generation.EUNAVAILABLE, "the feedback queue is unavailable"), err)
	}
	if a := netfail.AnswerOf(err); a.Status != 0 {
		return fmt.Errorf("%s: %w: %w", what, generation.Errorf(generation.EINTERNAL,
			"the feedback queue refused the messages (HTTP %d %s); check the queue URL and the sqs:SendMessage permission", a.Status, a.Code), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// throttlingCodes are the codes SQS (and KMS, for an encrypted queue) use
// to ask for a slower pace, or to say they failed on their side.
var throttlingCodes = map[string]bool{
	"ThrottlingException": true, "RequestThrottled": true, "AWS.SimpleQueueService.RequestThrottled": true,
	"KmsThrottled": true, "KMS.ThrottlingException": true, "ServiceUnavailable": true,
	"InternalError": true, "InternalFailure": true,
}

func (p *Publisher) input(pending map[string]Message) *awssqs.SendMessageBatchInput {
	in := &awssqs.SendMessageBatchInput{QueueUrl: aws.String(p.queueURL)}
	for i := range maxBatchEntries {
		id := strconv.Itoa(i)
		m, ok := pending[id]
		if !ok {
			continue
		}
		attrs := make(map[string]types.MessageAttributeValue, len(m.Attrs))
		for name, value := range m.Attrs {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
		}
		in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{
			Id:                aws.String(id),
			MessageBody:       aws.String(m.Body),
			MessageAttributes: attrs,
		})
	}
	return in
}

func (p *Publisher) backoff(retry int) time.Duration {
	if p.Backoff == nil {
		return 0
	}
	return p.Backoff(retry)
}

func describeFailure(eventID string, f types.BatchResultErrorEntry) string {
	who := "SQS"
	if f.SenderFault {
		who = "sender"
	}
	return fmt.Sprintf("%s (%s fault, %s: %s)", eventID, who, aws.ToString(f.Code), aws.ToString(f.Message))
}

func eventIDs(pending map[string]Message) string {
	ids := make([]string, 0, len(pending))
	for i := range maxBatchEntries {
		if m, ok := pending[strconv.Itoa(i)]; ok {
			ids = append(ids, m.EventID)
		}
	}
	return strings.Join(ids, ", ")
}
