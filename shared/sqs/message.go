// Package sqs adapts Amazon SQS: Publisher sends feedback events to the
// learner's queue. The message encoding is exported so that the local
// stand-in (infra/local/sqslocal) delivers byte-identical messages.
package sqs

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

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

// Message is one encoded event: the body and attributes SQS is sent.
type Message struct {
	EventID string
	Body    string
	Attrs   map[string]string // String attributes; empty values are left out (SQS rejects them)
	Size    int
}

// Encode turns an event into its message body and attributes. An event too
// large for SQS is ETOOLARGE.
func Encode(e generation.FeedbackEvent) (Message, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return Message{}, fmt.Errorf("encode feedback event %s: %w", e.EventID, err)
	}
	m := Message{EventID: e.EventID, Body: sqsText(string(body)), Attrs: map[string]string{}}
	for name, value := range map[string]string{AttrFeedbackType: string(e.Type), AttrProvider: e.Provider} {
		if value != "" {
			m.Attrs[name] = sqsText(value)
		}
	}
	m.Size = messageSize(m.Body, m.Attrs)
	if m.Size > maxMessageBytes {
		return Message{}, generation.Errorf(generation.ETOOLARGE,
			"feedback event %s is %d bytes, more than the %d an SQS message holds", e.EventID, m.Size, maxMessageBytes)
	}
	return m, nil
}

// EncodeAll encodes every event; the first that cannot be sent fails them all.
func EncodeAll(evs []generation.FeedbackEvent) ([]Message, error) {
	msgs := make([]Message, 0, len(evs))
	for _, e := range evs {
		m, err := Encode(e)
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

// sqsText replaces every character SQS refuses in a message with U+FFFD.
// SQS accepts only #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD |
// #x10000–#x10FFFF and rejects the whole batch otherwise; free text (a
// user's prompt, a provider's reason) can hold anything, e.g. U+FFFE. In a
// JSON body encoding/json has already escaped control characters and
// replaced invalid UTF-8, so what is left to replace is U+FFFE and U+FFFF,
// and replacing them leaves the JSON valid.
func sqsText(s string) string {
	ok := func(r rune) bool {
		return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
	}
	clean := utf8.ValidString(s)
	for _, r := range s {
		if !ok(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if ok(r) {
			return r
		}
		return utf8.RuneError
	}, s)
}
