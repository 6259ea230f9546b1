package sfnlocal_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

const sec = time.Second

func TestRetry(t *testing.T) {
	t.Parallel()
	throttled := &ProviderThrottled{Message: "429"}
	tests := []struct {
		name       string
		retry      string
		catch      string // optional Catch array
		fn         sfnlocal.Invoker
		jitter     float64
		wantSleeps []time.Duration
		wantOut    string
		wantErr    string
	}{
		{
			name:       "defaults: 1s interval, backoff 2, then success",
			retry:      `[{"ErrorEquals":["ProviderThrottled"]}]`,
			fn:         failing(throttled, 2),
			wantSleeps: []time.Duration{1 * sec, 2 * sec},
			wantOut:    `{"in":1}`,
		},
		{
			name:       "defaults: three retries then failure",
			retry:      `[{"ErrorEquals":["ProviderThrottled"]}]`,
			fn:         failing(throttled, -1),
			wantSleeps: []time.Duration{1 * sec, 2 * sec, 4 * sec},
			wantErr:    "ProviderThrottled",
		},
		{
			name:       "IntervalSeconds, BackoffRate and MaxAttempts",
			retry:      `[{"ErrorEquals":["ProviderThrottled"],"IntervalSeconds":3,"BackoffRate":1.5,"MaxAttempts":4}]`,
			fn:         failing(throttled, -1),
			wantSleeps: []time.Duration{3 * sec, 4500 * time.Millisecond, 6750 * time.Millisecond, 10125 * time.Millisecond},
			wantErr:    "ProviderThrottled",
		},
		{
			name:       "MaxDelaySeconds caps the backoff",
			retry:      `[{"ErrorEquals":["ProviderThrottled"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":4,"MaxDelaySeconds":10}]`,
			fn:         failing(throttled, -1),
			wantSleeps: []time.Duration{2 * sec, 6 * sec, 10 * sec, 10 * sec},
			wantErr:    "ProviderThrottled",
		},
		{
			name:       "JitterStrategy FULL scales by the jitter source",
			retry:      `[{"ErrorEquals":["ProviderThrottled"],"IntervalSeconds":4,"JitterStrategy":"FULL","MaxAttempts":2}]`,
			fn:         failing(throttled, -1),
			jitter:     0.25,
			wantSleeps: []time.Duration{1 * sec, 2 * sec},
			wantErr:    "ProviderThrottled",
		},
		{
			name:    "MaxAttempts 0 never retries",
			retry:   `[{"ErrorEquals":["ProviderThrottled"],"MaxAttempts":0}]`,
			fn:      failing(throttled, 1),
			wantErr: "ProviderThrottled",
		},
		{
			name:    "non-matching error is not retried",
			retry:   `[{"ErrorEquals":["Other"]}]`,
			fn:      failing(throttled, 1),
			wantErr: "ProviderThrottled",
		},
		{
			name:       "first matching retrier only, even when exhausted",
			retry:      `[{"ErrorEquals":["ProviderThrottled"],"MaxAttempts":1},{"ErrorEquals":["States.ALL"],"MaxAttempts":5,"IntervalSeconds":9}]`,
			fn:         failing(throttled, -1),
			wantSleeps: []time.Duration{1 * sec},
			wantErr:    "ProviderThrottled",
		},
		{
			name:       "States.ALL retries any error",
			retry:      `[{"ErrorEquals":["States.ALL"],"IntervalSeconds":5,"MaxAttempts":1}]`,
			fn:         failing(errors.New("x"), 1),
			wantSleeps: []time.Duration{5 * sec},
			wantOut:    `{"in":1}`,
		},
		{
			name:       "States.TaskFailed retries task errors",
			retry:      `[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}]`,
			fn:         failing(fmt.Errorf("w: %w", throttled), 1),
			wantSleeps: []time.Duration{1 * sec},
			wantOut:    `{"in":1}`,
		},
		{
			name:    "States.TaskFailed does not match States.Timeout",
			retry:   `[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}]`,
			fn:      failing(messages.InvokeResponse_Error{Type: "States.Timeout"}, 1),
			wantErr: sfnlocal.ErrTimeout,
		},
		{
			name:       "each retrier counts its own attempts",
			retry:      `[{"ErrorEquals":["A"],"MaxAttempts":1},{"ErrorEquals":["B"],"MaxAttempts":1,"IntervalSeconds":7}]`,
			fn:         sequence(named("A"), named("B"), named("A")),
			wantSleeps: []time.Duration{1 * sec, 7 * sec},
			wantErr:    "A",
		},
		{
			name:       "exhaustion then Catch",
			retry:      `[{"ErrorEquals":["ProviderThrottled"],"MaxAttempts":2}]`,
			catch:      `[{"ErrorEquals":["ProviderThrottled"],"ResultPath":"$.error","Next":"Handler"}]`,
			fn:         failing(throttled, -1),
			wantSleeps: []time.Duration{1 * sec, 2 * sec},
			wantOut:    `{"in":1,"error":{"Error":"ProviderThrottled","Cause":"{\"errorMessage\":\"429\",\"errorType\":\"ProviderThrottled\"}"},"handled":true}`,
		},
		{
			name:    "States.Runtime is never retried nor caught",
			retry:   `[{"ErrorEquals":["States.ALL"]}]`,
			catch:   `[{"ErrorEquals":["States.ALL"],"Next":"Handler"}]`,
			fn:      fixed(`not json`),
			wantErr: sfnlocal.ErrRuntime,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			catch := ""
			if tt.catch != "" {
				catch = `"Catch":` + tt.catch + `,`
			}
			def := fmt.Sprintf(`{"StartAt":"S","States":{
				"S":{"Type":"Task","Resource":"fn","Retry":%s,%s"End":true},
				"Handler":{"Type":"Pass","Result":true,"ResultPath":"$.handled","End":true}}}`, tt.retry, catch)
			if tt.catch == "" {
				def = fmt.Sprintf(`{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"fn","Retry":%s,"End":true}}}`, tt.retry)
			}
			rec := &recorder{}
			opts := rec.options()
			if tt.jitter != 0 {
				opts = append(opts, sfnlocal.WithJitter(func() float64 { return tt.jitter }))
			}
			m := load(t, def, map[string]sfnlocal.Invoker{"fn": tt.fn}, opts...)
			out, err := m.Execute(context.Background(), "", []byte(`{"in":1}`))
			require.Equal(t, tt.wantSleeps, rec.sleeps)
			if requireOutcome(t, out, err, tt.wantErr, tt.wantOut) {
				return
			}
		})
	}
}

// named is an error whose Step Functions name is set explicitly.
func named(name string) error { return messages.InvokeResponse_Error{Type: name, Message: name} }

// sequence fails with errs in order, then echoes.
func sequence(errs ...error) sfnlocal.Invoker {
	var mu sync.Mutex
	i := 0
	return func(_ context.Context, payload []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if i < len(errs) {
			i++
			return nil, errs[i-1]
		}
		return payload, nil
	}
}

func TestRetryCountInContext(t *testing.T) {
	t.Parallel()
	fn := func(_ context.Context, payload []byte) ([]byte, error) {
		if string(payload) != `{"try":2}` {
			return nil, &ProviderThrottled{Message: string(payload)}
		}
		return payload, nil
	}
	const def = `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"fn",
		"Parameters":{"try.$":"$$.State.RetryCount"},"Retry":[{"ErrorEquals":["States.ALL"]}],"End":true}}}`
	rec := &recorder{}
	m := load(t, def, map[string]sfnlocal.Invoker{"fn": fn}, rec.options()...)
	out, err := m.Execute(context.Background(), "", []byte(`{}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"try":2}`, string(out))
	require.Len(t, rec.sleeps, 2)
}

func TestCatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		catch   string
		input   string
		err     error
		wantOut string
		wantErr string
		wantVia string // the handler state that ran
	}{
		{
			name:    "by error name, first matching catcher wins",
			catch:   `[{"ErrorEquals":["Other"],"Next":"H1"},{"ErrorEquals":["ProviderThrottled"],"Next":"H2"},{"ErrorEquals":["States.ALL"],"Next":"H1"}]`,
			err:     &ProviderThrottled{Message: "slow"},
			wantOut: `{"Error":"ProviderThrottled","Cause":"{\"errorMessage\":\"slow\",\"errorType\":\"ProviderThrottled\"}"}`,
			wantVia: "H2",
		},
		{
			name:    "States.ALL",
			catch:   `[{"ErrorEquals":["Other"],"Next":"H2"},{"ErrorEquals":["States.ALL"],"Next":"H1"}]`,
			err:     errors.New("plain"),
			wantOut: `{"Error":"errorString","Cause":"{\"errorMessage\":\"plain\",\"errorType\":\"errorString\"}"}`,
			wantVia: "H1",
		},
		{
			name:    "States.TaskFailed",
			catch:   `[{"ErrorEquals":["States.TaskFailed"],"Next":"H1"}]`,
			err:     fmt.Errorf("wrapped: %w", errors.New("inner")),
			wantOut: `{"Error":"wrapError","Cause":"{\"errorMessage\":\"wrapped: inner\",\"errorType\":\"wrapError\"}"}`,
			wantVia: "H1",
		},
		{
			name:    "States.TaskFailed does not catch States.Timeout",
			catch:   `[{"ErrorEquals":["States.TaskFailed"],"Next":"H1"}]`,
			err:     messages.InvokeResponse_Error{Type: "States.Timeout"},
			wantErr: sfnlocal.ErrTimeout,
		},
		{
			name:    "no matching catcher fails the execution",
			catch:   `[{"ErrorEquals":["Other"],"Next":"H1"}]`,
			err:     &ProviderThrottled{Message: "slow"},
			wantErr: "ProviderThrottled",
		},
		{
			name:    "ResultPath places the error into the raw input",
			catch:   `[{"ErrorEquals":["States.ALL"],"ResultPath":"$.failure.detail","Next":"H1"}]`,
			input:   `{"id":"c1","failure":{"count":1}}`,
			err:     &ProviderThrottled{Message: "slow"},
			wantOut: `{"id":"c1","failure":{"count":1,"detail":{"Error":"ProviderThrottled","Cause":"{\"errorMessage\":\"slow\",\"errorType\":\"ProviderThrottled\"}"}}}`,
			wantVia: "H1",
		},
		{
			name:    "ResultPath null keeps the raw input",
			catch:   `[{"ErrorEquals":["States.ALL"],"ResultPath":null,"Next":"H1"}]`,
			input:   `{"id":"c1"}`,
			err:     &ProviderThrottled{Message: "slow"},
			wantOut: `{"id":"c1"}`,
			wantVia: "H1",
		},
		{
			name:    "ResultPath that cannot apply fails the execution",
			catch:   `[{"ErrorEquals":["States.ALL"],"ResultPath":"$.e","Next":"H1"}]`,
			input:   `[1,2]`,
			err:     &ProviderThrottled{Message: "slow"},
			wantErr: sfnlocal.ErrResultPathFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			def := fmt.Sprintf(`{"StartAt":"S","States":{
				"S":{"Type":"Task","Resource":"fn","InputPath":"$","Catch":%s,"End":true},
				"H1":{"Type":"Pass","End":true},
				"H2":{"Type":"Pass","End":true}}}`, tt.catch)
			if !strings.Contains(tt.catch, "H2") {
				def = fmt.Sprintf(`{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"fn","Catch":%s,"End":true},"H1":{"Type":"Pass","End":true}}}`, tt.catch)
			}
			input := tt.input
			if input == "" {
				input = `{"ignored":true}`
			}
			rec := &recorder{}
			m := load(t, def, map[string]sfnlocal.Invoker{"fn": failing(tt.err, -1)}, rec.options()...)
			out, err := m.Execute(context.Background(), "", []byte(input))
			if requireOutcome(t, out, err, tt.wantErr, tt.wantOut) {
				require.Equal(t, []string{"S"}, rec.visited(sfnlocal.StateFailed))
				return
			}
			require.Equal(t, []string{"S", tt.wantVia}, rec.visited(sfnlocal.StateEntered))
			require.Equal(t, []string{"S"}, rec.visited(sfnlocal.StateCaught))
		})
	}
}

// expired makes every TimeoutSeconds elapse at once, without waiting.
func expired(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithDeadline(ctx, time.Unix(0, 0))
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	blocking := func(ctx context.Context, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	tests := []struct {
		name    string
		def     string
		wantOut string
		wantErr string
	}{
		{
			name: "task timeout is States.Timeout, caught by name",
			def: `{"StartAt":"S","States":{
				"S":{"Type":"Task","Resource":"fn","TimeoutSeconds":30,
					"Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"Wrong"},{"ErrorEquals":["States.Timeout"],"Next":"Right"}],"End":true},
				"Wrong":{"Type":"Pass","Result":"wrong","End":true},
				"Right":{"Type":"Pass","Result":"right","End":true}}}`,
			wantOut: `"right"`,
		},
		{
			name: "task timeout uncaught",
			def: `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"fn","TimeoutSeconds":30,
				"Retry":[{"ErrorEquals":["States.TaskFailed"]}],"End":true}}}`,
			wantErr: sfnlocal.ErrTimeout,
		},
		{
			name:    "execution timeout",
			def:     `{"StartAt":"S","TimeoutSeconds":60,"States":{"S":{"Type":"Task","Resource":"fn","End":true}}}`,
			wantErr: sfnlocal.ErrTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := load(t, tt.def, map[string]sfnlocal.Invoker{"fn": blocking}, sfnlocal.WithDeadline(expired))
			out, err := m.Execute(context.Background(), "", []byte(`{}`))
			if requireOutcome(t, out, err, tt.wantErr, tt.wantOut) {
				return
			}
		})
	}
}

func TestCancelAborts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	fn := func(context.Context, []byte) ([]byte, error) {
		cancel()
		return nil, &ProviderThrottled{}
	}
	const def = `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"fn",
		"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},
		"H":{"Type":"Pass","End":true}}}`
	m := load(t, def, map[string]sfnlocal.Invoker{"fn": fn})
	_, err := m.Execute(ctx, "", []byte(`{}`))
	require.ErrorIs(t, err, context.Canceled)
	var ee *sfnlocal.ExecutionError
	require.False(t, errors.As(err, &ee), "an abort is not a state failure")
}
