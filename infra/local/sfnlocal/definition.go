package sfnlocal

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/designerbff/pipeline/statemachine"
)

// State types in the supported subset.
const (
	typeTask    = "Task"
	typeMap     = "Map"
	typeChoice  = "Choice"
	typePass    = "Pass"
	typeSucceed = "Succeed"
	typeFail    = "Fail"
)

// allowedFields lists, per state type, every field the interpreter
// understands. Anything else is a load error: a field we silently ignored
// would make the local run diverge from AWS without anyone noticing.
var allowedFields = map[string][]string{
	typeTask: {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath",
		"Parameters", "ResultSelector", "Retry", "Catch", "Resource", "TimeoutSeconds"},
	typeMap: {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath",
		"ResultSelector", "Retry", "Catch", "ItemsPath", "ItemSelector", "MaxConcurrency", "ItemProcessor"},
	typeChoice:  {"Type", "Comment", "InputPath", "OutputPath", "Choices", "Default"},
	typePass:    {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
	typeSucceed: {"Type", "Comment", "InputPath", "OutputPath"},
	typeFail:    {"Type", "Comment", "Error", "Cause"},
}

// hints explain the most likely mistakes better than "not supported".
var hints = map[string]string{
	"Iterator":      " (use ItemProcessor)",
	"Parameters":    " (inside a Map use ItemSelector)",
	"QueryLanguage": " (only JSONPath, set at the top level)",
}

// flow is a set of states with an entry point: the whole machine, or a Map's
// ItemProcessor. State names are scoped to their flow.
type flow struct {
	startAt string
	states  map[string]*state
}

// pathField is an InputPath/OutputPath/ResultPath value. The zero value is
// the default "$"; null is meaningful and distinct.
type pathField struct {
	null bool
	p    *path // nil means "$"
}

type state struct {
	name                              string // qualified for messages: "Map/Inner"
	short                             string // as written; events and $$.State.Name
	typ                               string
	next                              string
	inputPath, outputPath, resultPath pathField
	parameters, resultSelector        any // nil when absent
	retry                             []retrier
	catch                             []catcher

	invoke  Invoker       // Task
	timeout time.Duration // Task; 0 = none

	result    any // Pass
	hasResult bool

	itemsPath      *path // Map; nil = "$"
	itemSelector   any
	maxConcurrency int
	processor      *flow

	choices     []*choiceRule // Choice
	defaultNext string

	errorName, cause string // Fail
}

type retrier struct {
	errorEquals []string
	interval    float64 // seconds
	maxAttempts int
	backoffRate float64
	maxDelay    float64 // seconds; 0 = no cap
	fullJitter  bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  pathField
}

// rawState holds every field of every supported state type; strict() has
// already rejected fields outside the state type's list.
type rawState struct {
	Type, Next, Resource, Default, Error, Cause      string
	End                                              bool
	TimeoutSeconds, MaxConcurrency                   *int
	InputPath, OutputPath, ResultPath, ItemsPath     json.RawMessage
	Parameters, ResultSelector, ItemSelector, Result json.RawMessage
	Retry, Catch, Choices                            []json.RawMessage
	ItemProcessor                                    json.RawMessage
}

// rawFlow is the top level of a definition or an ItemProcessor.
type rawFlow struct {
	StartAt         string
	States          map[string]json.RawMessage
	TimeoutSeconds  *int
	QueryLanguage   *string
	ProcessorConfig json.RawMessage
}

// substitute replaces ${Name} placeholders textually, before JSON parsing,
// the way SAM applies DefinitionSubstitutions (so "MaxConcurrency": ${N}
// only becomes valid JSON once substituted).
func substitute(definition []byte, subs map[string]string) ([]byte, error) {
	var missing []string
	out := statemachine.Placeholder.ReplaceAllFunc(definition, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := subs[name]
		if !ok {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			return m
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing definition substitution(s): %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// strict checks that raw is an object whose keys are all in allowed, then
// decodes it into dst (when not nil). It returns the object's fields.
func strict(raw json.RawMessage, what string, allowed []string, dst any) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("%s must be a JSON object", what)
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("%s: field %q is not supported%s", what, k, hints[k])
		}
	}
	if dst != nil {
		if err := json.Unmarshal(raw, dst); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	return fields, nil
}

func parsePathField(raw json.RawMessage, field string, allowContext bool) (pathField, error) {
	if raw == nil {
		return pathField{}, nil
	}
	if string(raw) == "null" {
		return pathField{null: true}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return pathField{}, fmt.Errorf("%s must be a path string or null", field)
	}
	p, err := parsePath(s)
	if err != nil {
		return pathField{}, fmt.Errorf("%s: %w", field, err)
	}
	if p.context && !allowContext {
		return pathField{}, fmt.Errorf("%s: a $$ path is not allowed here", field)
	}
	return pathField{p: p}, nil
}

func parseTemplate(raw json.RawMessage, field string) (any, error) {
	if raw == nil {
		return nil, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("%s must be a JSON object", field)
	}
	if err := checkTemplate(v); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return v, nil
}

// loader carries what state parsing needs besides the JSON.
type loader struct {
	resources map[string]Invoker
}

func (l *loader) parseFlow(prefix string, rf rawFlow) (*flow, error) {
	if rf.StartAt == "" {
		return nil, fmt.Errorf("%sStartAt is required", prefix)
	}
	if len(rf.States) == 0 {
		return nil, fmt.Errorf("%sStates must be a non-empty object", prefix)
	}
	f := &flow{startAt: rf.StartAt, states: map[string]*state{}}
	for _, name := range slices.Sorted(maps.Keys(rf.States)) {
		st, err := l.parseState(prefix+name, name, rf.States[name])
		if err != nil {
			return nil, fmt.Errorf("state %q: %w", prefix+name, err)
		}
		f.states[name] = st
	}
	return f, f.checkTransitions(prefix)
}

// checkTransitions verifies every target exists in this flow and every
// state is reachable from StartAt, as the AWS validator does.
func (f *flow) checkTransitions(prefix string) error {
	if _, ok := f.states[f.startAt]; !ok {
		return fmt.Errorf("%sStartAt %q is not a state", prefix, f.startAt)
	}
	seen := map[string]bool{}
	queue := []string{f.startAt}
	for len(queue) > 0 {
		st := f.states[queue[0]]
		queue = queue[1:]
		if seen[st.short] {
			continue
		}
		seen[st.short] = true
		targets := [][2]string{{"Next", st.next}, {"Default", st.defaultNext}}
		for _, c := range st.catch {
			targets = append(targets, [2]string{"Catch Next", c.next})
		}
		for _, r := range st.choices {
			targets = append(targets, [2]string{"Choices Next", r.next})
		}
		for _, t := range targets {
			if t[1] == "" {
				continue
			}
			if _, ok := f.states[t[1]]; !ok {
				return fmt.Errorf("state %q: %s %q is not a state", st.name, t[0], t[1])
			}
			queue = append(queue, t[1])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(f.states)) {
		if !seen[name] {
			return fmt.Errorf("state %q is not reachable from StartAt", f.states[name].name)
		}
	}
	return nil
}

func (l *loader) parseState(qualified, short string, raw json.RawMessage) (*state, error) {
	var head struct{ Type string }
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("must be a JSON object with a string Type")
	}
	allowed, ok := allowedFields[head.Type]
	if !ok {
		return nil, fmt.Errorf("state type %q is not supported (supported: Task, Map, Choice, Pass, Succeed, Fail)", head.Type)
	}
	var rs rawState
	if _, err := strict(raw, head.Type+" state", allowed, &rs); err != nil {
		return nil, err
	}
	st := &state{name: qualified, short: short, typ: rs.Type, next: rs.Next,
		defaultNext: rs.Default, errorName: rs.Error, cause: rs.Cause}
	if slices.Contains([]string{typeTask, typeMap, typePass}, rs.Type) && (rs.Next == "") == !rs.End {
		return nil, fmt.Errorf(`exactly one of Next or "End": true is required`)
	}
	var err error
	if st.inputPath, err = parsePathField(rs.InputPath, "InputPath", true); err != nil {
		return nil, err
	}
	if st.outputPath, err = parsePathField(rs.OutputPath, "OutputPath", true); err != nil {
		return nil, err
	}
	if st.resultPath, err = parsePathField(rs.ResultPath, "ResultPath", false); err != nil {
		return nil, err
	}
	if st.parameters, err = parseTemplate(rs.Parameters, "Parameters"); err != nil {
		return nil, err
	}
	if st.resultSelector, err = parseTemplate(rs.ResultSelector, "ResultSelector"); err != nil {
		return nil, err
	}
	if st.itemSelector, err = parseTemplate(rs.ItemSelector, "ItemSelector"); err != nil {
		return nil, err
	}
	for i, raw := range rs.Retry {
		r, err := parseRetrier(raw, fmt.Sprintf("Retry[%d]", i), i == len(rs.Retry)-1)
		if err != nil {
			return nil, err
		}
		st.retry = append(st.retry, r)
	}
	for i, raw := range rs.Catch {
		c, err := parseCatcher(raw, fmt.Sprintf("Catch[%d]", i), i == len(rs.Catch)-1)
		if err != nil {
			return nil, err
		}
		st.catch = append(st.catch, c)
	}

	switch rs.Type {
	case typeTask:
		if st.invoke = l.resources[rs.Resource]; st.invoke == nil {
			return nil, fmt.Errorf("task resource %q has no Invoker", rs.Resource)
		}
		if rs.TimeoutSeconds != nil {
			if *rs.TimeoutSeconds < 1 {
				return nil, fmt.Errorf("TimeoutSeconds must be a positive integer")
			}
			st.timeout = time.Duration(*rs.TimeoutSeconds) * time.Second
		}
	case typeMap:
		err = l.parseMap(st, rs)
	case typeChoice:
		err = parseChoices(st, rs.Choices)
	case typePass:
		if rs.Result != nil {
			st.hasResult = true
			st.result, err = decodeJSON(rs.Result)
		}
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (l *loader) parseMap(st *state, rs rawState) error {
	if rs.ItemsPath != nil {
		pf, err := parsePathField(rs.ItemsPath, "ItemsPath", true)
		if err != nil || pf.null {
			return fmt.Errorf("ItemsPath must be a path: %v", err)
		}
		st.itemsPath = pf.p
	}
	if rs.MaxConcurrency != nil {
		if *rs.MaxConcurrency < 0 {
			return fmt.Errorf("MaxConcurrency must be >= 0")
		}
		st.maxConcurrency = *rs.MaxConcurrency
	}
	if rs.ItemProcessor == nil {
		return fmt.Errorf("ItemProcessor is required")
	}
	var rf rawFlow
	if _, err := strict(rs.ItemProcessor, "ItemProcessor", []string{"ProcessorConfig", "StartAt", "States"}, &rf); err != nil {
		return err
	}
	if rf.ProcessorConfig != nil {
		var cfg struct{ Mode string }
		if _, err := strict(rf.ProcessorConfig, "ItemProcessor.ProcessorConfig", []string{"Mode"}, &cfg); err != nil {
			return err
		}
		if cfg.Mode != "" && cfg.Mode != "INLINE" {
			return fmt.Errorf("ProcessorConfig.Mode %q is not supported (only INLINE)", cfg.Mode)
		}
	}
	var err error
	st.processor, err = l.parseFlow(st.name+"/", rf)
	return err
}

// checkErrorEquals enforces the ASL rule that States.ALL appears alone and
// only in the last retrier or catcher.
func checkErrorEquals(names []string, what, noun string, isLast bool) error {
	if len(names) == 0 {
		return fmt.Errorf("%s: ErrorEquals must be a non-empty array", what)
	}
	if slices.Contains(names, ErrAll) && (len(names) > 1 || !isLast) {
		return fmt.Errorf("%s: %s must appear alone and in the last %s", what, ErrAll, noun)
	}
	return nil
}

func parseRetrier(raw json.RawMessage, what string, isLast bool) (retrier, error) {
	var rr struct {
		ErrorEquals                                   []string
		IntervalSeconds, MaxAttempts, MaxDelaySeconds *int
		BackoffRate                                   *float64
		JitterStrategy                                string
	}
	if _, err := strict(raw, what, []string{"ErrorEquals", "IntervalSeconds", "MaxAttempts",
		"BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"}, &rr); err != nil {
		return retrier{}, err
	}
	r := retrier{errorEquals: rr.ErrorEquals, interval: 1, maxAttempts: 3, backoffRate: 2}
	if err := checkErrorEquals(rr.ErrorEquals, what, "retrier", isLast); err != nil {
		return r, err
	}
	switch {
	case rr.IntervalSeconds != nil && *rr.IntervalSeconds < 1:
		return r, fmt.Errorf("%s: IntervalSeconds must be a positive integer", what)
	case rr.MaxDelaySeconds != nil && *rr.MaxDelaySeconds < 1:
		return r, fmt.Errorf("%s: MaxDelaySeconds must be a positive integer", what)
	case rr.MaxAttempts != nil && *rr.MaxAttempts < 0:
		return r, fmt.Errorf("%s: MaxAttempts must be >= 0", what)
	case rr.BackoffRate != nil && *rr.BackoffRate < 1:
		return r, fmt.Errorf("%s: BackoffRate must be >= 1.0", what)
	case rr.JitterStrategy != "" && rr.JitterStrategy != "FULL" && rr.JitterStrategy != "NONE":
		return r, fmt.Errorf("%s: JitterStrategy %q must be FULL or NONE", what, rr.JitterStrategy)
	}
	if rr.IntervalSeconds != nil {
		r.interval = float64(*rr.IntervalSeconds)
	}
	if rr.MaxDelaySeconds != nil {
		r.maxDelay = float64(*rr.MaxDelaySeconds)
	}
	if rr.MaxAttempts != nil {
		r.maxAttempts = *rr.MaxAttempts
	}
	if rr.BackoffRate != nil {
		r.backoffRate = *rr.BackoffRate
	}
	r.fullJitter = rr.JitterStrategy == "FULL"
	return r, nil
}

func parseCatcher(raw json.RawMessage, what string, isLast bool) (catcher, error) {
	var rc struct {
		ErrorEquals []string
		Next        string
		ResultPath  json.RawMessage
	}
	if _, err := strict(raw, what, []string{"ErrorEquals", "Next", "ResultPath", "Comment"}, &rc); err != nil {
		return catcher{}, err
	}
	c := catcher{errorEquals: rc.ErrorEquals, next: rc.Next}
	if err := checkErrorEquals(rc.ErrorEquals, what, "catcher", isLast); err != nil {
		return c, err
	}
	if c.next == "" {
		return c, fmt.Errorf("%s: Next is required", what)
	}
	var err error
	if c.resultPath, err = parsePathField(rc.ResultPath, what+".ResultPath", false); err != nil {
		return c, err
	}
	return c, nil
}
