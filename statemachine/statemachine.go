// Package statemachine embeds the generation state machine's definition, so
// that the local runner executes the very file SAM deploys.
package statemachine

import (
	_ "embed"
	"encoding/json"
	"regexp"
	"time"
)

// Definition is generation.asl.json with its ${…} placeholders unreplaced.
//
//go:embed generation.asl.json
var Definition []byte

// ExecutionTimeout is the definition's own TimeoutSeconds: no execution
// runs longer (0 if the definition sets none).
func ExecutionTimeout() time.Duration {
	// A placeholder may stand where a number goes (MaxConcurrency), so
	// they are filled with 0 before parsing; none is the timeout.
	filled := Placeholder.ReplaceAll(Definition, []byte("0"))
	var def struct{ TimeoutSeconds int }
	if err := json.Unmarshal(filled, &def); err != nil {
		return 0
	}
	return time.Duration(def.TimeoutSeconds) * time.Second
}

// Placeholder matches a ${Name} substitution of the definition (the name is
// its first group), replaced textually as Step Functions'
// DefinitionSubstitutions are.
var Placeholder = regexp.MustCompile(`\$\{([^{}]*)\}`)
