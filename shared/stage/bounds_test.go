package stage_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/stage"
	"github.com/designerbff/pipeline/statemachine"
)

// The largest Plan output any settings can produce stays far below Step
// Functions' 256 KiB state payload limit.
func TestLargestPlanOutputFitsTheStatePayload(t *testing.T) {
	t.Parallel()
	out := stage.PlanOutput{GenerationID: generation.NewID(), Round: generation.MaxMaxRounds, Needed: generation.MaxCount,
		Bounded: strings.Repeat("x", 300)}
	for range generation.MaxRoundImages {
		out.CandidateIDs = append(out.CandidateIDs, generation.NewID())
	}
	raw, err := json.Marshal(out)
	require.NoError(t, err)
	require.LessOrEqual(t, len(raw), generation.StatePayloadLimit/4, "even the absolute round bound uses a quarter at most")
	t.Logf("Plan output of %d ids: %d bytes (limit %d)", generation.MaxRoundImages, len(raw), generation.StatePayloadLimit)
}

// aslState is what the event count needs of a state.
type aslState struct {
	Type    string
	Next    string
	End     bool
	Choices []struct{ Next string }
	Default string
	Catch   []struct{ Next string }
	// ItemProcessor is the Map's iteration.
	ItemProcessor *aslMachine
}

type aslMachine struct {
	StartAt string
	States  map[string]aslState
}

// events is what entering and leaving a state costs in a Standard
// workflow's history, without retries: a Lambda Task is entered,
// scheduled, started, succeeded (or failed) and exited; a Map state is
// entered, started, succeeded and exited; the others are entered and exited.
func events(t *testing.T, s aslState) int {
	switch s.Type {
	case "Task":
		return 5
	case "Map":
		return 4
	case "Choice", "Pass", "Succeed", "Fail":
		return 2
	}
	t.Fatalf("no event count for state type %s", s.Type)
	return 0
}

// longest is the most events any path from name to an end costs,
// following Next, every Choice and every Catch.
func longest(t *testing.T, m aslMachine, name string) int {
	s, ok := m.States[name]
	require.True(t, ok, name)
	var next []string
	if s.Next != "" {
		next = append(next, s.Next)
	}
	for _, c := range s.Choices {
		next = append(next, c.Next)
	}
	for _, c := range s.Catch {
		next = append(next, c.Next)
	}
	if s.Default != "" {
		next = append(next, s.Default)
	}
	most := 0
	for _, n := range next {
		most = max(most, longest(t, m, n))
	}
	return events(t, s) + most
}

// The constants behind generation.MaxGenerationImages are those of our
// definition, and the most candidates one execution can hold under the
// maximum settings stays within half the 25,000-event history.
func TestLargestGenerationFitsTheExecutionHistory(t *testing.T) {
	t.Parallel()
	def := strings.ReplaceAll(string(statemachine.Definition), "${MapMaxConcurrency}", "10")
	var m aslMachine
	require.NoError(t, json.Unmarshal([]byte(def), &m))

	// One candidate: the iteration's start and end, and its longest path.
	mapState := m.States["GenerateAndValidate"]
	require.NotNil(t, mapState.ItemProcessor, "the Map state iterates inline")
	perCandidate := 2 + longest(t, *mapState.ItemProcessor, mapState.ItemProcessor.StartAt)
	require.Equal(t, 19, perCandidate, "recount generation.EventsPerCandidate")
	require.Equal(t, perCandidate+2*3, generation.EventsPerCandidate, "the longest path plus two retries")

	// One round: the cycle Plan → … → NextRound → Plan.
	perRound := 0
	for name := m.StartAt; ; {
		s := m.States[name]
		perRound += events(t, s)
		switch {
		case s.Type == "Choice":
			name = s.Choices[0].Next
		default:
			name = s.Next
		}
		require.NotEmpty(t, name, "the round loops back to %s", m.StartAt)
		if name == m.StartAt {
			break
		}
	}
	require.Equal(t, generation.EventsPerRound, perRound, "recount generation.EventsPerRound")

	most := generation.GenerationBound(generation.MaxCount)*generation.EventsPerCandidate +
		generation.MaxMaxRounds*generation.EventsPerRound + generation.EventsPerExecution
	require.LessOrEqual(t, most, generation.HistoryEventLimit/2)
	t.Logf("the largest generation: %d images, %d events (limit %d)", generation.GenerationBound(generation.MaxCount), most, generation.HistoryEventLimit)
}
