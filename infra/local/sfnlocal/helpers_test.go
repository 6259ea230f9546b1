package sfnlocal_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

// recorder records retry waits and events instead of sleeping.
type recorder struct {
	mu     sync.Mutex
	sleeps []time.Duration
	events []sfnlocal.Event
}

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sleeps = append(r.sleeps, d)
	return nil
}

func (r *recorder) event(e sfnlocal.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) options() []sfnlocal.Option {
	return []sfnlocal.Option{sfnlocal.WithSleep(r.sleep), sfnlocal.WithEvents(r.event)}
}

// visited lists "Kind:State" for top-level events, the path the execution took.
func (r *recorder) visited(kinds ...sfnlocal.EventKind) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		for _, k := range kinds {
			if e.Kind == k && e.Item == -1 {
				out = append(out, e.State)
			}
		}
	}
	return out
}

// ProviderThrottled mimics the handlers' named error types: its Go type name
// is the Step Functions error name.
type ProviderThrottled struct{ Message string }

func (e *ProviderThrottled) Error() string { return e.Message }

// fixed returns an Invoker that always answers with the given JSON.
func fixed(out string) sfnlocal.Invoker {
	return func(context.Context, []byte) ([]byte, error) { return []byte(out), nil }
}

// echo returns its input.
func echo(_ context.Context, payload []byte) ([]byte, error) { return payload, nil }

// failing returns an Invoker failing with err on its first n calls, then
// echoing its input. n < 0 means always.
func failing(err error, n int) sfnlocal.Invoker {
	var mu sync.Mutex
	calls := 0
	return func(_ context.Context, payload []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if n < 0 || calls <= n {
			return nil, err
		}
		return payload, nil
	}
}

func load(t *testing.T, def string, res map[string]sfnlocal.Invoker, opts ...sfnlocal.Option) *sfnlocal.Machine {
	t.Helper()
	m, err := sfnlocal.Load([]byte(def), nil, res, opts...)
	require.NoError(t, err)
	return m
}

// requireExecErr asserts err is an *ExecutionError with the given name.
func requireExecErr(t *testing.T, err error, name string) *sfnlocal.ExecutionError {
	t.Helper()
	var ee *sfnlocal.ExecutionError
	require.True(t, errors.As(err, &ee), "want *ExecutionError, got %v", err)
	require.Equal(t, name, ee.Name, "cause: %s", ee.Cause)
	return ee
}

// requireOutcome asserts how an execution ended: with the error named
// wantErr when that is set (it then reports true, for the caller's checks
// of the failure), else successfully with an output JSON-equal to wantOut.
func requireOutcome(t *testing.T, out []byte, err error, wantErr, wantOut string) (failed bool) {
	t.Helper()
	if wantErr != "" {
		requireExecErr(t, err, wantErr)
		return true
	}
	require.NoError(t, err)
	require.JSONEq(t, wantOut, string(out))
	return false
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
