package generation

// Bounds on the images (candidates) a generation plans. They hold before
// anything is written: a plan never lists more candidates than one Step
// Functions state can carry, and a generation never plans more than one
// Standard execution's history can hold, because both limits are
// uncatchable (States.DataLimitExceeded, a history that is cut off) and
// must be designed out. statemachine_test pins the constants against the
// definition.
const (
	// RoundImagesPerCount bounds one round at this multiple of count: a
	// named 200 % buffer (MaxBufferPercent) is exactly 3·count, so the bound
	// only binds an "auto" plan or a top-up that would need more.
	RoundImagesPerCount = 1 + MaxBufferPercent/100
	// GenerationImagesPerCount bounds all rounds of a generation together.
	GenerationImagesPerCount = 5

	// StatePayloadLimit is Step Functions' limit on a state's input or
	// output (256 KiB). Plan's output lists the round's candidate ids.
	StatePayloadLimit = 256 << 10
	// CandidateIDBytes is one candidate id in Plan's JSON output: a quoted
	// 36-character UUID and its comma.
	CandidateIDBytes = 39
	// MaxRoundImages is the absolute bound of a round: its ids fill at most
	// an eighth of the payload limit (the rest of Plan's output is under
	// 200 bytes).
	MaxRoundImages = StatePayloadLimit / 8 / CandidateIDBytes

	// HistoryEventLimit is a Standard workflow execution's history limit.
	HistoryEventLimit = 25_000
	// EventsPerCandidate is what one candidate costs in the inline Map's
	// history: the longest path without retries is 19 events (iteration
	// started and succeeded 2, GenerateImage 5, Stored? 2, ValidateImage
	// failing and caught 5, MarkCandidateFailed 5), and each Retry adds 3
	// (scheduled, started, failed); two retries per candidate are allowed
	// for on average.
	EventsPerCandidate = 19 + 2*3
	// EventsPerRound is a round's own cost: Plan 5, the Map state 4,
	// Select 5, TopUp? 2, NextRound 2.
	EventsPerRound = 18
	// EventsPerExecution is the rest: the execution's start and end,
	// Deliver (5) or MarkFailed and Failed.
	EventsPerExecution = 10
	// MaxGenerationImages is the absolute bound of a generation: with
	// MaxMaxRounds rounds its history stays within half the limit, the
	// other half being room for retries beyond the allowance.
	MaxGenerationImages = (HistoryEventLimit/2 - MaxMaxRounds*EventsPerRound - EventsPerExecution) / EventsPerCandidate
)

// GenerationBound is the most images all rounds of a generation of count
// images may plan together: GenerationImagesPerCount·count, at most
// MaxGenerationImages. settings.maxImages may not exceed it.
func GenerationBound(count int) int {
	return min(GenerationImagesPerCount*count, MaxGenerationImages)
}

// RoundBound is the most images one round of a generation of count images
// may plan: RoundImagesPerCount·count, at most MaxRoundImages.
func RoundBound(count int) int {
	return min(RoundImagesPerCount*count, MaxRoundImages)
}
