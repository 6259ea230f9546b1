// Package generation is the domain core of the pipeline: requests, candidates,
// verdicts, selections and feedback, the pure decisions of planning and
// selection, and the small interfaces the stages need from the outside world.
// It imports only the standard library.
package generation

import (
	"fmt"
	"time"
)

// Status of a generation (one vocabulary, DESIGN §4).
type Status string

const (
	StatusPlanning                Status = "planning"
	StatusGenerating              Status = "generating"
	StatusSelecting               Status = "selecting"
	StatusDelivered               Status = "delivered"
	StatusDeliveredBelowThreshold Status = "delivered_below_threshold"
	StatusPartial                 Status = "partial"
	StatusFailed                  Status = "failed"
)

// Final reports whether no stage will change the generation any more.
func (s Status) Final() bool {
	switch s {
	case StatusDelivered, StatusDeliveredBelowThreshold, StatusPartial, StatusFailed:
		return true
	}
	return false
}

// CandidateStatus is the life of one generated image attempt.
type CandidateStatus string

const (
	CandidatePlanned   CandidateStatus = "planned"
	CandidateStored    CandidateStatus = "stored"
	CandidateFiltered  CandidateStatus = "filtered"
	CandidateFailed    CandidateStatus = "failed"
	CandidateValidated CandidateStatus = "validated"
	CandidateSelected  CandidateStatus = "selected"
	CandidateDiscarded CandidateStatus = "discarded"
	// CandidateErrored: the attempt failed for a reason that says nothing
	// about its prompt or provider (a database, object store or Lambda
	// failure that outlived the retries, a bug). It is no outcome: it
	// teaches nothing (no feedback, no pass-rate count), keeps no image,
	// and a top-up replaces it. Only the provider's and the validator's
	// verdicts are outcomes (filtered, failed, validated).
	CandidateErrored CandidateStatus = "errored"
)

// Buffer methods recorded on a generation.
const (
	BufferFixed = "fixed" // the request named a percentage
	BufferAuto  = "auto"  // the planner chose
)

// Generation is one user request for N images.
type Generation struct {
	ID                           string
	UserID                       string
	Status                       Status
	RequestedCount               int
	Settings                     Settings
	Provider                     string
	Model                        string
	BasePrompt                   string
	ReferenceKey                 string
	ReferenceContentType         string
	ReferenceFeatures            ReferenceFeatures
	Rounds                       int
	PlannedCount                 int
	GeneratedCount               int
	PassedCount                  int
	DeliveredCount               int
	BufferPercent                float64
	BufferMethod                 string
	TargetConfidence             float64
	PredictedDeliveryProbability *float64
	CostUSD                      float64
	Error                        string
	ExecutionARN                 string
	IdempotencyKey               string
	CreatedAt                    time.Time
	CompletedAt                  *time.Time
	// UpdatedAt is the last change to the generation or any of its
	// candidates: its last progress (set by the store).
	UpdatedAt time.Time
	// RequestFingerprint identifies the request that created the
	// generation (app.Fingerprint), so that an Idempotency-Key reused with
	// another request is told apart ("" for generations created before).
	RequestFingerprint string
	// DeletedAt is when the owner deleted the generation: its user content
	// is erased, and reads answer as if it did not exist.
	DeletedAt *time.Time
}

// ReferenceFeatures are what the pipeline keeps of the user's reference image.
type ReferenceFeatures struct {
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	Format  string  `json:"format"`
	Palette []Color `json:"palette"`
	// Tone is the reference's exposure and colour balance, what the
	// validator judges a generation's against; nil for references
	// inspected before it existed.
	Tone *Tone `json:"tone,omitempty"`
}

// Tone is what an image's luma histogram, colours and fine detail say
// about its exposure, white balance and sharpness, measured as the
// validator measures generated images.
type Tone struct {
	// MeanLinear is the mean luma in linear light (0–1): exposure changes
	// scale it, so ratios of it are stops.
	MeanLinear float64 `json:"meanLinear"`
	ClipHigh   float64 `json:"clipHigh"` // share of the frame clipped white
	// Detail is log10 of the Laplacian variance over the luma variance
	// of the validator's working plane: a blurred or softly upscaled
	// generation has far less of it than its reference.
	Detail float64 `json:"detail"`
	// Grain is log10 of the horizontal over the vertical fine-detail
	// energy: a motion blur moves it far from the reference's.
	Grain float64 `json:"grain"`
	// Gaps is the share of luma levels within the 0.5th–99.5th
	// percentiles that are nearly empty: posterisation leaves combs.
	Gaps float64 `json:"gaps"`
	// Neutral is the log chromaticity of the image's near-grey colours,
	// NeutralShare their share of the frame.
	Neutral      [2]float64 `json:"neutral"`
	NeutralShare float64    `json:"neutralShare"`
	// Layout is the image's composition in colour: the mean colour of
	// each cell of a 16 × 16 grid, 8-bit sRGB, row by row (768 bytes).
	// A generation that keeps the composition is judged region by region
	// against it. Absent on references inspected before q3.3.0.
	Layout []byte `json:"layout,omitempty"`
}

// Color is an sRGB colour with its share of the image.
type Color struct {
	R      uint8   `json:"r"`
	G      uint8   `json:"g"`
	B      uint8   `json:"b"`
	Weight float64 `json:"weight"`
}

// Candidate is one generated image attempt.
type Candidate struct {
	ID             string
	GenerationID   string
	Round          int
	Index          int
	Provider       string
	Model          string
	Prompt         string
	NegativePrompt string
	Modifiers      []string
	Seed           int64
	Status         CandidateStatus
	FailureReason  string
	ObjectKey      string
	ContentType    string
	Width          int
	Height         int
	Bytes          int
	CostUSD        float64
	LatencyMS      int
	Rank           *int
	CreatedAt      time.Time
	// PredictedPass is the pass probability the plan predicted for this
	// candidate (its posterior mean; nil: planned without a Planner), kept
	// so that predictions can be checked against outcomes.
	PredictedPass *float64
	// ExplorationCost is what the chooser knowingly spent on exploring with
	// this candidate: the expected images per delivered image of its
	// modifiers minus that of the best-known ones (0: exploited).
	ExplorationCost float64
	// Verdict is the candidate's validation under the current validator, when
	// the store loaded it with the candidate.
	Verdict *Verdict
}

// ObjectKey is the deterministic key of a candidate's image: a retried
// generation overwrites the same object instead of adding one.
func ObjectKey(generationID string, round, index int, ext string) string {
	return fmt.Sprintf("generations/%s/%d/%d.%s", generationID, round, index, ext)
}

// ReferenceKey is the deterministic key of a generation's reference image.
func ReferenceKey(generationID, ext string) string {
	return fmt.Sprintf("references/%s.%s", generationID, ext)
}

// ObjectPrefixes are the key prefixes of every object a generation owns: its
// reference (ReferenceKey, whatever the extension) and its images
// (ObjectKey).
func ObjectPrefixes(generationID string) []string {
	return []string{"references/" + generationID + ".", "generations/" + generationID + "/"}
}

// Verdict is the validator's judgement of one image (0–100 scale).
type Verdict struct {
	ValidatorVersion string
	Score            float64
	Passed           bool
	Flagged          bool
	Metrics          map[string]float64
	Reasons          []string
	// Fingerprint is the validator's perceptual hash of the image ("" when
	// it was not decoded); Validator.SameImage compares two of them to find
	// near-duplicates within a generation.
	Fingerprint string
}
