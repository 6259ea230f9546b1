package generation

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Provider generates images. Adapters live in shared/provider/...
type Provider interface {
	// Name is the provider id stored on generations and statistics ("procedural", "openai", …).
	Name() string
	// DefaultModel is the model used when a request names none, so that
	// every candidate is attributed to a model before it is generated.
	DefaultModel() string
	// Generate makes one image. Expected failures are returned as *ProviderError.
	Generate(ctx context.Context, req ProviderRequest) (Image, error)
}

// ProviderRequest is what a provider is asked for one candidate.
type ProviderRequest struct {
	Model                string
	Prompt               string
	NegativePrompt       string
	Modifiers            []string
	Seed                 int64
	Width                int
	Height               int
	Reference            []byte // the user's reference image bytes, may be nil
	ReferenceContentType string
	ReferencePalette     []Color
}

// Image is one generated image.
type Image struct {
	Bytes       []byte
	ContentType string // image/png, image/jpeg, image/webp
	Width       int
	Height      int
	Model       string
	CostUSD     float64
}

// ProviderErrorKind names a provider outcome other than an image.
type ProviderErrorKind string

const (
	ProviderFiltered       ProviderErrorKind = "filtered"        // safety filter; a candidate outcome, never retried with the same prompt
	ProviderThrottled      ProviderErrorKind = "throttled"       // 429; retried by the state machine
	ProviderUnavailable    ProviderErrorKind = "unavailable"     // 5xx, timeouts; retried by the state machine
	ProviderInvalidRequest ProviderErrorKind = "invalid_request" // 4xx the request caused
	ProviderModelRetired   ProviderErrorKind = "model_retired"
	ProviderAuth           ProviderErrorKind = "auth"
)

// ProviderError is a provider's typed outcome.
type ProviderError struct {
	Kind       ProviderErrorKind
	Provider   string
	Reason     string        // the provider's own words or code, for feedback and users
	RetryAfter time.Duration // for throttled, when the provider said
	Err        error
}

func (e *ProviderError) Error() string {
	msg := fmt.Sprintf("provider %s: %s", e.Provider, e.Kind)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ProviderError) Unwrap() error { return e.Err }

// AsProviderError returns the *ProviderError in err's chain, if any.
func AsProviderError(err error) (*ProviderError, bool) {
	var pe *ProviderError
	ok := errors.As(err, &pe)
	return pe, ok
}

// Validator judges an image from its bytes. An image that cannot be decoded is
// a failed Verdict with a reason, not an error; errors are for broken callers.
type Validator interface {
	Version() string
	Validate(ctx context.Context, image []byte, spec ValidationSpec) (Verdict, error)
}

// ValidationSpec is what an image is judged against.
type ValidationSpec struct {
	Width     int               // requested width (0: not checked)
	Height    int               // requested height (0: not checked)
	Reference ReferenceFeatures // the user's reference image
	MinScore  float64           // pass threshold, VALIDATION_MIN_SCORE
}

// ObjectStore holds image bytes (R2 in AWS, an in-process S3 server locally).
type ObjectStore interface {
	// Put writes body at key, replacing what was there.
	Put(ctx context.Context, key string, body []byte, contentType string, metadata map[string]string) error
	// Get returns the object's bytes; ENOTFOUND if there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// PresignGet returns a time-limited GET URL. Never store it.
	PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error)
}

// Publisher sends feedback events to the learner (SQS in AWS).
type Publisher interface {
	Publish(ctx context.Context, events []FeedbackEvent) error
}

// Starter starts the state machine for a generation. Starting twice for one
// generation starts it once (the execution is named after the generation).
type Starter interface {
	Start(ctx context.Context, generationID string) (executionARN string, err error)
}

// Store is the source of truth (Postgres). Every write is idempotent on its key.
type Store interface {
	// CreateGeneration inserts g. If g.UserID already has a generation with
	// g.IdempotencyKey (non-empty), it returns that one and created=false.
	CreateGeneration(ctx context.Context, g Generation) (stored Generation, created bool, err error)
	// Generation returns ENOTFOUND if there is no such generation.
	Generation(ctx context.Context, id string) (Generation, error)
	// SetExecution records the execution that runs the generation.
	SetExecution(ctx context.Context, generationID, executionARN string) error

	// SavePlan writes a round's candidates (existing (generation, round, index)
	// rows are kept as they are) and the generation's plan fields, in one
	// transaction, and returns every candidate of the round in index order.
	SavePlan(ctx context.Context, generationID string, plan RoundPlan, candidates []Candidate) ([]Candidate, error)
	// Candidate returns ENOTFOUND if there is none. Verdict is set when a
	// result for validatorVersion exists.
	Candidate(ctx context.Context, id, validatorVersion string) (Candidate, error)
	// Candidates returns every candidate of a generation (all rounds, by round
	// and index) with its Verdict for validatorVersion when there is one.
	Candidates(ctx context.Context, generationID, validatorVersion string) ([]Candidate, error)
	// SaveGenerated records a generation outcome: status stored (object key,
	// size, bytes, cost, latency), filtered or failed (failure reason, cost).
	SaveGenerated(ctx context.Context, c Candidate) error
	// SaveVerdict stores the verdict once per (candidate, validator version)
	// and marks the candidate validated; it returns the verdict that is stored
	// (the earlier one if there was one).
	SaveVerdict(ctx context.Context, candidateID string, v Verdict) (Verdict, error)
	// MarkCandidateFailed marks a candidate that has no outcome yet as failed.
	MarkCandidateFailed(ctx context.Context, candidateID, reason string) error
	// SaveSelection records a round's tally and sets the status to selecting.
	SaveSelection(ctx context.Context, generationID string, s Selection) error
	// SaveDelivery marks selected and discarded candidates and the final
	// generation fields, in one transaction.
	SaveDelivery(ctx context.Context, generationID string, d Delivery) error
	// MarkGenerationFailed sets status failed with reason unless it is final.
	MarkGenerationFailed(ctx context.Context, generationID, reason string, at time.Time) error

	// InsertFeedback inserts events, ignoring event ids already stored, and
	// returns how many rows were new.
	InsertFeedback(ctx context.Context, events []FeedbackEvent) (int, error)
	// FoldFeedback folds every unprocessed feedback row into attribute
	// statistics exactly once, discounting old counts by `discount` (0–1)
	// per fold, and returns the number of rows folded.
	FoldFeedback(ctx context.Context, discount float64) (int, error)
	// Recalibrate recomputes every provider's pass/fail counts from absolute
	// candidate outcomes and stores them.
	Recalibrate(ctx context.Context, at time.Time) ([]ProviderStats, error)
}

// ProviderStats are a provider's (and model's) absolute outcomes.
type ProviderStats struct {
	Provider         string
	Model            string
	Passes           int
	Failures         int
	FailuresByReason map[string]int
	Alpha            float64 // Beta posterior of the pass rate, prior Beta(1,1)
	Beta             float64
	ComputedAt       time.Time
}
