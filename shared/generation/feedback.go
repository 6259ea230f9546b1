package generation

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// FeedbackType says what a feedback event is about.
type FeedbackType string

const (
	FeedbackSelected    FeedbackType = "selected"     // passed and delivered
	FeedbackDiscarded   FeedbackType = "discarded"    // validated but not delivered
	FeedbackFailed      FeedbackType = "failed"       // generation errored, or scored below the pass threshold
	FeedbackFiltered    FeedbackType = "filtered"     // the provider's safety filter
	FeedbackHighQuality FeedbackType = "high_quality" // scored ≥ 85 (written by the database trigger)
	FeedbackUserRating  FeedbackType = "user_rating"
	// FeedbackOperatorReview is an operator's approval or rejection of a
	// flagged image (the dashboard's review queue), folded like a rating
	// with its own weight (shared/learning ReviewWeight).
	FeedbackOperatorReview FeedbackType = "operator_review"
)

// FeedbackSource says who produced a feedback event.
type FeedbackSource string

const (
	SourceValidationFilter  FeedbackSource = "validation_filter"
	SourceValidationTrigger FeedbackSource = "validation_trigger"
	SourceUserAction        FeedbackSource = "user_action"
	SourceGeneration        FeedbackSource = "generation"
)

// FeedbackEvent is one learning signal about one candidate. It is the SQS
// message body (JSON) and one rlhf_feedback row. EventID is deterministic so
// that a redelivered or re-published event is stored once.
type FeedbackEvent struct {
	EventID      string         `json:"eventId"`
	GenerationID string         `json:"generationId"`
	CandidateID  string         `json:"candidateId,omitempty"`
	Provider     string         `json:"provider"`
	Model        string         `json:"model,omitempty"`
	Type         FeedbackType   `json:"feedbackType"`
	Source       FeedbackSource `json:"feedbackSource"`
	QualityScore *float64       `json:"qualityScore,omitempty"`
	// Passed is the absolute outcome (filtered, errored or below the
	// threshold is false), what the learner's pass rates count. Nil for a
	// user rating, which counts through Positive/Negative with its own
	// Weight instead.
	Passed    *bool          `json:"passed,omitempty"`
	Negative  bool           `json:"isNegative"`
	Positive  bool           `json:"isPositive"`
	Weight    float64        `json:"weight"`
	Prompt    string         `json:"prompt,omitempty"`
	Modifiers []string       `json:"modifiers,omitempty"`
	Reasons   []string       `json:"reasons,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
}

// Validate checks what the learner needs of an event from the queue and
// every CHECK of the rlhf_feedback table (migrations/004), so that an event
// the database would refuse is refused here, alone, and never fails the
// batch it came with.
func (e FeedbackEvent) Validate() error {
	switch {
	case !IsUUID(e.EventID):
		return FieldError("eventId", "must be a UUID")
	case !IsUUID(e.GenerationID):
		return FieldError("generationId", "must be a UUID")
	case e.CandidateID != "" && !IsUUID(e.CandidateID):
		return FieldError("candidateId", "must be a UUID")
	case e.Provider == "":
		return FieldError("provider", "is required")
	}
	switch e.Type {
	case FeedbackSelected, FeedbackDiscarded, FeedbackFailed, FeedbackFiltered, FeedbackHighQuality, FeedbackUserRating, FeedbackOperatorReview:
	default:
		return FieldError("feedbackType", "unknown type %q", e.Type)
	}
	switch e.Source {
	case SourceValidationFilter, SourceValidationTrigger, SourceUserAction, SourceGeneration:
	default:
		return FieldError("feedbackSource", "unknown source %q", e.Source)
	}
	switch {
	case e.QualityScore != nil && !(*e.QualityScore >= 0 && *e.QualityScore <= 100): // NaN fails too
		return FieldError("qualityScore", "must be from 0 to 100, got %v", *e.QualityScore)
	case !(e.Weight >= 0) || math.IsInf(e.Weight, 1):
		return FieldError("weight", "must be a finite number ≥ 0, got %v", e.Weight)
	case e.Negative && e.Positive:
		return FieldError("isNegative", "an event cannot be both negative and positive")
	}
	// Postgres text and jsonb cannot hold NUL.
	texts := append([]string{e.Provider, e.Model, e.Prompt}, e.Modifiers...)
	texts = append(texts, e.Reasons...)
	for _, t := range texts {
		if strings.IndexByte(t, 0) >= 0 {
			return FieldError("feedback", "text must not contain NUL characters")
		}
	}
	if hasNUL(e.Metadata) {
		return FieldError("metadata", "must not contain NUL characters")
	}
	if _, err := json.Marshal(e.Metadata); err != nil {
		return FieldError("metadata", "cannot be encoded as JSON: %v", err)
	}
	return nil
}

// hasNUL reports whether a decoded JSON value holds a NUL character in a key
// or a string.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		for _, x := range v {
			if hasNUL(x) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if hasNUL(k) || hasNUL(x) {
				return true
			}
		}
	}
	return false
}

// EventID derives a stable UUID (version 5 layout, SHA-1) from its parts.
func EventID(parts ...string) string {
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	sum[6] = (sum[6] & 0x0f) | 0x50
	sum[8] = (sum[8] & 0x3f) | 0x80
	return formatUUID(sum[:16])
}

// NewID returns a random (version 4) UUID.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return formatUUID(b[:])
}

func formatUUID(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// IsUUID reports whether s is a canonical hyphenated UUID.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
