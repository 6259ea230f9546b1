package sfnlocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// execution is the state of one Execute call.
type execution struct {
	m     *Machine
	name  string
	input any
	start time.Time
}

// scope locates a flow for events: top level, or one Map iteration.
type scope struct {
	mapState string
	item     int
}

func runtimeError(format string, args ...any) *ExecutionError {
	return &ExecutionError{Name: ErrRuntime, Cause: fmt.Sprintf(format, args...)}
}

// terminal errors end the execution: Retry and Catch (even States.ALL) never
// match them, as in Step Functions.
func terminal(name string) bool {
	return name == ErrRuntime || name == ErrDataLimitExceeded
}

func (x *execution) emit(sc scope, e Event) {
	e.Map, e.Item = sc.mapState, sc.item
	x.m.cfg.events(e)
}

// runFlow runs states from StartAt until a state ends the flow.
func (x *execution) runFlow(ctx context.Context, f *flow, input any, sc scope) (any, error) {
	st := f.states[f.startAt]
	for {
		out, next, err := x.runState(ctx, st, input, sc)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		st, input = f.states[next], out
	}
}

// runState runs one state entry, applying its Retry and Catch policies.
// It returns the state's output and the next state ("" when the flow ends).
// Errors are *ExecutionError for state failures; anything else is an abort
// (ctx cancelled) and propagates untouched.
func (x *execution) runState(ctx context.Context, st *state, input any, sc scope) (any, string, error) {
	x.emit(sc, Event{Kind: StateEntered, State: st.short})
	attempts := make([]int, len(st.retry)) // per retrier, per state entry
	retries := 0
	for {
		out, next, err := x.attempt(ctx, st, input, retries)
		if err == nil {
			if err = checkSize(out, "state output"); err == nil {
				x.emit(sc, Event{Kind: StateExited, State: st.short, Next: next})
				return out, next, nil
			}
		}
		var se *ExecutionError
		if !errors.As(err, &se) {
			return nil, "", err
		}
		if !terminal(se.Name) {
			if i := st.matchRetrier(se.Name); i >= 0 && attempts[i] < st.retry[i].maxAttempts {
				delay := st.retry[i].delay(attempts[i], x.m.cfg.jitter)
				attempts[i]++
				retries++
				x.emit(sc, Event{Kind: StateRetrying, State: st.short, Attempt: retries, Delay: delay, Error: se.Name, Cause: se.Cause})
				if err := x.m.cfg.sleep(ctx, delay); err != nil {
					return nil, "", err
				}
				continue
			}
			if c := st.matchCatcher(se.Name); c != nil {
				out, err := applyResultPath(c.resultPath, input, map[string]any{"Error": se.Name, "Cause": se.Cause})
				if err == nil {
					x.emit(sc, Event{Kind: StateCaught, State: st.short, Next: c.next, Error: se.Name, Cause: se.Cause})
					return out, c.next, nil
				}
				errors.As(err, &se)
			}
		}
		x.emit(sc, Event{Kind: StateFailed, State: st.short, Error: se.Name, Cause: se.Cause})
		return nil, "", se
	}
}

func errorMatches(names []string, errName string, isTask bool) bool {
	for _, n := range names {
		if n == errName || n == ErrAll || (n == ErrTaskFailed && isTask && errName != ErrTimeout) {
			return true
		}
	}
	return false
}

// matchRetrier returns the index of the first retrier whose ErrorEquals
// matches, or -1. Only that retrier applies, even when it is exhausted.
func (s *state) matchRetrier(errName string) int {
	for i, r := range s.retry {
		if errorMatches(r.errorEquals, errName, s.typ == typeTask) {
			return i
		}
	}
	return -1
}

func (s *state) matchCatcher(errName string) *catcher {
	for i := range s.catch {
		if errorMatches(s.catch[i].errorEquals, errName, s.typ == typeTask) {
			return &s.catch[i]
		}
	}
	return nil
}

// delay is IntervalSeconds × BackoffRate^attempt, capped at MaxDelaySeconds,
// then scaled by a random factor in [0, 1) under JitterStrategy FULL.
func (r retrier) delay(attempt int, jitter func() float64) time.Duration {
	secs := r.interval * math.Pow(r.backoffRate, float64(attempt))
	if r.maxDelay > 0 && secs > r.maxDelay {
		secs = r.maxDelay
	}
	if r.fullJitter {
		secs *= jitter()
	}
	return time.Duration(secs * float64(time.Second))
}

// contextObject is what $$ paths resolve against.
func (x *execution) contextObject(st *state, retryCount int) map[string]any {
	const stamp = "2006-01-02T15:04:05.000Z"
	return map[string]any{
		"Execution": map[string]any{
			"Id":        "arn:aws:states:local:000000000000:execution:local:" + x.name,
			"Name":      x.name,
			"Input":     x.input,
			"StartTime": x.start.UTC().Format(stamp),
		},
		"StateMachine": map[string]any{
			"Id":   "arn:aws:states:local:000000000000:stateMachine:local",
			"Name": "local",
		},
		"State": map[string]any{
			"Name":        st.short,
			"EnteredTime": time.Now().UTC().Format(stamp),
			"RetryCount":  json.Number(fmt.Sprint(retryCount)),
		},
	}
}

// attempt runs the state once: input processing, the state's work, output
// processing.
func (x *execution) attempt(ctx context.Context, st *state, raw any, retryCount int) (any, string, error) {
	if st.typ == typeFail {
		return nil, "", &ExecutionError{Name: st.errorName, Cause: st.cause}
	}
	cobj := x.contextObject(st, retryCount)
	in, err := applyInOutPath(st.inputPath, raw, cobj, "InputPath")
	if err != nil {
		return nil, "", err
	}
	next := st.next
	var result any
	switch st.typ {
	case typeSucceed:
		result = in
	case typeChoice:
		if next, err = st.choose(in, cobj); err != nil {
			return nil, "", err
		}
		result = in
	case typePass:
		if result, err = applyParameters(st.parameters, in, cobj); err != nil {
			return nil, "", err
		}
		if st.hasResult {
			result = st.result
		}
	case typeTask:
		if in, err = applyParameters(st.parameters, in, cobj); err != nil {
			return nil, "", err
		}
		result, err = x.invoke(ctx, st, in)
	case typeMap:
		result, err = x.runMap(ctx, st, in, cobj)
	}
	if err != nil {
		return nil, "", err
	}
	if st.resultSelector != nil {
		if result, err = applyTemplate(st.resultSelector, result, cobj); err != nil {
			return nil, "", runtimeError("state %q ResultSelector: %v", st.short, err)
		}
	}
	out := result
	if st.typ != typeSucceed && st.typ != typeChoice {
		if out, err = applyResultPath(st.resultPath, raw, result); err != nil {
			return nil, "", err
		}
	}
	if out, err = applyInOutPath(st.outputPath, out, cobj, "OutputPath"); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

func applyInOutPath(pf pathField, data, cobj any, field string) (any, error) {
	switch {
	case pf.null:
		return map[string]any{}, nil
	case pf.p == nil:
		return data, nil
	}
	v, err := pf.p.get(data, cobj)
	if err != nil {
		return nil, runtimeError("%s: %v", field, err)
	}
	return v, nil
}

func applyParameters(tmpl, in, cobj any) (any, error) {
	if tmpl == nil {
		return in, nil
	}
	v, err := applyTemplate(tmpl, in, cobj)
	if err != nil {
		return nil, runtimeError("Parameters: %v", err)
	}
	return v, nil
}

// applyResultPath combines the state's raw input with its result.
func applyResultPath(pf pathField, raw, result any) (any, error) {
	switch {
	case pf.null:
		return raw, nil
	case pf.p == nil || len(pf.p.steps) == 0:
		return result, nil
	}
	out, err := pf.p.set(raw, result)
	if err != nil {
		return nil, &ExecutionError{Name: ErrResultPathFailure, Cause: err.Error()}
	}
	return out, nil
}

func checkSize(v any, what string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return runtimeError("encode %s: %v", what, err)
	}
	if len(b) > maxPayload {
		return &ExecutionError{Name: ErrDataLimitExceeded, Cause: fmt.Sprintf("%s is %d bytes, over the %d byte limit", what, len(b), maxPayload)}
	}
	return nil
}

type reply struct {
	out []byte
	err error
	// panicked is set when the handler panicked: Lambda reports the panic
	// value's type name as the error name.
	panicked *ExecutionError
}

// invoke calls the Task's Lambda with a JSON round trip. The handler runs in
// its own goroutine so a TimeoutSeconds expiry fails the state on time even
// when the handler ignores ctx (Step Functions also stops waiting; the
// handler is abandoned), and a panic becomes an error named after the panic
// value's type, as the Lambda runtime reports it.
func (x *execution) invoke(ctx context.Context, st *state, in any) (any, error) {
	payload, err := json.Marshal(in)
	if err != nil {
		return nil, runtimeError("encode task input: %v", err)
	}
	if len(payload) > maxPayload {
		return nil, &ExecutionError{Name: ErrDataLimitExceeded, Cause: fmt.Sprintf("task input is %d bytes, over the %d byte limit", len(payload), maxPayload)}
	}
	tctx, cancel := context.WithCancel(ctx)
	if st.timeout > 0 {
		cancel()
		tctx, cancel = x.m.cfg.deadline(ctx, st.timeout)
	}
	defer cancel()

	ch := make(chan reply, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				name := typeName(r)
				p := &ExecutionError{Name: name, Cause: lambdaCause(name, fmt.Sprint(r))}
				ch <- reply{err: p, panicked: p}
			}
		}()
		out, err := st.invoke(tctx, payload)
		ch <- reply{out: out, err: err}
	}()

	var r reply
	replied := false
	select {
	case r = <-ch:
		replied = true
	case <-tctx.Done():
		r.err = context.Cause(tctx)
	}
	if ctx.Err() != nil {
		// The execution (or the Map) is being cancelled: let the handler
		// finish so none outlives Execute.
		if !replied {
			<-ch
		}
		return nil, context.Cause(ctx)
	}
	if r.err != nil && timedOut(ctx, tctx) {
		return nil, &ExecutionError{Name: ErrTimeout, Cause: fmt.Sprintf("task timed out after %s", st.timeout)}
	}
	if r.panicked != nil {
		return nil, r.panicked
	}
	if r.err != nil {
		name := ErrorName(r.err)
		return nil, &ExecutionError{Name: name, Cause: lambdaCause(name, errorCause(r.err))}
	}
	if len(r.out) > maxPayload {
		return nil, &ExecutionError{Name: ErrDataLimitExceeded, Cause: fmt.Sprintf("task result is %d bytes, over the %d byte limit", len(r.out), maxPayload)}
	}
	if len(r.out) == 0 {
		return nil, nil
	}
	result, err := decodeJSON(r.out)
	if err != nil {
		return nil, runtimeError("task %q returned invalid JSON: %v", st.short, err)
	}
	return result, nil
}

// runMap runs the ItemProcessor once per item, at most MaxConcurrency at a
// time, and returns the outputs in item order. The first uncaught iteration
// failure cancels the others and fails the Map with that error.
func (x *execution) runMap(ctx context.Context, st *state, in any, cobj map[string]any) (any, error) {
	itemsValue := in
	if st.itemsPath != nil {
		v, err := st.itemsPath.get(in, cobj)
		if err != nil {
			return nil, runtimeError("ItemsPath: %v", err)
		}
		itemsValue = v
	}
	items, ok := itemsValue.([]any)
	if !ok {
		return nil, runtimeError("state %q: the Map items (ItemsPath) must be a JSON array", st.short)
	}
	inputs := slices.Clone(items)
	if st.itemSelector != nil {
		for i, item := range items {
			mctx := map[string]any{"Map": map[string]any{"Item": map[string]any{
				"Index": json.Number(fmt.Sprint(i)), "Value": item}}}
			for k, v := range cobj {
				mctx[k] = v
			}
			v, err := applyTemplate(st.itemSelector, in, mctx)
			if err != nil {
				return nil, runtimeError("state %q ItemSelector: %v", st.short, err)
			}
			inputs[i] = v
		}
	}

	limit := st.maxConcurrency
	if limit == 0 || limit > len(items) {
		limit = max(len(items), 1)
	}
	mapCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, limit)
	results := make([]any, len(items))
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
launch:
	for i := range inputs {
		select {
		case sem <- struct{}{}:
		case <-mapCtx.Done():
			break launch
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sc := scope{mapState: st.short, item: i}
			x.emit(sc, Event{Kind: IterationStarted, State: st.short})
			out, err := x.runFlow(mapCtx, st.processor, inputs[i], sc)
			if err != nil {
				once.Do(func() { firstErr = err; cancel() })
				e := Event{Kind: IterationFailed, State: st.short, Cause: err.Error()}
				var ee *ExecutionError
				if errors.As(err, &ee) {
					e.Error, e.Cause = ee.Name, ee.Cause
				}
				x.emit(sc, e)
				return
			}
			results[i] = out
			x.emit(sc, Event{Kind: IterationSucceeded, State: st.short})
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return results, nil
}
