package sfnlocal

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// operandKinds lists the supported comparison operators and the JSON type of
// their literal operand. Each operator except IsPresent/IsNull also has a
// "...Path" variant comparing against another value of the input.
var operandKinds = map[string]string{
	"StringEquals":             "string",
	"NumericEquals":            "number",
	"NumericLessThan":          "number",
	"NumericGreaterThan":       "number",
	"NumericLessThanEquals":    "number",
	"NumericGreaterThanEquals": "number",
	"BooleanEquals":            "boolean",
	"IsPresent":                "boolean",
	"IsNull":                   "boolean",
}

// choiceRule is a top-level rule (with next) or a nested one (And/Or/Not).
type choiceRule struct {
	next string

	// Comparison: Variable <op> value (or <op>Path valuePath).
	variable  *path
	op        string
	value     any
	valuePath *path

	and, or []*choiceRule
	not     *choiceRule
}

func parseChoices(st *state, raws []json.RawMessage) error {
	if len(raws) == 0 {
		return fmt.Errorf("field Choices must be a non-empty array")
	}
	for i, raw := range raws {
		r, err := parseChoiceRule(raw, fmt.Sprintf("Choices[%d]", i), true)
		if err != nil {
			return err
		}
		st.choices = append(st.choices, r)
	}
	return nil
}

func parseChoiceRule(raw json.RawMessage, what string, topLevel bool) (*choiceRule, error) {
	allowed := []string{"Variable", "Comment", "And", "Or", "Not"}
	if topLevel {
		allowed = append(allowed, "Next")
	}
	for op := range operandKinds {
		allowed = append(allowed, op, op+"Path")
	}
	var rr struct {
		Variable, Next string
		And, Or        []json.RawMessage
		Not            json.RawMessage
	}
	f, err := strict(raw, what, allowed, &rr)
	if err != nil {
		return nil, err
	}
	r := &choiceRule{next: rr.Next}
	if topLevel && r.next == "" {
		return nil, fmt.Errorf("%s: Next is required", what)
	}
	var ops []string
	for k := range f {
		if k != "Variable" && k != "Comment" && k != "Next" {
			ops = append(ops, k)
		}
	}
	if len(ops) != 1 {
		return nil, fmt.Errorf("%s: exactly one comparison or And/Or/Not is required, got %v", what, ops)
	}
	op := ops[0]
	switch op {
	case "And", "Or":
		subs := rr.And
		if op == "Or" {
			subs = rr.Or
		}
		if len(subs) == 0 {
			return nil, fmt.Errorf("%s: %s must be a non-empty array of rules", what, op)
		}
		for i, sub := range subs {
			sr, err := parseChoiceRule(sub, fmt.Sprintf("%s.%s[%d]", what, op, i), false)
			if err != nil {
				return nil, err
			}
			if op == "And" {
				r.and = append(r.and, sr)
			} else {
				r.or = append(r.or, sr)
			}
		}
		return r, noVariable(rr.Variable, what, op)
	case "Not":
		if r.not, err = parseChoiceRule(rr.Not, what+".Not", false); err != nil {
			return nil, err
		}
		return r, noVariable(rr.Variable, what, op)
	}

	if rr.Variable == "" {
		return nil, fmt.Errorf("%s: Variable is required for %s", what, op)
	}
	if r.variable, err = parsePath(rr.Variable); err != nil {
		return nil, fmt.Errorf("%s: Variable: %w", what, err)
	}
	if base, isPath := strings.CutSuffix(op, "Path"); isPath && operandKinds[base] != "" && base != "IsPresent" && base != "IsNull" {
		var s string
		if err := json.Unmarshal(f[op], &s); err != nil {
			return nil, fmt.Errorf("%s: %s must be a path string", what, op)
		}
		if r.valuePath, err = parsePath(s); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, op, err)
		}
		r.op = base
		return r, nil
	}
	kind, ok := operandKinds[op]
	if !ok {
		return nil, fmt.Errorf("%s: comparison %q is not supported", what, op)
	}
	if r.value, err = decodeJSON(f[op]); err != nil || jsonKind(r.value) != kind {
		return nil, fmt.Errorf("%s: %s needs a %s operand", what, op, kind)
	}
	r.op = op
	return r, nil
}

func noVariable(variable, what, op string) error {
	if variable != "" {
		return fmt.Errorf("%s: Variable is not allowed with %s", what, op)
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number, float64, int:
		return "number"
	case bool:
		return "boolean"
	}
	return "other"
}

// choose returns the Next of the first matching rule, the Default, or a
// States.NoChoiceMatched error. Paths that do not resolve are a States.Runtime
// error (except under IsPresent), as in Step Functions.
func (s *state) choose(input, contextObject any) (string, error) {
	for _, r := range s.choices {
		ok, err := r.eval(input, contextObject)
		if err != nil {
			return "", err
		}
		if ok {
			return r.next, nil
		}
	}
	if s.defaultNext != "" {
		return s.defaultNext, nil
	}
	return "", &ExecutionError{Name: ErrNoChoiceMatched, Cause: fmt.Sprintf("no choice rule matched and there is no Default in state %q", s.short)}
}

func (r *choiceRule) eval(input, contextObject any) (bool, error) {
	switch {
	case r.and != nil:
		for _, sub := range r.and {
			if ok, err := sub.eval(input, contextObject); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, sub := range r.or {
			if ok, err := sub.eval(input, contextObject); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(input, contextObject)
		return !ok, err
	}

	v, err := r.variable.get(input, contextObject)
	if r.op == "IsPresent" {
		return (err == nil) == r.value.(bool), nil
	}
	if err != nil {
		return false, runtimeError("Choice Variable: %v", err)
	}
	operand := r.value
	if r.valuePath != nil {
		if operand, err = r.valuePath.get(input, contextObject); err != nil {
			return false, runtimeError("Choice %sPath: %v", r.op, err)
		}
	}

	switch r.op {
	case "IsNull":
		return (v == nil) == operand.(bool), nil
	case "StringEquals":
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		return ok1 && ok2 && a == b, nil
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b, nil
	}
	// Numeric comparisons: a value of another type simply does not match.
	a, ok1 := number(v)
	b, ok2 := number(operand)
	if !ok1 || !ok2 {
		return false, nil
	}
	c := a.Cmp(b)
	switch r.op {
	case "NumericEquals":
		return c == 0, nil
	case "NumericLessThan":
		return c < 0, nil
	case "NumericGreaterThan":
		return c > 0, nil
	case "NumericLessThanEquals":
		return c <= 0, nil
	case "NumericGreaterThanEquals":
		return c >= 0, nil
	}
	return false, fmt.Errorf("unreachable comparison %q", r.op)
}

// number converts a JSON number exactly (big.Rat), so large integer ids
// compare correctly.
func number(v any) (*big.Rat, bool) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = n.String()
	case float64:
		return new(big.Rat).SetFloat64(n), true
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}
