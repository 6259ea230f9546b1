// Package stage holds the Lambda-boundary handler of each pipeline stage:
// decode the event, call one domain operation, encode the result or name the
// error for Step Functions. The handlers live here, not in functions/*, so
// that the local runner calls the very same code in-process.
package stage

// The JSON types below are the API between states of
// statemachine/generation.asl.json: payloads carry ids, never bytes.

// RoundInput starts a round (the execution input is {"generationId", "round": 1}).
type RoundInput struct {
	GenerationID string `json:"generationId"`
	Round        int    `json:"round"`
}

// PlanOutput lists the round's candidates for the Map state.
type PlanOutput struct {
	GenerationID string   `json:"generationId"`
	Round        int      `json:"round"`
	CandidateIDs []string `json:"candidateIds"`
	Needed       int      `json:"needed"`
	// Bounded says that the round needed more images than its bound
	// (generation.RoundBound, GenerationBound) and planned the bound.
	Bounded string `json:"bounded,omitempty"`
}

// CandidateInput is one Map item.
type CandidateInput struct {
	GenerationID string `json:"generationId"`
	CandidateID  string `json:"candidateId"`
}

// GenerateOutput tells the Choice state whether there is an image to validate.
type GenerateOutput struct {
	GenerationID string `json:"generationId"`
	CandidateID  string `json:"candidateId"`
	Stored       bool   `json:"stored"`
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"`
}

// ValidateOutput is the candidate's verdict in short.
type ValidateOutput struct {
	GenerationID string   `json:"generationId"`
	CandidateID  string   `json:"candidateId"`
	Score        float64  `json:"score"`
	Passed       bool     `json:"passed"`
	Reasons      []string `json:"reasons,omitempty"`
}

// SelectOutput drives the top-up Choice.
type SelectOutput struct {
	GenerationID string `json:"generationId"`
	Round        int    `json:"round"`
	Passed       int    `json:"passed"`
	Shortfall    int    `json:"shortfall"`
	TopUp        bool   `json:"topUp"`
	NextRound    int    `json:"nextRound,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// DeliverInput names the generation to finish.
type DeliverInput struct {
	GenerationID string `json:"generationId"`
}

// DeliverOutput is the execution's final output.
type DeliverOutput struct {
	GenerationID string `json:"generationId"`
	Status       string `json:"status"`
	Requested    int    `json:"requested"`
	Delivered    int    `json:"delivered"`
	Reason       string `json:"reason,omitempty"`
}

// StateError is what a Catch puts at its ResultPath.
type StateError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// MarkFailedInput marks one candidate failed (inside the Map) or, without a
// candidate id, the whole generation (the top-level Catch).
type MarkFailedInput struct {
	GenerationID string     `json:"generationId"`
	CandidateID  string     `json:"candidateId,omitempty"`
	Error        StateError `json:"error"`
}

// MarkFailedOutput echoes what was marked.
type MarkFailedOutput struct {
	GenerationID string `json:"generationId"`
	CandidateID  string `json:"candidateId,omitempty"`
	Status       string `json:"status"`
	Reason       string `json:"reason"`
}

// RecalibrateOutput summarises a recalibration run.
type RecalibrateOutput struct {
	Providers int `json:"providers"`
	Samples   int `json:"samples"`
	Swept     int `json:"swept"` // stalled generations finalised
}
