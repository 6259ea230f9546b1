// Package statemachine embeds the generation state machine's definition, so
// that the local runner executes the very file SAM deploys.
package statemachine

import _ "embed"

// Definition is generation.asl.json with its ${…} placeholders unreplaced.
//
//go:embed generation.asl.json
var Definition []byte
