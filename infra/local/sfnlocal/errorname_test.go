package sfnlocal_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

type valueError struct{}

func (valueError) Error() string { return "value receiver" }

func TestErrorName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "pointer type elided", err: &ProviderThrottled{Message: "429"}, want: "ProviderThrottled"},
		{name: "value type", err: valueError{}, want: "valueError"},
		{name: "errors.New", err: errors.New("boom"), want: "errorString"},
		{name: "wrapped is not unwrapped", err: fmt.Errorf("generate: %w", &ProviderThrottled{}), want: "wrapError"},
		{name: "fmt.Errorf without %w", err: fmt.Errorf("plain %d", 1), want: "errorString"},
		{name: "errors.Join", err: errors.Join(&ProviderThrottled{}, errors.New("x")), want: "joinError"},
		{name: "InvokeResponse_Error sets the name", err: messages.InvokeResponse_Error{Type: "Custom.Name", Message: "m"}, want: "Custom.Name"},
		{name: "pointer InvokeResponse_Error is a plain type, as in aws-lambda-go", err: &messages.InvokeResponse_Error{Type: "Custom.Name"}, want: "InvokeResponse_Error"},
		{name: "context error", err: context.Canceled, want: "errorString"},
		{name: "ExecutionError", err: &sfnlocal.ExecutionError{Name: "X"}, want: "ExecutionError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, sfnlocal.ErrorName(tt.err))
		})
	}
}

// TestErrorNameEndToEnd runs handlers through lambda.NewHandler, as the real
// wiring does, and checks which Retry/Catch clause the error name selects.
func TestErrorNameEndToEnd(t *testing.T) {
	t.Parallel()
	const def = `{
		"StartAt": "Call",
		"States": {
			"Call": {
				"Type": "Task", "Resource": "fn",
				"Retry": [{"ErrorEquals": ["ProviderThrottled"], "MaxAttempts": 2}],
				"Catch": [
					{"ErrorEquals": ["wrapError"], "Next": "Wrapped"},
					{"ErrorEquals": ["Custom.Name"], "Next": "Custom"}
				],
				"End": true
			},
			"Wrapped": {"Type": "Pass", "End": true},
			"Custom": {"Type": "Pass", "End": true}
		}
	}`
	type in struct {
		N int `json:"n"`
	}
	tests := []struct {
		name      string
		handler   any
		wantOut   string
		wantErr   string
		wantSleep int
	}{
		{
			name: "custom type is retried by name then succeeds",
			handler: func() func(context.Context, in) (in, error) {
				calls := 0
				return func(_ context.Context, v in) (in, error) {
					calls++
					if calls <= 2 {
						return in{}, &ProviderThrottled{Message: "slow down"}
					}
					return in{N: v.N + calls}, nil
				}
			}(),
			wantOut:   `{"n":4}`,
			wantSleep: 2,
		},
		{
			name: "custom type exhausted fails the execution with its name",
			handler: func(context.Context, in) (in, error) {
				return in{}, &ProviderThrottled{Message: "slow down"}
			},
			wantErr:   "ProviderThrottled",
			wantSleep: 2,
		},
		{
			name: "wrapped error is named wrapError and caught",
			handler: func(context.Context, in) (in, error) {
				return in{}, fmt.Errorf("generate: %w", &ProviderThrottled{})
			},
			wantOut: `{"Error":"wrapError","Cause":"{\"errorMessage\":\"generate: \",\"errorType\":\"wrapError\"}"}`,
		},
		{
			name: "InvokeResponse_Error type and message",
			handler: func(context.Context, in) (in, error) {
				return in{}, messages.InvokeResponse_Error{Type: "Custom.Name", Message: "explicit"}
			},
			wantOut: `{"Error":"Custom.Name","Cause":"{\"errorMessage\":\"explicit\",\"errorType\":\"Custom.Name\"}"}`,
		},
		{
			name: "bad input JSON surfaces the decoder's error type",
			handler: func(context.Context, struct{ N string }) (in, error) {
				return in{}, nil
			},
			wantErr: "UnmarshalTypeError",
		},
		{
			name: "panic is named after the panic value's type",
			handler: func(context.Context, in) (in, error) {
				panic("kaboom")
			},
			wantErr: "string",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			m := load(t, def, map[string]sfnlocal.Invoker{"fn": lambda.NewHandler(tt.handler).Invoke}, rec.options()...)
			out, err := m.Execute(context.Background(), "e2e", []byte(`{"N":1,"n":1}`))
			require.Len(t, rec.sleeps, tt.wantSleep)
			if requireOutcome(t, out, err, tt.wantErr, tt.wantOut) {
				return
			}
		})
	}
}

// TestLambdaInvokerConcurrent runs one LambdaInvoker from many concurrent Map
// iterations: a shared lambda.Handler would hand out aliased pooled buffers
// here (caught by -race and by wrong results).
func TestLambdaInvokerConcurrent(t *testing.T) {
	t.Parallel()
	type item struct {
		N int `json:"n"`
	}
	fn := sfnlocal.LambdaInvoker(func(_ context.Context, in item) (map[string]int, error) {
		return map[string]int{"square": in.N * in.N}, nil
	})
	m := load(t, mapSpec{mapExtra: `"ItemSelector":{"n.$":"$$.Map.Item.Value"},`}.def(), map[string]sfnlocal.Invoker{"fn": fn})
	items := make([]int, 64)
	want := make([]map[string]int, len(items))
	for i := range items {
		items[i] = i
		want[i] = map[string]int{"square": i * i}
	}
	out, err := m.Execute(context.Background(), "", []byte(mustJSON(t, map[string]any{"items": items})))
	require.NoError(t, err)
	require.JSONEq(t, mustJSON(t, want), string(out))
}
