package sfnlocal_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	// one wraps a single state S (plus a terminal state Done) into a machine.
	one := func(state string) string {
		return fmt.Sprintf(`{"StartAt":"S","States":{"S":%s,"Done":{"Type":"Succeed"}}}`, state)
	}
	task := func(extra string) string {
		return one(`{"Type":"Task","Resource":"fn",` + extra + `"Next":"Done"}`)
	}
	inlineMap := func(extra, inner string) string {
		return one(`{"Type":"Map",` + extra + `"ItemProcessor":{"StartAt":"I","States":{"I":` + inner + `}},"Next":"Done"}`)
	}
	tests := []struct {
		name    string
		def     string
		subs    map[string]string
		wantErr string
	}{
		{name: "not JSON", def: `{"StartAt":`, wantErr: "must be a JSON object"},
		{name: "unknown top-level field", def: `{"StartAt":"S","Version":"1.0","States":{"S":{"Type":"Succeed"}}}`, wantErr: `field "Version" is not supported`},
		{name: "JSONata", def: `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Succeed"}}}`, wantErr: `QueryLanguage "JSONata"`},
		{name: "per-state QueryLanguage", def: one(`{"Type":"Pass","QueryLanguage":"JSONPath","Next":"Done"}`), wantErr: `state "S": Pass state: field "QueryLanguage"`},
		{name: "missing StartAt", def: `{"States":{"S":{"Type":"Succeed"}}}`, wantErr: "StartAt is required"},
		{name: "StartAt not a state", def: `{"StartAt":"X","States":{"S":{"Type":"Succeed"}}}`, wantErr: `StartAt "X" is not a state`},
		{name: "unknown state field", def: task(`"HeartbeatSeconds":5,`), wantErr: `state "S": Task state: field "HeartbeatSeconds" is not supported`},
		{name: "Parallel state", def: one(`{"Type":"Parallel","Branches":[],"Next":"Done"}`), wantErr: `state "S": state type "Parallel" is not supported`},
		{name: "Wait state", def: one(`{"Type":"Wait","Seconds":1,"Next":"Done"}`), wantErr: `state "S": state type "Wait" is not supported`},
		{name: "missing Next and End", def: `{"StartAt":"S","States":{"S":{"Type":"Pass"}}}`, wantErr: `state "S": exactly one of Next or "End": true`},
		{name: "both Next and End", def: one(`{"Type":"Pass","Next":"Done","End":true}`), wantErr: `state "S": exactly one of Next`},
		{name: "Next to a nonexistent state", def: one(`{"Type":"Pass","Next":"Nowhere"}`), wantErr: `state "S": Next "Nowhere" is not a state`},
		{name: "Catch Next to a nonexistent state", def: task(`"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Nowhere"}],`), wantErr: `Catch Next "Nowhere" is not a state`},
		{name: "Choice Next to a nonexistent state", def: one(`{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"Nowhere"}],"Default":"Done"}`), wantErr: `Choices Next "Nowhere"`},
		{name: "unreachable state", def: `{"StartAt":"S","States":{"S":{"Type":"Succeed"},"Orphan":{"Type":"Succeed"}}}`, wantErr: `state "Orphan" is not reachable`},
		{name: "Succeed with Next", def: one(`{"Type":"Succeed","Next":"Done"}`), wantErr: `Succeed state: field "Next"`},
		{name: "missing substitution", def: `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"${PlanArn}","End":true}}}`, wantErr: "missing definition substitution(s): PlanArn"},
		{name: "unknown resource", def: `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"${PlanArn}","End":true}}}`, subs: map[string]string{"PlanArn": "arn:plan"}, wantErr: `state "S": task resource "arn:plan" has no Invoker`},
		{name: "intrinsic function", def: task(`"Parameters":{"msg.$":"States.Format('x {}', $.a)"},`), wantErr: `intrinsic function`},
		{name: "JSONPath wildcard", def: task(`"Parameters":{"all.$":"$.items[*].id"},`), wantErr: `unsupported JSONPath selector [*]`},
		{name: "JSONPath recursive descent", def: task(`"InputPath":"$..id",`), wantErr: `unsupported JSONPath syntax`},
		{name: "JSONPath filter", def: task(`"OutputPath":"$.a[?(@.x)]",`), wantErr: `unsupported JSONPath selector`},
		{name: "path without $", def: task(`"InputPath":"a.b",`), wantErr: `must start with $`},
		{name: "non-string .$ value", def: task(`"Parameters":{"a.$":5},`), wantErr: `value must be a path string`},
		{name: "ResultPath on the context object", def: task(`"ResultPath":"$$.State",`), wantErr: `a $$ path is not allowed`},
		{name: "States.ALL not last", def: task(`"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}],`), wantErr: "States.ALL must appear alone and in the last retrier"},
		{name: "States.ALL not alone", def: task(`"Catch":[{"ErrorEquals":["States.ALL","X"],"Next":"Done"}],`), wantErr: "States.ALL must appear alone"},
		{name: "unknown retrier field", def: task(`"Retry":[{"ErrorEquals":["X"],"Backoff":2}],`), wantErr: `Retry[0]: field "Backoff" is not supported`},
		{name: "bad jitter", def: task(`"Retry":[{"ErrorEquals":["X"],"JitterStrategy":"HALF"}],`), wantErr: `JitterStrategy "HALF"`},
		{name: "BackoffRate below 1", def: task(`"Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}],`), wantErr: "BackoffRate must be >= 1.0"},
		{name: "non-integer TimeoutSeconds", def: task(`"TimeoutSeconds":1.5,`), wantErr: `TimeoutSeconds of type int`},
		{name: "Map Iterator", def: one(`{"Type":"Map","Iterator":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"Next":"Done"}`), wantErr: `field "Iterator" is not supported (use ItemProcessor)`},
		{name: "Map Parameters", def: inlineMap(`"Parameters":{"a":1},`, `{"Type":"Succeed"}`), wantErr: `field "Parameters" is not supported (inside a Map use ItemSelector)`},
		{name: "Distributed Map", def: one(`{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"Next":"Done"}`), wantErr: `Mode "DISTRIBUTED" is not supported`},
		{name: "Map ItemReader", def: inlineMap(`"ItemReader":{},`, `{"Type":"Succeed"}`), wantErr: `field "ItemReader"`},
		{name: "Map without ItemProcessor", def: one(`{"Type":"Map","Next":"Done"}`), wantErr: "ItemProcessor is required"},
		{name: "error inside ItemProcessor names the nested state", def: inlineMap(``, `{"Type":"Wait","Seconds":1,"End":true}`), wantErr: `state "S/I": state type "Wait"`},
		{name: "inner Next may not leave the ItemProcessor", def: inlineMap(``, `{"Type":"Pass","Next":"Done"}`), wantErr: `state "S/I": Next "Done" is not a state`},
		{name: "Choice with End", def: one(`{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"Done"}],"End":true}`), wantErr: `Choice state: field "End"`},
		{name: "Choice StringMatches", def: one(`{"Type":"Choice","Choices":[{"Variable":"$.a","StringMatches":"x*","Next":"Done"}]}`), wantErr: `field "StringMatches" is not supported`},
		{name: "Choice two comparisons", def: one(`{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x","IsPresent":true,"Next":"Done"}]}`), wantErr: "exactly one comparison"},
		{name: "Choice operand type", def: one(`{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":"1","Next":"Done"}]}`), wantErr: "NumericEquals needs a number operand"},
		{name: "Choice nested rule with Next", def: one(`{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsPresent":true,"Next":"Done"},"Next":"Done"}]}`), wantErr: `Choices[0].Not: field "Next" is not supported`},
		{name: "Choice without Variable", def: one(`{"Type":"Choice","Choices":[{"IsPresent":true,"Next":"Done"}]}`), wantErr: "Variable is required"},
		{name: "Fail ErrorPath", def: `{"StartAt":"S","States":{"S":{"Type":"Fail","ErrorPath":"$.e"}}}`, wantErr: `Fail state: field "ErrorPath"`},
	}
	resources := map[string]sfnlocal.Invoker{"fn": echo}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := sfnlocal.Load([]byte(tt.def), tt.subs, resources)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestLoadSubstitutesBeforeParsing(t *testing.T) {
	t.Parallel()
	const def = `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":${N},
		"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"${Fn}","End":true}}},"End":true}}}`
	m, err := sfnlocal.Load([]byte(def), map[string]string{"N": "2", "Fn": "arn:aws:lambda:fn", "Unused": "x"},
		map[string]sfnlocal.Invoker{"arn:aws:lambda:fn": echo})
	require.NoError(t, err)
	out, err := m.Execute(context.Background(), "", []byte(`[1,2,3]`))
	require.NoError(t, err)
	require.JSONEq(t, `[1,2,3]`, string(out))
}

func TestFailState(t *testing.T) {
	t.Parallel()
	const def = `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"GenerationFailed","Cause":"no candidates"}}}`
	m := load(t, def, nil)
	_, err := m.Execute(context.Background(), "", []byte(`{}`))
	ee := requireExecErr(t, err, "GenerationFailed")
	require.Equal(t, "no candidates", ee.Cause)
	require.EqualError(t, err, "GenerationFailed: no candidates")
}

func TestExecuteRejectsInvalidInput(t *testing.T) {
	t.Parallel()
	m := load(t, `{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}`, nil)
	_, err := m.Execute(context.Background(), "", []byte(`{"a":`))
	require.ErrorContains(t, err, "invalid input")
}
