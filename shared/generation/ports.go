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
	ProviderQuota          ProviderErrorKind = "quota" // out of credits or a daily quota; not retried
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

// ProviderLimit is a provider's budget across every generation: at most
// Concurrent calls in flight and PerWindow calls started in any Window
// (a minute in production).
type ProviderLimit struct {
	Concurrent int
	PerWindow  int
	Window     time.Duration
}

// BudgetGrant is a ProviderBudget's answer: a lease to call now, or none
// and how long to wait before asking again (0: unknown, ask soon).
type BudgetGrant struct {
	Lease int64 // 0: not granted
	Wait  time.Duration
	Why   string // what is exhausted, when not granted
}

// ProviderBudget is the shared budget of provider calls (shared/postgres).
type ProviderBudget interface {
	// Acquire starts a call within limit, leased until lease passes (a
	// caller that dies never blocks the budget for longer), or says how long
	// to wait.
	Acquire(ctx context.Context, provider string, limit ProviderLimit, lease time.Duration) (BudgetGrant, error)
	// Release ends a granted call.
	Release(ctx context.Context, lease int64) error
	// Hold stops every call to provider for d (the provider's Retry-After).
	Hold(ctx context.Context, provider string, d time.Duration) error
}

// Validator judges an image from its bytes. An image that cannot be decoded is
// a failed Verdict with a reason, not an error; errors are for broken callers.
type Validator interface {
	Version() string
	Validate(ctx context.Context, image []byte, spec ValidationSpec) (Verdict, error)
	// SameImage reports whether two of its verdicts are of near-identical
	// images (by their Fingerprint), so that a generation keeps only the
	// better one (see MarkDuplicates).
	SameImage(a, b Verdict) bool
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
	// Delete removes the object at key; a missing object is no error.
	Delete(ctx context.Context, key string) error
	// PresignGet returns a time-limited GET URL. Never store it.
	PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error)
	// DeletePrefix removes every object whose key starts with prefix and
	// returns how many it removed; none is no error.
	DeletePrefix(ctx context.Context, prefix string) (int, error)
}

// Publisher sends feedback events to the learner (SQS in AWS).
type Publisher interface {
	Publish(ctx context.Context, events []FeedbackEvent) error
}

// MetricsRecorder carries the pipeline's operational numbers to where an
// operator watches them (CloudWatch in AWS, through log lines in its
// embedded metric format). Record never fails the pipeline: a point it
// cannot write is dropped (a metric is never worth a retried stage).
type MetricsRecorder interface {
	Record(ctx context.Context, points []MetricPoint)
}

// Starter starts the state machine for a generation. Starting twice for one
// generation starts it once (the execution is named after the generation).
type Starter interface {
	Start(ctx context.Context, generationID string) (executionARN string, err error)
}

// Restarter starts a further execution of a generation whose execution
// ended before delivering it. attempt numbers the generation's executions
// (Start's is 1); restarting an attempt twice starts it once.
type Restarter interface {
	Restart(ctx context.Context, generationID string, attempt int) (executionARN string, err error)
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
	// MarkDuplicate fails the candidate's verdict for validatorVersion with
	// ReasonDuplicate (passed=false, the reason added once); a verdict
	// already marked is left as it is. ENOTFOUND if there is no such verdict.
	MarkDuplicate(ctx context.Context, candidateID, validatorVersion string) error
	// MarkCandidateErrored marks a candidate that has no outcome yet
	// (planned, or stored without a verdict) as errored with reason, and
	// returns the candidate as it is afterwards (a candidate with an
	// outcome is left as it is).
	MarkCandidateErrored(ctx context.Context, candidateID, reason string) (Candidate, error)
	// SaveSelection records a round's tally and sets the status to selecting.
	SaveSelection(ctx context.Context, generationID string, s Selection) error
	// SaveDelivery marks selected and discarded candidates, the final
	// generation fields and d.Feedback (InsertFeedback's rule), in one
	// transaction.
	SaveDelivery(ctx context.Context, generationID string, d Delivery) error
	// MarkGenerationFailed sets status failed with reason unless it is final.
	MarkGenerationFailed(ctx context.Context, generationID, reason string, at time.Time) error
	// UnfinishedGenerations returns the ids of the generations that are not
	// final, least recently changed first.
	UnfinishedGenerations(ctx context.Context) ([]string, error)
	// FailStalled marks failed with reason, in one step, every unfinished
	// generation with no change to it or its candidates since before, and
	// returns their ids.
	FailStalled(ctx context.Context, before time.Time, reason string, at time.Time) ([]string, error)

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
	// SaveAssessments stores the recommended buffers and recommendations of
	// recalibrated statistics (matched on provider and model).
	SaveAssessments(ctx context.Context, stats []ProviderStats) error
	// ProviderStats returns the stored statistics of a provider, one per
	// model, ordered by model; none (and no error) for an unknown provider.
	ProviderStats(ctx context.Context, provider string) ([]ProviderStats, error)

	// ListGenerations returns user's generations that are not deleted,
	// newest first (created_at, then id, descending), after q.After when
	// set, at most q.Limit of them.
	ListGenerations(ctx context.Context, user string, q ListQuery) ([]Generation, error)
	// DeleteGeneration marks a final generation deleted (once: a second
	// call keeps the first time) and erases its user content in one
	// transaction: prompts, the reference's key and palette, candidates'
	// prompts and object keys, image fingerprints, the text of ratings and
	// the webhook URL. Counts, costs, statuses, modifiers and outcomes stay
	// (usage, the learner's and the planner's statistics). ENOTFOUND if
	// absent, ECONFLICT if not final.
	DeleteGeneration(ctx context.Context, id string, at time.Time) error
}

// ListQuery selects a page of a user's generations.
type ListQuery struct {
	Status Status      // only this status ("": any)
	After  *ListCursor // the last generation of the previous page (nil: the newest)
	Limit  int
}

// ListCursor is a position in a user's generations, newest first: the
// keyset (CreatedAt, ID), which new generations (created later) never
// enter, so paging is stable while generations are created.
type ListCursor struct {
	CreatedAt time.Time
	ID        string
}

// WebhookDelivery is one generation's completion notification in the
// outbox (shared/postgres): the fixed body and where it goes.
type WebhookDelivery struct {
	ID           int64
	GenerationID string
	URL          string
	Body         []byte
	Attempts     int // attempts made before this one
}

// WebhookAttempt is the outcome of one attempt to deliver a notification.
type WebhookAttempt struct {
	At         time.Time
	StatusCode int    // 0: no response
	Error      string // why it failed ("" on a 2xx)
	Duration   time.Duration
}

// Notifier sends the completion notifications that are due at now
// (generationID's only, when set) and says how many it tried.
type Notifier interface {
	RunDue(ctx context.Context, now time.Time, generationID string) (int, error)
}

// WebhookOutbox holds completion notifications until they are delivered
// (shared/postgres). A row is enqueued in the transaction that makes its
// generation final.
type WebhookOutbox interface {
	// ClaimWebhooks returns at most limit pending notifications due at now,
	// each leased for lease (no other claim returns it meanwhile), oldest
	// first; generationID, when set, restricts the claim to that
	// generation's notification.
	ClaimWebhooks(ctx context.Context, now time.Time, lease time.Duration, limit int, generationID string) ([]WebhookDelivery, error)
	// RecordWebhookAttempt stores attempt number d.Attempts+1 and its
	// outcome: delivered, due again at next, or (next nil) failed for good.
	RecordWebhookAttempt(ctx context.Context, d WebhookDelivery, a WebhookAttempt, delivered bool, next *time.Time) error
}

// ProviderStatsReader reads the stored per-(provider, model) statistics that
// Recalibrate last computed, for choosing a provider ("auto").
// shared/postgres implements it.
type ProviderStatsReader interface {
	StoredProviderStats(ctx context.Context) ([]ProviderStats, error)
}

// AutoProvider is the settings.provider value that a ProviderChooser
// resolves when the generation is created.
const AutoProvider = "auto"

// ProviderChooser resolves settings.provider "auto" to the enabled provider
// and model with the lowest expected cost per delivered image
// (shared/provider/catalog implements it).
type ProviderChooser interface {
	Choose(ctx context.Context) (provider, model string, err error)
}

// ModifierChooser picks prompt modifiers for each candidate of a round, so
// that outcomes can be attributed to modifiers (shared/learning). It may
// read the learner's statistics, hence ctx and the error.
type ModifierChooser interface {
	Choose(ctx context.Context, req ChoiceRequest) (ModifierChoice, error)
}

// AttributeStatsReader reads what the learner has folded: per-(provider,
// prompt modifier) statistics and recent failure reasons. shared/postgres
// implements it over attribute_stats and rlhf_feedback; shared/learning
// chooses modifiers from it.
type AttributeStatsReader interface {
	// AttributeStats returns the provider's attribute statistics (none for
	// a provider without feedback).
	AttributeStats(ctx context.Context, provider string) ([]AttributeStat, error)
	// FailureReasons returns the weight of the provider's recent failures
	// per reason code, largest first.
	FailureReasons(ctx context.Context, provider string) ([]ReasonCount, error)
	// RecentOutcomes returns the provider's most recent absolute outcomes
	// (at most limit), newest first, each with its candidate's modifiers:
	// what a joint model of the modifiers' effects is fitted on.
	RecentOutcomes(ctx context.Context, provider string, limit int) ([]Outcome, error)
}

// Outcome is one candidate's absolute outcome and the modifiers it carried.
type Outcome struct {
	Modifiers []string
	Passed    bool
}

// AttributeStat is one attribute's (prompt modifier's) outcome counts for a
// provider, as the learner folds them: Passes and Failures are discounted
// sums of outcome weights (see shared/postgres FoldFeedback), Samples the
// undiscounted number of outcomes folded in.
type AttributeStat struct {
	Attribute string
	Passes    float64
	Failures  float64
	Samples   int64
}

// ReasonCount is how much weight of recent failures carried one reason code.
type ReasonCount struct {
	Reason string  `json:"reason"`
	Weight float64 `json:"weight"`
}

// ProviderStats are a provider's (and model's) absolute outcomes.
type ProviderStats struct {
	Provider         string
	Model            string
	Passes           int
	Failures         int
	FailuresByReason map[string]int
	Alpha            float64 // Beta posterior of the pass rate, Jeffreys prior Beta(½,½)
	Beta             float64
	// Validator metrics over the validated candidates: how many were scored,
	// their mean score and its standard deviation (0–100), and how many were
	// outliers (a hard-fail verdict: blank, undecodable, too large).
	Scored      int
	ScoreMean   float64
	ScoreStdDev float64
	Outliers    int
	MeanCostUSD float64 // per counted candidate, for maxCostUsd planning
	ComputedAt  time.Time
	// RecentPasses and RecentFailures are the same outcomes discounted by
	// age: the k-th most recent counts 2^(−k/h) for the half-life h
	// (BUFFER_HALF_LIFE, in outcomes), so that a provider that improved
	// (or that learning improved) is planned from what it does now. Both
	// zero: not computed (see Weighted).
	RecentPasses, RecentFailures float64

	// Filled by Planner.Assess.
	RecommendedBuffers []BufferAdvice
	Recommendations    []Recommendation
}

// Samples is the number of absolute outcomes behind the statistics.
func (s ProviderStats) Samples() int { return s.Passes + s.Failures }

// Weighted is the evidence to plan with: the recency-discounted outcomes
// when the store computed them, else the plain counts.
func (s ProviderStats) Weighted() (passes, failures float64) {
	if s.RecentPasses+s.RecentFailures > 0 {
		return s.RecentPasses, s.RecentFailures
	}
	return float64(s.Passes), float64(s.Failures)
}

// BufferAdvice is the planned count for one request size at the default
// confidence, as recalibration last computed it.
type BufferAdvice struct {
	Count         int     `json:"count"`
	Planned       int     `json:"planned"`
	BufferPercent float64 `json:"bufferPercent"`
	Probability   float64 `json:"predictedDeliveryProbability"`
	Confidence    float64 `json:"confidence"`
}

// Recommendation is advice about a provider (HIGH_FAILURE_RATE,
// LOW_CONSISTENCY, HIGH_OUTLIER_RATE, EXCELLENT_PERFORMANCE).
type Recommendation struct {
	Type     string  `json:"type"`
	Severity string  `json:"severity"` // high, medium, info
	Action   string  `json:"action"`
	Message  string  `json:"message"`
	Value    float64 `json:"value"`     // the measured quantity
	Limit    float64 `json:"threshold"` // the documented threshold it crossed
}

// Planner sizes rounds from a provider's pass-rate history and assesses
// providers; shared/buffer implements it.
type Planner interface {
	// Size plans one round: q.Need images at q.Confidence.
	Size(q SizeQuery) Sizing
	// Assess fills RecommendedBuffers and Recommendations of recalibrated
	// statistics.
	Assess(st ProviderStats) ProviderStats
}

// SizeQuery is what a round is sized from.
type SizeQuery struct {
	Need       int     // images still to deliver
	Confidence float64 // target P(at least Need pass)
	// Percent, when set, is a fixed buffer the request named: the count is
	// ⌈Need·(1+Percent/100)⌉ and only its probability is computed.
	Percent *float64
	// DefaultPercent is the buffer while the history is too short to trust.
	DefaultPercent float64
	Model          string          // the model to plan for ("": the provider as a whole)
	History        []ProviderStats // the provider's stored statistics, per model
	// Passed and Failed are this generation's earlier rounds: evidence about
	// exactly this request (prompt, reference), so a top-up learns from it.
	Passed, Failed int
	Limit          int // the most candidates allowed (maxImages, maxCostUsd); 0: none
	// Predicted, when set, are joint posterior draws of the pass
	// probability of each candidate the chooser has already planned, in
	// order (see PassPredictions): an "auto" round is then the smallest
	// prefix that reaches Confidence, computed as a Poisson-binomial
	// averaged over the draws. Nil: every candidate alike (Beta-binomial).
	Predicted [][]float64
}

// Sizing is a planned round.
type Sizing struct {
	Count         int
	BufferPercent float64
	Probability   float64 // P(at least Need pass) with Count under the posterior
	Alpha, Beta   float64 // the posterior of the pass rate the plan used
	Method        string  // BufferAuto or BufferFixed
	Default       bool    // too little history: planned from the default percent (its cold-start prior, or as it is)
	Capped        bool    // Limit bound: Probability may be below Confidence
	Predicted     bool    // sized (or, fixed, assessed) from SizeQuery.Predicted
}

// UserUsage counts a user's consumption for the per-user limits, from the
// database, so that a limit holds across every API instance
// (shared/postgres).
type UserUsage interface {
	// Usage returns the user's unfinished generations and what the ones
	// created since `since` committed (see Usage).
	Usage(ctx context.Context, user string, since time.Time) (Usage, error)
	// TakeRating counts one rating request by user at `at` if fewer than
	// limit were counted since `since`; otherwise it counts nothing and
	// returns false and how long until the oldest counted one leaves the
	// window.
	TakeRating(ctx context.Context, user string, at, since time.Time, limit int) (ok bool, retry time.Duration, err error)
}

// Monitoring reads what operators watch: the monitoring schema's views and
// the review queue (shared/postgres).
type Monitoring interface {
	// MonitoringSection returns one of MonitoringSections' tables; an
	// unknown section is ENOTFOUND.
	MonitoringSection(ctx context.Context, section string, q MonitoringQuery) (MonitoringSection, error)
	// ReviewQueue returns at most limit images awaiting review, newest
	// first.
	ReviewQueue(ctx context.Context, limit int) ([]ReviewItem, error)
}
