package app

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
)

// Limits of a rating's reasons.
const (
	MaxRatingReasons      = 10
	MaxRatingReasonLength = 80 // bytes
)

// RateRequest is a user's rating of one delivered image of their own
// generation.
type RateRequest struct {
	User         string
	GenerationID string
	ImageID      string
	Rating       *int     // 1–5, required
	Reasons      []string // optional, at most MaxRatingReasons
}

// Rate checks a rating (rating 1–5, required; at most MaxRatingReasons
// reasons of printable text, trimmed and lower-cased) and publishes it to
// the learner as a user_rating feedback event, which it returns. A user has
// one live rating per image: a newer one replaces it in the statistics.
// Over RatingsPerMinute it is ELIMITED. Another
// user's generation, an unknown image and an image that was not delivered
// are ENOTFOUND; without a Ratings publisher, or when it fails, EUNAVAILABLE.
func (s *Service) Rate(ctx context.Context, req RateRequest) (generation.FeedbackEvent, error) {
	reasons, err := checkRating(req)
	if err != nil {
		return generation.FeedbackEvent{}, err
	}
	if s.Ratings == nil {
		// Before takeRating: a refused rating must not count against the limit.
		return generation.FeedbackEvent{}, generation.Errorf(generation.EUNAVAILABLE, "feedback is not enabled")
	}
	if err := s.takeRating(ctx, req.User); err != nil {
		return generation.FeedbackEvent{}, err
	}
	const notFound = "image not found"
	if !generation.IsUUID(req.ImageID) { // owned checks GenerationID
		return generation.FeedbackEvent{}, generation.Errorf(generation.ENOTFOUND, notFound)
	}
	g, err := s.owned(ctx, req.User, req.GenerationID, notFound)
	if err != nil {
		return generation.FeedbackEvent{}, err
	}
	c, err := s.Store.Candidate(ctx, req.ImageID, s.ValidatorVersion)
	if generation.ErrorCode(err) == generation.ENOTFOUND ||
		(err == nil && (c.GenerationID != g.ID || c.Status != generation.CandidateSelected)) {
		return generation.FeedbackEvent{}, generation.Errorf(generation.ENOTFOUND, notFound)
	}
	if err != nil {
		return generation.FeedbackEvent{}, fmt.Errorf("load image %s: %w", req.ImageID, err)
	}
	e := learning.RatingEvent(c, req.User, *req.Rating, reasons, s.now())
	if err := s.Ratings.Publish(ctx, []generation.FeedbackEvent{e}); err != nil {
		s.logger().ErrorContext(ctx, "publish user rating", "generation", g.ID, "image", c.ID, "error", err)
		return generation.FeedbackEvent{}, generation.Errorf(generation.EUNAVAILABLE, "the feedback queue is unavailable; retry later")
	}
	return e, nil
}

// takeRating counts one rating request against RatingsPerMinute, in the
// database so that the limit holds across API instances.
func (s *Service) takeRating(ctx context.Context, user string) error {
	if s.Usage == nil || s.RatingsPerMinute <= 0 {
		return nil
	}
	now := s.now()
	ok, retry, err := s.Usage.TakeRating(ctx, user, now, now.Add(-time.Minute), s.RatingsPerMinute)
	if err != nil {
		return fmt.Errorf("count rating of %s: %w", user, err)
	}
	if !ok {
		return &generation.Error{Code: generation.ELIMITED, RetryAfter: max(retry, time.Second),
			Message: fmt.Sprintf("at most %d ratings per minute; retry later", s.RatingsPerMinute)}
	}
	return nil
}

// checkRating returns the rating's reasons, normalised.
func checkRating(req RateRequest) ([]string, error) {
	if req.Rating == nil {
		return nil, generation.FieldError("rating", "is required (1–5)")
	}
	if *req.Rating < learning.MinRating || *req.Rating > learning.MaxRating {
		return nil, generation.FieldError("rating", "must be from %d to %d, got %d", learning.MinRating, learning.MaxRating, *req.Rating)
	}
	if len(req.Reasons) > MaxRatingReasons {
		return nil, generation.FieldError("reasons", "must have at most %d entries, got %d", MaxRatingReasons, len(req.Reasons))
	}
	reasons := make([]string, 0, len(req.Reasons))
	for i, reason := range req.Reasons {
		reason = strings.ToLower(strings.TrimSpace(reason))
		field := fmt.Sprintf("reasons[%d]", i)
		switch {
		case reason == "":
			return nil, generation.FieldError(field, "must not be empty")
		case len(reason) > MaxRatingReasonLength:
			return nil, generation.FieldError(field, "must be at most %d bytes", MaxRatingReasonLength)
		case strings.IndexFunc(reason, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
			return nil, generation.FieldError(field, "must be printable text")
		}
		reasons = append(reasons, reason)
	}
	return reasons, nil
}
