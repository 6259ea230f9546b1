package stage

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/designerbff/pipeline/statemachine"
	"github.com/stretchr/testify/require"
)

// retriedErrors collects every error name a Retry block of the definition
// names, at any depth (the Map's iterator included).
func retriedErrors(node any, into map[string]bool) {
	switch n := node.(type) {
	case map[string]any:
		if retries, ok := n["Retry"].([]any); ok {
			for _, r := range retries {
				for _, name := range r.(map[string]any)["ErrorEquals"].([]any) {
					into[name.(string)] = true
				}
			}
		}
		for _, v := range n {
			retriedErrors(v, into)
		}
	case []any:
		for _, v := range n {
			retriedErrors(v, into)
		}
	}
}

// An execution that failed on an error the definition retries met an outage
// longer than its retries; executionstatus restarts exactly those. InternalError
// is retried only as a backstop against a bug, so a restart would meet it again.
func TestTransientErrorsAreWhatTheDefinitionRetries(t *testing.T) {
	// Unquoted placeholders (numbers) become 1 so the definition parses.
	rendered := statemachine.Placeholder.ReplaceAllString(string(statemachine.Definition), "1")
	var def any
	require.NoError(t, json.Unmarshal([]byte(rendered), &def))
	retried := map[string]bool{}
	retriedErrors(def, retried)
	delete(retried, "InternalError")
	var names []string
	for name := range retried {
		names = append(names, name)
	}
	slices.Sort(names)
	want := slices.Clone(transientErrors)
	slices.Sort(want)
	require.Equal(t, names, want)
}
