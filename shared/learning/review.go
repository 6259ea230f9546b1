package learning

import (
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// ReviewWeight is how much an operator's review of a flagged image counts
// in the attribute statistics: an approval adds 3 passes to each of the
// image's modifiers, a rejection 3 failures. An operator looks at the
// images the validator was least sure of (a borderline score) or a user
// disliked, with the whole queue's context, so a review outweighs a user's
// strongest rating (2) and one validator outcome (1); still, a few reviews
// cannot drown the steady stream of outcomes.
const ReviewWeight = 3

// ReviewEvent is the operator_review feedback event of an operator's
// decision on candidate c. Its id is derived from the image alone: an image
// has one live review, and a later one (by any operator) replaces it in the
// statistics (shared/postgres InsertFeedback and FoldFeedback). Passed is
// nil: a review is a judgement, counted through Positive/Negative with
// ReviewWeight, not a validator outcome.
func ReviewEvent(c generation.Candidate, operator string, approve bool, now time.Time) generation.FeedbackEvent {
	decision := "reject"
	if approve {
		decision = "approve"
	}
	e := generation.FeedbackEvent{
		EventID:      generation.EventID("operator_review", c.ID),
		GenerationID: c.GenerationID,
		CandidateID:  c.ID,
		Provider:     c.Provider,
		Model:        c.Model,
		Type:         generation.FeedbackOperatorReview,
		Source:       generation.SourceUserAction,
		Positive:     approve,
		Negative:     !approve,
		Weight:       ReviewWeight,
		Prompt:       c.Prompt,
		Modifiers:    c.Modifiers,
		Metadata:     map[string]any{"decision": decision, "operatorId": operator},
		CreatedAt:    now,
	}
	if c.Verdict != nil {
		score := c.Verdict.Score
		e.QualityScore = &score
	}
	return e
}
