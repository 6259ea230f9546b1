package sfnlocal_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

func TestChoice(t *testing.T) {
	t.Parallel()
	const input = `{"s":"stored","n":5,"big":12345678901234567890,"f":2.5,"b":true,"z":null,"other":5,"str5":"5"}`
	tests := []struct {
		name      string
		rule      string // one rule, without Next
		noDefault bool
		want      string // "Yes", "No" or an error name
	}{
		{name: "StringEquals match", rule: `"Variable":"$.s","StringEquals":"stored"`, want: "Yes"},
		{name: "StringEquals miss", rule: `"Variable":"$.s","StringEquals":"failed"`, want: "No"},
		{name: "StringEquals on a number is false", rule: `"Variable":"$.n","StringEquals":"5"`, want: "No"},
		{name: "StringEqualsPath", rule: `"Variable":"$.str5","StringEqualsPath":"$.str5"`, want: "Yes"},
		{name: "NumericEquals", rule: `"Variable":"$.n","NumericEquals":5.0`, want: "Yes"},
		{name: "NumericEquals exact on big integers", rule: `"Variable":"$.big","NumericEquals":12345678901234567891`, want: "No"},
		{name: "NumericEquals on a string is false", rule: `"Variable":"$.str5","NumericEquals":5`, want: "No"},
		{name: "NumericEqualsPath", rule: `"Variable":"$.n","NumericEqualsPath":"$.other"`, want: "Yes"},
		{name: "NumericLessThan true", rule: `"Variable":"$.f","NumericLessThan":3`, want: "Yes"},
		{name: "NumericLessThan false on equal", rule: `"Variable":"$.n","NumericLessThan":5`, want: "No"},
		{name: "NumericLessThanPath", rule: `"Variable":"$.f","NumericLessThanPath":"$.n"`, want: "Yes"},
		{name: "NumericGreaterThan true", rule: `"Variable":"$.n","NumericGreaterThan":4.99`, want: "Yes"},
		{name: "NumericGreaterThan false on equal", rule: `"Variable":"$.n","NumericGreaterThan":5`, want: "No"},
		{name: "NumericGreaterThanPath", rule: `"Variable":"$.n","NumericGreaterThanPath":"$.f"`, want: "Yes"},
		{name: "NumericLessThanEquals on equal", rule: `"Variable":"$.n","NumericLessThanEquals":5`, want: "Yes"},
		{name: "NumericLessThanEquals false", rule: `"Variable":"$.n","NumericLessThanEquals":4`, want: "No"},
		{name: "NumericLessThanEqualsPath", rule: `"Variable":"$.n","NumericLessThanEqualsPath":"$.other"`, want: "Yes"},
		{name: "NumericGreaterThanEquals on equal", rule: `"Variable":"$.n","NumericGreaterThanEquals":5`, want: "Yes"},
		{name: "NumericGreaterThanEquals false", rule: `"Variable":"$.f","NumericGreaterThanEquals":3`, want: "No"},
		{name: "NumericGreaterThanEqualsPath", rule: `"Variable":"$.f","NumericGreaterThanEqualsPath":"$.n"`, want: "No"},
		{name: "BooleanEquals", rule: `"Variable":"$.b","BooleanEquals":true`, want: "Yes"},
		{name: "BooleanEquals false", rule: `"Variable":"$.b","BooleanEquals":false`, want: "No"},
		{name: "BooleanEqualsPath", rule: `"Variable":"$.b","BooleanEqualsPath":"$.b"`, want: "Yes"},
		{name: "IsPresent true", rule: `"Variable":"$.z","IsPresent":true`, want: "Yes"},
		{name: "IsPresent on a missing field", rule: `"Variable":"$.missing","IsPresent":true`, want: "No"},
		{name: "IsPresent false on a missing field", rule: `"Variable":"$.missing","IsPresent":false`, want: "Yes"},
		{name: "IsNull true", rule: `"Variable":"$.z","IsNull":true`, want: "Yes"},
		{name: "IsNull on a value", rule: `"Variable":"$.n","IsNull":true`, want: "No"},
		{name: "IsNull false on a value", rule: `"Variable":"$.n","IsNull":false`, want: "Yes"},
		{name: "context object variable", rule: `"Variable":"$$.Execution.Name","StringEquals":"run-7"`, want: "Yes"},
		{name: "And all true", rule: `"And":[{"Variable":"$.b","BooleanEquals":true},{"Variable":"$.n","NumericLessThan":10}]`, want: "Yes"},
		{name: "And one false", rule: `"And":[{"Variable":"$.b","BooleanEquals":true},{"Variable":"$.n","NumericLessThan":1}]`, want: "No"},
		{name: "Or one true", rule: `"Or":[{"Variable":"$.s","StringEquals":"x"},{"Variable":"$.n","NumericEquals":5}]`, want: "Yes"},
		{name: "Or none true", rule: `"Or":[{"Variable":"$.s","StringEquals":"x"},{"Variable":"$.n","NumericEquals":6}]`, want: "No"},
		{name: "Not", rule: `"Not":{"Variable":"$.s","StringEquals":"x"}`, want: "Yes"},
		{name: "nested And/Not/Or", rule: `"And":[{"Not":{"Variable":"$.z","IsNull":false}},{"Or":[{"Variable":"$.missing","IsPresent":true},{"Variable":"$.f","NumericGreaterThan":2}]}]`, want: "Yes"},
		{name: "missing variable is States.Runtime", rule: `"Variable":"$.missing","StringEquals":"x"`, want: sfnlocal.ErrRuntime},
		{name: "missing operand path is States.Runtime", rule: `"Variable":"$.n","NumericEqualsPath":"$.missing"`, want: sfnlocal.ErrRuntime},
		{name: "no match and no Default", rule: `"Variable":"$.s","StringEquals":"failed"`, noDefault: true, want: sfnlocal.ErrNoChoiceMatched},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			def := fmt.Sprintf(`{"StartAt":"C","States":{
				"C":{"Type":"Choice","Choices":[{%s,"Next":"Yes"}],"Default":"No"},
				"Yes":{"Type":"Pass","Result":"Yes","End":true},
				"No":{"Type":"Pass","Result":"No","End":true}}}`, tt.rule)
			if tt.noDefault {
				def = fmt.Sprintf(`{"StartAt":"C","States":{
					"C":{"Type":"Choice","Choices":[{%s,"Next":"Yes"}]},
					"Yes":{"Type":"Pass","Result":"Yes","End":true}}}`, tt.rule)
			}
			m := load(t, def, nil)
			out, err := m.Execute(context.Background(), "run-7", []byte(input))
			if tt.want != "Yes" && tt.want != "No" {
				requireExecErr(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			require.JSONEq(t, `"`+tt.want+`"`, string(out))
		})
	}
}

func TestChoiceFirstMatchWinsAndPassesInput(t *testing.T) {
	t.Parallel()
	const def = `{"StartAt":"C","States":{
		"C":{"Type":"Choice","InputPath":"$.in","OutputPath":"$.v","Choices":[
			{"Variable":"$.v","NumericGreaterThan":1,"Next":"A"},
			{"Variable":"$.v","NumericGreaterThan":0,"Next":"B"}]},
		"A":{"Type":"Pass","Parameters":{"via":"A","v.$":"$"},"End":true},
		"B":{"Type":"Pass","Parameters":{"via":"B","v.$":"$"},"End":true}}}`
	m := load(t, def, nil)
	out, err := m.Execute(context.Background(), "", []byte(`{"in":{"v":2}}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"via":"A","v":2}`, string(out))
}
