package sfnlocal_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

// TestPaths runs one state "S" per case and checks the payload the Task
// received (when there is one) and the execution output.
func TestPaths(t *testing.T) {
	t.Parallel()
	const input = `{"a":{"b":"B","n":3},"c":[10,20,30],"d":"D","keep":true}`
	tests := []struct {
		name        string
		state       string // the JSON of state S
		wantPayload string // what the Task "fn" received
		wantOut     string
		wantErr     string
	}{
		{
			name:    "no paths: output is the result",
			state:   `{"Type":"Task","Resource":"fn","End":true}`,
			wantOut: `{"result":"R","Payload":{"v":7}}`,
		},
		{
			name:        "InputPath selects the task input",
			state:       `{"Type":"Task","Resource":"fn","InputPath":"$.a","End":true}`,
			wantPayload: `{"b":"B","n":3}`,
			wantOut:     `{"result":"R","Payload":{"v":7}}`,
		},
		{
			name:        "InputPath with index",
			state:       `{"Type":"Task","Resource":"fn","InputPath":"$.c[2]","End":true}`,
			wantPayload: `30`,
			wantOut:     `{"result":"R","Payload":{"v":7}}`,
		},
		{
			name:        "InputPath null sends an empty object",
			state:       `{"Type":"Task","Resource":"fn","InputPath":null,"End":true}`,
			wantPayload: `{}`,
			wantOut:     `{"result":"R","Payload":{"v":7}}`,
		},
		{
			name: "Parameters with paths, nesting, arrays and the context object",
			state: `{"Type":"Task","Resource":"fn","InputPath":"$","End":true,"Parameters":{
				"id.$":"$.a.b","lit":1.50,"nested":{"x.$":"$.c[1]","deep":{"y.$":"$['d']"}},
				"arr":[{"z.$":"$.a.n"},"plain"],"exec.$":"$$.Execution.Name","state.$":"$$.State.Name",
				"orig.$":"$$.Execution.Input.keep","tries.$":"$$.State.RetryCount","whole.$":"$.c"}}`,
			wantPayload: `{"id":"B","lit":1.50,"nested":{"x":20,"deep":{"y":"D"}},"arr":[{"z":3},"plain"],
				"exec":"exec-1","state":"S","orig":true,"tries":0,"whole":[10,20,30]}`,
			wantOut: `{"result":"R","Payload":{"v":7}}`,
		},
		{
			name:    "ResultSelector applies to the raw result",
			state:   `{"Type":"Task","Resource":"fn","ResultSelector":{"v.$":"$.Payload.v","name.$":"$$.State.Name"},"End":true}`,
			wantOut: `{"v":7,"name":"S"}`,
		},
		{
			name:    "ResultPath null discards the result",
			state:   `{"Type":"Task","Resource":"fn","ResultPath":null,"End":true}`,
			wantOut: input,
		},
		{
			name:    "ResultPath creates intermediate objects and keeps the raw input",
			state:   `{"Type":"Task","Resource":"fn","InputPath":"$.a","ResultPath":"$.x.y.z","End":true}`,
			wantOut: `{"a":{"b":"B","n":3},"c":[10,20,30],"d":"D","keep":true,"x":{"y":{"z":{"result":"R","Payload":{"v":7}}}}}`,
		},
		{
			name:    "ResultPath into an existing object keeps its siblings",
			state:   `{"Type":"Task","Resource":"fn","ResultSelector":{"v.$":"$.Payload.v"},"ResultPath":"$.a.r","End":true}`,
			wantOut: `{"a":{"b":"B","n":3,"r":{"v":7}},"c":[10,20,30],"d":"D","keep":true}`,
		},
		{
			name:    "ResultPath replaces an array element",
			state:   `{"Type":"Pass","Result":"new","ResultPath":"$.c[1]","End":true}`,
			wantOut: `{"a":{"b":"B","n":3},"c":[10,"new",30],"d":"D","keep":true}`,
		},
		{
			name:    "OutputPath after ResultPath",
			state:   `{"Type":"Task","Resource":"fn","ResultPath":"$.r","OutputPath":"$.r.Payload","End":true}`,
			wantOut: `{"v":7}`,
		},
		{
			name:    "OutputPath null",
			state:   `{"Type":"Task","Resource":"fn","OutputPath":null,"End":true}`,
			wantOut: `{}`,
		},
		{
			name:    "Pass Parameters",
			state:   `{"Type":"Pass","Parameters":{"b.$":"$.a.b","k":"v"},"ResultPath":"$.p","OutputPath":"$.p","End":true}`,
			wantOut: `{"b":"B","k":"v"}`,
		},
		{
			name:    "Pass Result wins over input",
			state:   `{"Type":"Pass","Result":{"fixed":[1,2]},"ResultPath":"$.f","OutputPath":"$.f","End":true}`,
			wantOut: `{"fixed":[1,2]}`,
		},
		{
			name:    "Pass without Result passes its effective input",
			state:   `{"Type":"Pass","InputPath":"$.a.b","End":true}`,
			wantOut: `"B"`,
		},
		{
			name:    "Succeed applies InputPath and OutputPath",
			state:   `{"Type":"Succeed","InputPath":"$.a","OutputPath":"$.n"}`,
			wantOut: `3`,
		},
		{
			name:    "Parameters path that does not resolve is States.Runtime",
			state:   `{"Type":"Task","Resource":"fn","Parameters":{"x.$":"$.missing"},"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Never"}],"End":true}`,
			wantErr: sfnlocal.ErrRuntime,
		},
		{
			name:    "InputPath that does not resolve is States.Runtime",
			state:   `{"Type":"Pass","InputPath":"$.c[9]","End":true}`,
			wantErr: sfnlocal.ErrRuntime,
		},
		{
			name:    "OutputPath that does not resolve is States.Runtime",
			state:   `{"Type":"Pass","OutputPath":"$.a.zzz","End":true}`,
			wantErr: sfnlocal.ErrRuntime,
		},
		{
			name:    "ResultSelector path that does not resolve is States.Runtime",
			state:   `{"Type":"Task","Resource":"fn","ResultSelector":{"x.$":"$.nope"},"End":true}`,
			wantErr: sfnlocal.ErrRuntime,
		},
		{
			name:    "ResultPath through a non-object fails",
			state:   `{"Type":"Pass","ResultPath":"$.d.x","End":true}`,
			wantErr: sfnlocal.ErrResultPathFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []byte
			fn := func(_ context.Context, payload []byte) ([]byte, error) {
				mu.Lock()
				defer mu.Unlock()
				got = payload
				return []byte(`{"result":"R","Payload":{"v":7}}`), nil
			}
			def := fmt.Sprintf(`{"StartAt":"S","States":{"S":%s,"Never":{"Type":"Pass","End":true}}}`, tt.state)
			if !strings.Contains(tt.state, "Never") {
				def = fmt.Sprintf(`{"StartAt":"S","States":{"S":%s}}`, tt.state)
			}
			m := load(t, def, map[string]sfnlocal.Invoker{"fn": fn})
			out, err := m.Execute(context.Background(), "exec-1", []byte(input))
			if requireOutcome(t, out, err, tt.wantErr, tt.wantOut) {
				return
			}
			if tt.wantPayload != "" {
				require.JSONEq(t, tt.wantPayload, string(got))
			}
		})
	}
}

// TestInputIsNotMutated checks that ResultPath copies instead of writing
// into values shared with the execution input ($$.Execution.Input).
func TestInputIsNotMutated(t *testing.T) {
	t.Parallel()
	const def = `{"StartAt":"A","States":{
		"A":{"Type":"Pass","Result":1,"ResultPath":"$.a.x","Next":"B"},
		"B":{"Type":"Pass","Parameters":{"orig.$":"$$.Execution.Input","now.$":"$"},"End":true}}}`
	m := load(t, def, nil)
	out, err := m.Execute(context.Background(), "", []byte(`{"a":{"y":2}}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"orig":{"a":{"y":2}},"now":{"a":{"y":2,"x":1}}}`, string(out))
}

func TestDataLimitExceeded(t *testing.T) {
	t.Parallel()
	big := `"` + strings.Repeat("x", 300*1024) + `"`
	tests := []struct {
		name  string
		state string
		input string
	}{
		{name: "task result over 256 KiB", state: `{"Type":"Task","Resource":"big","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Never"}],"End":true}`, input: `{}`},
		{name: "state output over 256 KiB", state: `{"Type":"Task","Resource":"small","Parameters":{"a":1},"ResultPath":"$.r","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Never"}],"End":true}`, input: `{"payload":` + big + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			def := fmt.Sprintf(`{"StartAt":"S","States":{"S":%s,"Never":{"Type":"Pass","End":true}}}`, tt.state)
			m := load(t, def, map[string]sfnlocal.Invoker{"big": fixed(big), "small": fixed(`{}`)})
			_, err := m.Execute(context.Background(), "", []byte(tt.input))
			requireExecErr(t, err, sfnlocal.ErrDataLimitExceeded)
		})
	}
}
