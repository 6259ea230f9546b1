// Package queue carries feedback events to the learner: SQSPublisher sends
// them to SQS in AWS, and Local hands them to the learner's handler in-process
// with SQS's batch, redelivery and dead-letter behaviour.
package queue

import (
	"encoding/json"
	"fmt"

	"github.com/designerbff/pipeline/shared/generation"
)

// Message attribute names set on every feedback message, so consumers and
// subscription filters can route without parsing the body.
const (
	AttrFeedbackType = "feedbackType"
	AttrProvider     = "provider"
)

// SQS limits: a batch holds at most 10 entries and 256 KiB in total, and one
// message (body plus attributes) at most 256 KiB.
const (
	maxBatchEntries = 10
	maxMessageBytes = 256 << 10
	maxBatchBytes   = 256 << 10
)

// message is one encoded event.
type message struct {
	eventID string
	body    string
	attrs   map[string]string // String attributes; empty values are left out (SQS rejects them)
	size    int
}

// encode turns an event into its message body and attributes. An event too
// large for SQS is ETOOLARGE.
func encode(e generation.FeedbackEvent) (message, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return message{}, fmt.Errorf("encode feedback event %s: %w", e.EventID, err)
	}
	m := message{eventID: e.EventID, body: string(body), attrs: map[string]string{}}
	for name, value := range map[string]string{AttrFeedbackType: string(e.Type), AttrProvider: e.Provider} {
		if value != "" {
			m.attrs[name] = value
		}
	}
	m.size = messageSize(m.body, m.attrs)
	if m.size > maxMessageBytes {
		return message{}, generation.Errorf(generation.ETOOLARGE,
			"feedback event %s is %d bytes, more than the %d an SQS message holds", e.EventID, m.size, maxMessageBytes)
	}
	return m, nil
}

func encodeAll(evs []generation.FeedbackEvent) ([]message, error) {
	msgs := make([]message, 0, len(evs))
	for _, e := range evs {
		m, err := encode(e)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// messageSize counts what SQS counts: the body and each attribute's name,
// data type and value.
func messageSize(body string, attrs map[string]string) int {
	n := len(body)
	for name, value := range attrs {
		n += len(name) + len("String") + len(value)
	}
	return n
}
