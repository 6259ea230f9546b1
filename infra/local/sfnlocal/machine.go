// Package sfnlocal is a local interpreter for the subset of the Amazon
// States Language (JSONPath query language) that the generation pipeline
// uses. It runs the real state machine definition on one machine, resolving
// each Task's Resource to an in-process Lambda handler.
//
// Supported: Task, Map (inline, ItemProcessor/ItemSelector), Choice, Pass,
// Succeed and Fail states; InputPath, Parameters, ResultSelector, ResultPath,
// OutputPath; Retry and Catch. Anything else is rejected by Load, naming the
// state and field, so the local run never silently diverges from AWS.
package sfnlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/google/uuid"
)

// Predefined error names (States.*) that the interpreter raises or matches.
const (
	ErrAll               = "States.ALL"
	ErrTaskFailed        = "States.TaskFailed"
	ErrTimeout           = "States.Timeout"
	ErrRuntime           = "States.Runtime"
	ErrNoChoiceMatched   = "States.NoChoiceMatched"
	ErrDataLimitExceeded = "States.DataLimitExceeded"
	ErrResultPathFailure = "States.ResultPathMatchFailure"
)

// maxPayload is the Step Functions limit on a state's input/output (256 KiB).
const maxPayload = 256 * 1024

// Invoker runs one Lambda function: JSON in, JSON out. Use LambdaInvoker to
// wrap a Go handler with the same JSON round trip as in AWS.
type Invoker func(ctx context.Context, payload []byte) ([]byte, error)

// LambdaInvoker wraps a Go Lambda handler function (any signature accepted
// by lambda.Start) as an Invoker, with the same JSON round trip and error
// reporting as in AWS.
//
// It builds a fresh lambda.Handler per call on purpose: Handler.Invoke
// returns bytes that alias a pooled buffer which the handler's next Invoke
// reuses, so sharing one Handler across concurrent Map iterations corrupts
// results (Lambda itself never invokes one instance concurrently).
func LambdaInvoker(handlerFunc any, opts ...lambda.Option) Invoker {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		return lambda.NewHandlerWithOptions(handlerFunc, opts...).Invoke(ctx, payload)
	}
}

// ExecutionError is a failed execution (or, internally, a failed state):
// Name is the Step Functions error name that Retry/Catch match (the "Error"
// field of the error output) and Cause its message.
type ExecutionError struct {
	Name  string `json:"Error"`
	Cause string `json:"Cause"`
}

// Error implements error.
func (e *ExecutionError) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// ErrorName returns the error name Step Functions sees when a Go Lambda
// handler returns err: the type name of the outermost error (pointer elided,
// never unwrapped), or the Type of a messages.InvokeResponse_Error value.
// It mirrors aws-lambda-go's lambda/errors.go.
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return ive.Type
	}
	return typeName(err)
}

// errorCause is the errorMessage Lambda reports for err.
func errorCause(err error) string {
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return ive.Message
	}
	return err.Error()
}

// lambdaCause is the Cause Step Functions gives a failed Lambda Task: the
// function's whole error payload as JSON text, not its message alone, so a
// Catch handler reads the same shape here as in AWS.
func lambdaCause(errorType, errorMessage string) string {
	b, _ := json.Marshal(messages.InvokeResponse_Error{Message: errorMessage, Type: errorType}) // two strings always encode
	return string(b)
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// EventKind says what happened in an Event.
type EventKind string

// Event kinds, in the order they can occur for one state.
const (
	StateEntered       EventKind = "StateEntered"
	StateRetrying      EventKind = "StateRetrying" // Error, Attempt, Delay set
	StateCaught        EventKind = "StateCaught"   // Error, Cause, Next set
	StateFailed        EventKind = "StateFailed"   // Error, Cause set
	StateExited        EventKind = "StateExited"   // Next set ("" when the flow ends)
	IterationStarted   EventKind = "IterationStarted"
	IterationSucceeded EventKind = "IterationSucceeded"
	IterationFailed    EventKind = "IterationFailed"
	ExecutionSucceeded EventKind = "ExecutionSucceeded"
	ExecutionFailed    EventKind = "ExecutionFailed"
)

// Event reports progress. Events from Map iterations carry the Map state's
// name and the item index; top-level events have Item -1.
type Event struct {
	Kind    EventKind
	State   string
	Map     string
	Item    int
	Next    string
	Attempt int           // 1 for the first retry
	Delay   time.Duration // wait before the retry
	Error   string
	Cause   string
}

type config struct {
	sleep    func(ctx context.Context, d time.Duration) error
	deadline func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
	jitter   func() float64
	events   func(Event)
}

// Option configures a Machine.
type Option func(*config)

// WithSleep replaces the wait between retries (default: a timer that
// honours ctx). Tests use it to record delays instead of sleeping.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) { c.sleep = sleep }
}

// WithEvents registers a callback for progress events. Calls are serialized,
// even from concurrent Map iterations, so the callback needs no locking.
func WithEvents(fn func(Event)) Option {
	return func(c *config) {
		var mu sync.Mutex
		c.events = func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			fn(e)
		}
	}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Machine is a loaded, validated state machine definition. It is safe for
// concurrent Execute calls.
type Machine struct {
	flow    *flow
	timeout time.Duration
	cfg     config
}

// Load replaces ${Name} placeholders with substitutions (textually, before
// JSON parsing, as SAM's DefinitionSubstitutions do), parses the definition,
// validates it against the supported subset and binds every Task Resource to
// its Invoker. Any unsupported construct is an error naming state and field.
func Load(definition []byte, substitutions map[string]string, resources map[string]Invoker, opts ...Option) (*Machine, error) {
	m := &Machine{cfg: config{sleep: sleepContext, deadline: context.WithTimeout, jitter: rand.Float64, events: func(Event) {}}}
	for _, o := range opts {
		o(&m.cfg)
	}
	def, err := substitute(definition, substitutions)
	if err != nil {
		return nil, fmt.Errorf("load state machine: %w", err)
	}
	var top rawFlow
	if _, err := strict(def, "state machine definition", []string{"Comment", "StartAt", "States", "TimeoutSeconds", "QueryLanguage"}, &top); err != nil {
		return nil, fmt.Errorf("load state machine: %w", err)
	}
	if top.QueryLanguage != nil && *top.QueryLanguage != "JSONPath" {
		return nil, fmt.Errorf("load state machine: QueryLanguage %q is not supported (only JSONPath)", *top.QueryLanguage)
	}
	if top.TimeoutSeconds != nil {
		if *top.TimeoutSeconds < 1 {
			return nil, fmt.Errorf("load state machine: TimeoutSeconds must be a positive integer")
		}
		m.timeout = time.Duration(*top.TimeoutSeconds) * time.Second
	}
	l := &loader{resources: resources}
	if m.flow, err = l.parseFlow("", top); err != nil {
		return nil, fmt.Errorf("load state machine: %w", err)
	}
	return m, nil
}

// timedOut reports whether inner expired on its own deadline (our
// TimeoutSeconds) rather than being cancelled through outer.
func timedOut(outer, inner context.Context) bool {
	return outer.Err() == nil && errors.Is(inner.Err(), context.DeadlineExceeded)
}

// Execute runs one execution to completion. name becomes $$.Execution.Name
// (a random UUID when empty). A failed execution (Fail state, uncaught error,
// timeout) returns an *ExecutionError; cancelling ctx aborts the execution
// and returns ctx's cause.
func (m *Machine) Execute(ctx context.Context, name string, input []byte) ([]byte, error) {
	if name == "" {
		name = uuid.NewString()
	}
	in, err := decodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("execution %s: invalid input: %w", name, err)
	}
	execCtx := ctx
	if m.timeout > 0 {
		var cancel context.CancelFunc
		execCtx, cancel = m.cfg.deadline(ctx, m.timeout)
		defer cancel()
	}
	x := &execution{m: m, name: name, input: in, start: time.Now()}
	out, err := x.runFlow(execCtx, m.flow, in, scope{item: -1})
	if err != nil && timedOut(ctx, execCtx) {
		err = &ExecutionError{Name: ErrTimeout, Cause: fmt.Sprintf("execution timed out after %s", m.timeout)}
	}
	var ee *ExecutionError
	if errors.As(err, &ee) {
		m.cfg.events(Event{Kind: ExecutionFailed, Item: -1, Error: ee.Name, Cause: ee.Cause})
		return nil, ee
	}
	if err != nil {
		return nil, fmt.Errorf("execution %s aborted: %w", name, err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("execution %s: encode output: %w", name, err)
	}
	m.cfg.events(Event{Kind: ExecutionSucceeded, Item: -1})
	return b, nil
}

// decodeJSON parses one JSON value, keeping numbers exact as json.Number.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}
