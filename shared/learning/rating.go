package learning

import (
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// Rating limits.
const (
	MinRating = 1
	MaxRating = 5
)

// RatingWeight is how much a user's rating counts in the attribute
// statistics: |rating − 3|. A 5 adds two passes to each of the image's
// modifiers, a 4 one, a 3 nothing, a 2 one failure, a 1 two failures. So a
// confident human judgement outweighs one validator outcome (weight 1) but
// a handful of ratings cannot drown the validator's steady stream.
func RatingWeight(rating int) float64 {
	w := rating - 3
	if w < 0 {
		w = -w
	}
	return float64(w)
}

// RatingEvent is the user_rating feedback event of a user's rating of a
// delivered candidate. Its id is derived from (candidate, user) alone: a
// user has one live rating per image, and a newer rating replaces the
// stored one rather than adding to it (shared/postgres InsertFeedback and
// FoldFeedback). Ratings of 4–5 are positive, 1–2 negative, 3 neutral.
func RatingEvent(c generation.Candidate, user string, rating int, reasons []string, now time.Time) generation.FeedbackEvent {
	e := generation.FeedbackEvent{
		EventID:      generation.EventID("user_rating", c.ID, user),
		GenerationID: c.GenerationID,
		CandidateID:  c.ID,
		Provider:     c.Provider,
		Model:        c.Model,
		Type:         generation.FeedbackUserRating,
		Source:       generation.SourceUserAction,
		Positive:     rating >= 4,
		Negative:     rating <= 2,
		Weight:       RatingWeight(rating),
		Prompt:       c.Prompt,
		Modifiers:    c.Modifiers,
		Reasons:      reasons,
		Metadata:     map[string]any{"rating": rating, "userId": user},
		CreatedAt:    now,
	}
	if c.Verdict != nil {
		score := c.Verdict.Score
		e.QualityScore = &score
	}
	return e
}
