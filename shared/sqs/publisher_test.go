package sqs_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/sqs"
)

const queueURL = "https://sqs.us-east-1.amazonaws.com/000000000000/feedback"

// fakeEvents returns n valid events whose Prompt is "e<i>" plus padding
// bytes of filler, so tests can tell them apart and size them.
func fakeEvents(n, padding int) []generation.FeedbackEvent {
	evs := make([]generation.FeedbackEvent, n)
	score, passed := 91.5, true
	for i := range evs {
		evs[i] = generation.FeedbackEvent{
			EventID:      generation.EventID("queue-test", fmt.Sprint(i)),
			GenerationID: generation.EventID("generation", fmt.Sprint(i/4)),
			CandidateID:  generation.EventID("candidate", fmt.Sprint(i)),
			Provider:     "procedural",
			Model:        "procedural-v1",
			Type:         generation.FeedbackSelected,
			Source:       generation.SourceGeneration,
			QualityScore: &score,
			Passed:       &passed,
			Positive:     true,
			Weight:       1,
			Prompt:       fmt.Sprintf("e%d", i) + strings.Repeat(" ", padding),
			Modifiers:    []string{"minimal", "dark"},
			Metadata:     map[string]any{"round": 1.0},
			CreatedAt:    time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		}
	}
	return evs
}

// failure is how the fake answers one event's entry.
type failure struct {
	times       int // how many sends fail; -1 for all
	senderFault bool
	code        string
}

type sentEntry struct {
	event generation.FeedbackEvent
	attrs map[string]string
}

// sqsFake speaks the SQS JSON protocol for SendMessageBatch. It records each
// call's entries decoded back to events and any protocol violation.
type sqsFake struct {
	failures     map[string]*failure // by event id
	queueMissing bool

	mu       sync.Mutex
	calls    [][]sentEntry
	accepted []generation.FeedbackEvent // decoded from the bodies SQS took
	problems []string
}

type wireAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue"`
}

type wireEntry struct {
	ID                string              `json:"Id"`
	MessageBody       string              `json:"MessageBody"`
	MessageAttributes map[string]wireAttr `json:"MessageAttributes"`
}

type wireSuccess struct {
	ID               string `json:"Id"`
	MessageID        string `json:"MessageId"`
	MD5OfMessageBody string `json:"MD5OfMessageBody"`
}

type wireFailure struct {
	ID          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message"`
}

func (f *sqsFake) problem(w http.ResponseWriter, format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = fmt.Fprintf(w, `{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":%q}`, fmt.Sprintf(format, args...))
}

func (f *sqsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := r.Header.Get("X-Amz-Target"); got != "AmazonSQS.SendMessageBatch" {
		f.problem(w, "X-Amz-Target %q", got)
		return
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.0" {
		f.problem(w, "Content-Type %q", got)
		return
	}
	var in struct {
		QueueURL string      `json:"QueueUrl"`
		Entries  []wireEntry `json:"Entries"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.problem(w, "decode request: %v", err)
		return
	}
	if in.QueueURL != queueURL {
		f.problem(w, "QueueUrl %q", in.QueueURL)
		return
	}
	if f.queueMissing {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`))
		return
	}
	if len(in.Entries) == 0 || len(in.Entries) > 10 {
		f.problem(w, "%d entries", len(in.Entries))
		return
	}

	var out struct {
		Successful []wireSuccess `json:"Successful"`
		Failed     []wireFailure `json:"Failed"`
	}
	var call []sentEntry
	seen := map[string]bool{}
	for _, e := range in.Entries {
		if seen[e.ID] {
			f.problem(w, "entry id %q repeated", e.ID)
			return
		}
		seen[e.ID] = true
		var ev generation.FeedbackEvent
		if err := json.Unmarshal([]byte(e.MessageBody), &ev); err != nil {
			f.problem(w, "entry %s body: %v", e.ID, err)
			return
		}
		attrs := map[string]string{}
		for name, a := range e.MessageAttributes {
			if a.DataType != "String" {
				f.problem(w, "attribute %s type %q", name, a.DataType)
				return
			}
			attrs[name] = a.StringValue
		}
		call = append(call, sentEntry{event: ev, attrs: attrs})

		if fl := f.failures[ev.EventID]; fl != nil && fl.times != 0 {
			fl.times--
			out.Failed = append(out.Failed, wireFailure{ID: e.ID, SenderFault: fl.senderFault, Code: fl.code, Message: "injected"})
			continue
		}
		f.accepted = append(f.accepted, ev)
		sum := md5.Sum([]byte(e.MessageBody))
		out.Successful = append(out.Successful, wireSuccess{ID: e.ID, MessageID: generation.NewID(), MD5OfMessageBody: hex.EncodeToString(sum[:])})
	}
	f.calls = append(f.calls, call)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func TestSQSPublisher_Publish(t *testing.T) {
	t.Parallel()
	evs := fakeEvents(23, 0)
	big := fakeEvents(10, 30_000) // ~30 KB each: 8 fit in 256 KiB
	tests := []struct {
		name          string
		events        []generation.FeedbackEvent
		failures      map[string]*failure
		queueMissing  bool
		wantCallSizes []int
		wantSent      []generation.FeedbackEvent // accepted by SQS, in order
		wantErr       []string                   // substrings of the error
		wantCode      string
	}{
		{name: "BatchesOfTen", events: evs, wantCallSizes: []int{10, 10, 3}, wantSent: evs},
		{name: "Empty", events: nil, wantCallSizes: nil},
		{name: "SplitBySize", events: big, wantCallSizes: []int{8, 2}, wantSent: big},
		{
			name: "TransientFailureRetried", events: evs[:3],
			failures:      map[string]*failure{evs[1].EventID: {times: 1, code: "InternalError"}},
			wantCallSizes: []int{3, 1},
			wantSent:      []generation.FeedbackEvent{evs[0], evs[2], evs[1]},
		},
		{
			name: "SenderFaultNotRetried", events: evs[:3],
			failures:      map[string]*failure{evs[2].EventID: {times: -1, senderFault: true, code: "InvalidParameterValue"}},
			wantCallSizes: []int{3},
			wantSent:      evs[:2],
			wantErr:       []string{"1 of 3 events not sent", evs[2].EventID, "InvalidParameterValue"},
		},
		{
			name: "RetriesExhausted", events: evs[:12],
			failures:      map[string]*failure{evs[0].EventID: {times: -1, code: "ServiceUnavailable"}},
			wantCallSizes: []int{10, 1, 1, 1, 2},
			wantSent:      evs[1:12],
			wantErr:       []string{evs[0].EventID, "ServiceUnavailable"},
		},
		{
			name: "QueueMissing", events: evs[:2], queueMissing: true,
			wantErr: []string{"QueueDoesNotExist", evs[0].EventID, evs[1].EventID},
		},
		{
			name: "TooLarge", events: fakeEvents(1, 300_000),
			wantErr: []string{"more than the 262144"}, wantCode: generation.ETOOLARGE,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &sqsFake{failures: tt.failures, queueMissing: tt.queueMissing}
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			client := awssqs.New(awssqs.Options{
				BaseEndpoint: aws.String(srv.URL),
				Region:       "us-east-1",
				Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
			})
			pub := sqs.NewPublisher(client, queueURL)
			pub.Backoff = func(int) time.Duration { return 0 }

			err := pub.Publish(t.Context(), tt.events)

			fake.mu.Lock()
			defer fake.mu.Unlock()
			require.Empty(t, fake.problems)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, s := range tt.wantErr {
					require.ErrorContains(t, err, s)
				}
			} else {
				require.NoError(t, err)
			}
			if tt.wantCode != "" {
				require.Equal(t, tt.wantCode, generation.ErrorCode(err))
			}

			var sizes []int
			for _, call := range fake.calls {
				sizes = append(sizes, len(call))
				for _, e := range call {
					require.Equal(t, map[string]string{"feedbackType": string(e.event.Type), "provider": e.event.Provider}, e.attrs)
				}
			}
			if !tt.queueMissing {
				require.Equal(t, tt.wantCallSizes, sizes)
			}
			require.Equal(t, tt.wantSent, fake.accepted)
		})
	}
}
