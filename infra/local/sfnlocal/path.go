package sfnlocal

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// path is a parsed JSONPath "reference path": a root ($ for the state's data,
// $$ for the context object) followed by field and index steps. Wildcards,
// filters, slices and recursive descent are rejected at load time because
// they select several values, which no field in our subset allows.
type path struct {
	text    string
	context bool // rooted at $$ (the context object)
	steps   []step
}

// step is one field (.name or ['name']) or array index ([n]) selector.
type step struct {
	field   string
	index   int
	isIndex bool
}

func parsePath(s string) (*path, error) {
	p := &path{text: s}
	var rest string
	switch {
	case strings.HasPrefix(s, "$$"):
		p.context, rest = true, s[2:]
	case strings.HasPrefix(s, "$"):
		rest = s[1:]
	default:
		return nil, fmt.Errorf("path %q must start with $ or $$", s)
	}
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			if name == "" || strings.ContainsAny(name, "*@?,:()]'\" ") {
				return nil, fmt.Errorf("path %q: unsupported JSONPath syntax near %q", s, "."+rest)
			}
			p.steps = append(p.steps, step{field: name})
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: unclosed [", s)
			}
			inner := rest[1:end]
			if len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0] {
				name := inner[1 : len(inner)-1]
				if name == "" || strings.ContainsAny(name, "'\"") {
					return nil, fmt.Errorf("path %q: bad quoted field %s", s, inner)
				}
				p.steps = append(p.steps, step{field: name})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 || strings.HasPrefix(inner, "+") {
					return nil, fmt.Errorf("path %q: unsupported JSONPath selector [%s]", s, inner)
				}
				p.steps = append(p.steps, step{index: n, isIndex: true})
			}
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("path %q: unsupported JSONPath syntax near %q", s, rest)
		}
	}
	return p, nil
}

// get resolves the path against data (or the context object for $$ paths).
// A path that does not resolve is an error, as in Step Functions.
func (p *path) get(data, contextObject any) (any, error) {
	v := data
	if p.context {
		v = contextObject
	}
	for _, st := range p.steps {
		switch cur := v.(type) {
		case map[string]any:
			next, ok := cur[st.field]
			if st.isIndex || !ok {
				return nil, fmt.Errorf("path %q could not be resolved against the input", p.text)
			}
			v = next
		case []any:
			if !st.isIndex || st.index >= len(cur) {
				return nil, fmt.Errorf("path %q could not be resolved against the input", p.text)
			}
			v = cur[st.index]
		default:
			return nil, fmt.Errorf("path %q could not be resolved against the input", p.text)
		}
	}
	return v, nil
}

// set returns a copy of root with value placed at the path, creating missing
// intermediate objects. Only the containers along the path are copied, so
// values shared with other states (and Map iterations) are never mutated.
func (p *path) set(root, value any) (any, error) {
	out, err := setSteps(root, p.steps, value)
	if err != nil {
		return nil, fmt.Errorf("ResultPath %q cannot be applied to the state input: %w", p.text, err)
	}
	return out, nil
}

func setSteps(root any, steps []step, value any) (any, error) {
	if len(steps) == 0 {
		return value, nil
	}
	st := steps[0]
	if st.isIndex {
		arr, ok := root.([]any)
		if !ok || st.index >= len(arr) {
			return nil, fmt.Errorf("index [%d] does not exist", st.index)
		}
		arr = slices.Clone(arr)
		v, err := setSteps(arr[st.index], steps[1:], value)
		if err != nil {
			return nil, err
		}
		arr[st.index] = v
		return arr, nil
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("field %q: parent is not an object", st.field)
	}
	obj = maps.Clone(obj)
	child, exists := obj[st.field]
	if !exists && len(steps) > 1 {
		child = map[string]any{}
	}
	v, err := setSteps(child, steps[1:], value)
	if err != nil {
		return nil, err
	}
	obj[st.field] = v
	return obj, nil
}

// checkTemplate validates a payload template (Parameters, ResultSelector,
// ItemSelector) at load time: keys ending in ".$" must hold a path string,
// and intrinsic functions are outside the subset.
func checkTemplate(v any) error {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if base, ok := strings.CutSuffix(k, ".$"); ok {
				s, isString := val.(string)
				if !isString {
					return fmt.Errorf("key %q: value must be a path string", k)
				}
				if strings.HasPrefix(s, "States.") {
					return fmt.Errorf("key %q: intrinsic function %q is not supported", k, s)
				}
				if _, err := parsePath(s); err != nil {
					return fmt.Errorf("key %q: %w", k, err)
				}
				if _, dup := t[base]; dup {
					return fmt.Errorf("keys %q and %q collide", base, k)
				}
				continue
			}
			if err := checkTemplate(val); err != nil {
				return err
			}
		}
	case []any:
		for _, val := range t {
			if err := checkTemplate(val); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyTemplate builds a new value from a payload template: "key.$": "path"
// becomes "key": <value at path in data, or in the context object for $$>.
func applyTemplate(v, data, contextObject any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if base, ok := strings.CutSuffix(k, ".$"); ok {
				p, err := parsePath(val.(string)) // validated at load
				if err != nil {
					return nil, err
				}
				resolved, err := p.get(data, contextObject)
				if err != nil {
					return nil, fmt.Errorf("key %q: %w", k, err)
				}
				out[base] = resolved
				continue
			}
			resolved, err := applyTemplate(val, data, contextObject)
			if err != nil {
				return nil, err
			}
			out[k] = resolved
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			resolved, err := applyTemplate(val, data, contextObject)
			if err != nil {
				return nil, err
			}
			out[i] = resolved
		}
		return out, nil
	default:
		return v, nil
	}
}
