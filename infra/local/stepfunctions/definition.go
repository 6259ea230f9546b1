package stepfunctions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
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
	short                             string // the name as written, used in events and $$.State.Name
	typ                               string
	next                              string
	end                               bool
	inputPath, outputPath, resultPath pathField

	parameters, resultSelector any // nil when absent
	retry                      []retrier
	catch                      []catcher

	// Task
	resource string
	invoke   Invoker
	timeout  time.Duration

	// Pass
	result    any
	hasResult bool

	// Map
	itemsPath      *path
	itemSelector   any
	maxConcurrency int
	processor      *flow

	// Choice
	choices     []*choiceRule
	defaultNext string

	// Fail
	errorName, cause string
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

var placeholder = regexp.MustCompile(`\$\{([^{}]*)\}`)

// substitute replaces ${Name} placeholders textually, before JSON parsing,
// the way SAM applies DefinitionSubstitutions (so "MaxConcurrency": ${N}
// only becomes valid JSON once substituted).
func substitute(definition []byte, subs map[string]string) ([]byte, error) {
	var missing []string
	out := placeholder.ReplaceAllFunc(definition, func(m []byte) []byte {
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

// object decodes raw as a JSON object and rejects keys outside allowed.
func object(raw json.RawMessage, what string, allowed []string) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("%s must be a JSON object", what)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("%s: field %q is not supported%s", what, k, hints[k])
		}
	}
	return fields, nil
}

// decode unmarshals one field into dst, keeping numbers as json.Number.
func decode(fields map[string]json.RawMessage, key string, dst any) error {
	raw, ok := fields[key]
	if !ok {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(dst); err != nil {
		return fmt.Errorf("field %q: %w", key, err)
	}
	return nil
}

func isNull(fields map[string]json.RawMessage, key string) bool {
	raw, ok := fields[key]
	return ok && bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func parsePathField(fields map[string]json.RawMessage, key string, allowContext bool) (pathField, error) {
	if _, ok := fields[key]; !ok {
		return pathField{}, nil
	}
	if isNull(fields, key) {
		return pathField{null: true}, nil
	}
	var s string
	if err := decode(fields, key, &s); err != nil {
		return pathField{}, err
	}
	p, err := parsePath(s)
	if err != nil {
		return pathField{}, fmt.Errorf("field %q: %w", key, err)
	}
	if p.context && !allowContext {
		return pathField{}, fmt.Errorf("field %q: a $$ path is not allowed here", key)
	}
	return pathField{p: p}, nil
}

func parseTemplate(fields map[string]json.RawMessage, key string) (any, error) {
	if _, ok := fields[key]; !ok {
		return nil, nil
	}
	var v any
	if err := decode(fields, key, &v); err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("field %q must be a JSON object", key)
	}
	if err := checkTemplate(v); err != nil {
		return nil, fmt.Errorf("field %q: %w", key, err)
	}
	return v, nil
}

// loader carries what state parsing needs besides the JSON.
type loader struct {
	resources map[string]Invoker
}

func (l *loader) parseFlow(prefix string, fields map[string]json.RawMessage) (*flow, error) {
	f := &flow{states: map[string]*state{}}
	if err := decode(fields, "StartAt", &f.startAt); err != nil {
		return nil, err
	}
	if f.startAt == "" {
		return nil, fmt.Errorf("%sStartAt is required", prefix)
	}
	var raw map[string]json.RawMessage
	if err := decode(fields, "States", &raw); err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%sStates must be a non-empty object", prefix)
	}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		st, err := l.parseState(prefix+name, name, raw[name])
		if err != nil {
			return nil, err
		}
		f.states[name] = st
	}
	if err := f.checkTransitions(prefix); err != nil {
		return nil, err
	}
	return f, nil
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
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		st := f.states[name]
		for _, t := range st.targets() {
			if _, ok := f.states[t.next]; !ok {
				return fmt.Errorf("state %q: %s %q is not a state", st.name, t.field, t.next)
			}
			queue = append(queue, t.next)
		}
	}
	for name, st := range f.states {
		if !seen[name] {
			return fmt.Errorf("state %q is not reachable from StartAt", st.name)
		}
	}
	return nil
}

type target struct{ field, next string }

func (s *state) targets() []target {
	var out []target
	if s.next != "" {
		out = append(out, target{"Next", s.next})
	}
	for _, c := range s.catch {
		out = append(out, target{"Catch Next", c.next})
	}
	for _, r := range s.choices {
		out = append(out, target{"Choices Next", r.next})
	}
	if s.defaultNext != "" {
		out = append(out, target{"Default", s.defaultNext})
	}
	return out
}

func (l *loader) parseState(qualified, short string, raw json.RawMessage) (*state, error) {
	st, err := l.parseStateFields(qualified, short, raw)
	if err != nil {
		return nil, fmt.Errorf("state %q: %w", qualified, err)
	}
	return st, nil
}

func (l *loader) parseStateFields(qualified, short string, raw json.RawMessage) (*state, error) {
	var head struct{ Type string }
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("must be a JSON object with a string Type")
	}
	allowed, ok := allowedFields[head.Type]
	if !ok {
		return nil, fmt.Errorf("Type %q is not supported (supported: Task, Map, Choice, Pass, Succeed, Fail)", head.Type)
	}
	fields, err := object(raw, head.Type+" state", allowed)
	if err != nil {
		return nil, err
	}
	st := &state{name: qualified, short: short, typ: head.Type}
	if err := decode(fields, "Next", &st.next); err != nil {
		return nil, err
	}
	if err := decode(fields, "End", &st.end); err != nil {
		return nil, err
	}
	switch head.Type {
	case typeTask, typeMap, typePass:
		if (st.next == "") == !st.end {
			return nil, fmt.Errorf("exactly one of Next or \"End\": true is required")
		}
	}
	if st.inputPath, err = parsePathField(fields, "InputPath", true); err != nil {
		return nil, err
	}
	if st.outputPath, err = parsePathField(fields, "OutputPath", true); err != nil {
		return nil, err
	}
	if st.resultPath, err = parsePathField(fields, "ResultPath", false); err != nil {
		return nil, err
	}
	if st.parameters, err = parseTemplate(fields, "Parameters"); err != nil {
		return nil, err
	}
	if st.resultSelector, err = parseTemplate(fields, "ResultSelector"); err != nil {
		return nil, err
	}
	if st.retry, err = parseRetry(fields); err != nil {
		return nil, err
	}
	if st.catch, err = parseCatch(fields); err != nil {
		return nil, err
	}

	switch head.Type {
	case typeTask:
		err = l.parseTask(st, fields)
	case typeMap:
		err = l.parseMap(st, fields)
	case typeChoice:
		err = parseChoiceState(st, fields)
	case typePass:
		if _, ok := fields["Result"]; ok {
			st.hasResult = true
			err = decode(fields, "Result", &st.result)
		}
	case typeFail:
		if err = decode(fields, "Error", &st.errorName); err == nil {
			err = decode(fields, "Cause", &st.cause)
		}
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (l *loader) parseTask(st *state, fields map[string]json.RawMessage) error {
	if err := decode(fields, "Resource", &st.resource); err != nil {
		return err
	}
	if st.resource == "" {
		return fmt.Errorf("Resource is required")
	}
	inv, ok := l.resources[st.resource]
	if !ok || inv == nil {
		return fmt.Errorf("Resource %q has no Invoker", st.resource)
	}
	st.invoke = inv
	if _, ok := fields["TimeoutSeconds"]; ok {
		var secs int
		if err := decode(fields, "TimeoutSeconds", &secs); err != nil {
			return err
		}
		if secs < 1 {
			return fmt.Errorf("TimeoutSeconds must be a positive integer")
		}
		st.timeout = time.Duration(secs) * time.Second
	}
	return nil
}

func (l *loader) parseMap(st *state, fields map[string]json.RawMessage) error {
	if _, ok := fields["ItemsPath"]; ok {
		pf, err := parsePathField(fields, "ItemsPath", true)
		if err != nil {
			return err
		}
		if pf.null {
			return fmt.Errorf("ItemsPath must not be null")
		}
		st.itemsPath = pf.p
	}
	var err error
	if st.itemSelector, err = parseTemplate(fields, "ItemSelector"); err != nil {
		return err
	}
	if err := decode(fields, "MaxConcurrency", &st.maxConcurrency); err != nil {
		return err
	}
	if st.maxConcurrency < 0 {
		return fmt.Errorf("MaxConcurrency must be >= 0")
	}
	raw, ok := fields["ItemProcessor"]
	if !ok {
		return fmt.Errorf("ItemProcessor is required")
	}
	proc, err := object(raw, "ItemProcessor", []string{"ProcessorConfig", "StartAt", "States"})
	if err != nil {
		return err
	}
	if cfgRaw, ok := proc["ProcessorConfig"]; ok {
		cfg, err := object(cfgRaw, "ItemProcessor.ProcessorConfig", []string{"Mode"})
		if err != nil {
			return err
		}
		var mode string
		if err := decode(cfg, "Mode", &mode); err != nil {
			return err
		}
		if _, ok := cfg["Mode"]; ok && mode != "INLINE" {
			return fmt.Errorf("ProcessorConfig.Mode %q is not supported (only INLINE)", mode)
		}
	}
	st.processor, err = l.parseFlow(st.name+"/", proc)
	return err
}

func parseErrorEquals(fields map[string]json.RawMessage, what string, isLast bool) ([]string, error) {
	var names []string
	if err := decode(fields, "ErrorEquals", &names); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: ErrorEquals must be a non-empty array", what)
	}
	if slices.Contains(names, errAll) && (len(names) > 1 || !isLast) {
		return nil, fmt.Errorf("%s: %s must appear alone and in the last %s", what, errAll, what)
	}
	return names, nil
}

func parseRetry(fields map[string]json.RawMessage) ([]retrier, error) {
	var raws []json.RawMessage
	if err := decode(fields, "Retry", &raws); err != nil {
		return nil, err
	}
	out := make([]retrier, 0, len(raws))
	for i, raw := range raws {
		what := fmt.Sprintf("Retry[%d]", i)
		f, err := object(raw, what, []string{"ErrorEquals", "IntervalSeconds", "MaxAttempts",
			"BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"})
		if err != nil {
			return nil, err
		}
		r := retrier{interval: 1, maxAttempts: 3, backoffRate: 2}
		if r.errorEquals, err = parseErrorEquals(f, "retrier", i == len(raws)-1); err != nil {
			return nil, err
		}
		var interval, maxDelay int
		var jitter string
		for key, dst := range map[string]any{"IntervalSeconds": &interval, "MaxAttempts": &r.maxAttempts,
			"BackoffRate": &r.backoffRate, "MaxDelaySeconds": &maxDelay, "JitterStrategy": &jitter} {
			if err := decode(f, key, dst); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
		}
		if _, ok := f["IntervalSeconds"]; ok {
			if interval < 1 {
				return nil, fmt.Errorf("%s: IntervalSeconds must be a positive integer", what)
			}
			r.interval = float64(interval)
		}
		if _, ok := f["MaxDelaySeconds"]; ok {
			if maxDelay < 1 {
				return nil, fmt.Errorf("%s: MaxDelaySeconds must be a positive integer", what)
			}
			r.maxDelay = float64(maxDelay)
		}
		if r.maxAttempts < 0 {
			return nil, fmt.Errorf("%s: MaxAttempts must be >= 0", what)
		}
		if r.backoffRate < 1 {
			return nil, fmt.Errorf("%s: BackoffRate must be >= 1.0", what)
		}
		switch jitter {
		case "", "NONE":
		case "FULL":
			r.fullJitter = true
		default:
			return nil, fmt.Errorf("%s: JitterStrategy %q must be FULL or NONE", what, jitter)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseCatch(fields map[string]json.RawMessage) ([]catcher, error) {
	var raws []json.RawMessage
	if err := decode(fields, "Catch", &raws); err != nil {
		return nil, err
	}
	out := make([]catcher, 0, len(raws))
	for i, raw := range raws {
		what := fmt.Sprintf("Catch[%d]", i)
		f, err := object(raw, what, []string{"ErrorEquals", "Next", "ResultPath", "Comment"})
		if err != nil {
			return nil, err
		}
		var c catcher
		if c.errorEquals, err = parseErrorEquals(f, "catcher", i == len(raws)-1); err != nil {
			return nil, err
		}
		if err := decode(f, "Next", &c.next); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if c.next == "" {
			return nil, fmt.Errorf("%s: Next is required", what)
		}
		if c.resultPath, err = parsePathField(f, "ResultPath", false); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, c)
	}
	return out, nil
}
