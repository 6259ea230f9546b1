package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
)

// Limits of a feedback body.
const (
	maxFeedbackBytes  = 16 << 10
	maxFeedbackReason = 80
	maxFeedbackCount  = 10
)

// feedbackRequest is the body of POST /v1/generations/{id}/images/{imageId}/feedback.
type feedbackRequest struct {
	Rating  *int     `json:"rating"`
	Reasons []string `json:"reasons"`
}

// feedbackBody is its answer: the event that went to the learner.
type feedbackBody struct {
	EventID      string   `json:"eventId"`
	GenerationID string   `json:"generationId"`
	ImageID      string   `json:"imageId"`
	Rating       int      `json:"rating"`
	Reasons      []string `json:"reasons"`
	Polarity     string   `json:"polarity"` // positive, negative or neutral
	Weight       float64  `json:"weight"`
}

// postFeedback serves POST /v1/generations/{id}/images/{imageId}/feedback: a
// user rates one delivered image of their own generation, 1–5 with optional
// reasons. The rating becomes a user_rating feedback event on the queue; the
// learner stores it in rlhf_feedback (source user_action) and folds it into
// the attribute statistics with learning.RatingWeight. Another user's
// generation, an unknown image and an image that was not delivered are 404.
func (s *Service) postFeedback(w http.ResponseWriter, r *http.Request, user string) {
	id, imageID := r.PathValue("id"), r.PathValue("imageId")
	req, err := s.readFeedback(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	notFound := generation.Errorf(generation.ENOTFOUND, "image not found")
	if !generation.IsUUID(id) || !generation.IsUUID(imageID) {
		s.writeError(w, r, notFound)
		return
	}
	g, err := s.Store.Generation(r.Context(), id)
	if generation.ErrorCode(err) == generation.ENOTFOUND || (err == nil && g.UserID != user) {
		s.writeError(w, r, notFound)
		return
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("load generation %s: %w", id, err))
		return
	}
	c, err := s.Store.Candidate(r.Context(), imageID, s.ValidatorVersion)
	if generation.ErrorCode(err) == generation.ENOTFOUND ||
		(err == nil && (c.GenerationID != g.ID || c.Status != generation.CandidateSelected)) {
		s.writeError(w, r, notFound)
		return
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("load image %s: %w", imageID, err))
		return
	}
	if s.Publisher == nil {
		s.writeError(w, r, generation.Errorf(generation.EUNAVAILABLE, "feedback is not enabled"))
		return
	}
	e := learning.RatingEvent(c, user, *req.Rating, req.Reasons, s.now())
	if err := s.Publisher.Publish(r.Context(), []generation.FeedbackEvent{e}); err != nil {
		s.logger().ErrorContext(r.Context(), "publish user rating", "generation", id, "image", imageID, "error", err)
		s.writeError(w, r, generation.Errorf(generation.EUNAVAILABLE, "the feedback queue is unavailable; retry later"))
		return
	}
	polarity := "neutral"
	switch {
	case e.Positive:
		polarity = "positive"
	case e.Negative:
		polarity = "negative"
	}
	writeJSON(w, http.StatusAccepted, feedbackBody{
		EventID: e.EventID, GenerationID: g.ID, ImageID: c.ID, Rating: *req.Rating,
		Reasons: e.Reasons, Polarity: polarity, Weight: e.Weight,
	})
}

// readFeedback decodes and checks the body: rating 1–5 (required), at most
// maxFeedbackCount reasons of printable text, trimmed and lower-cased.
func (s *Service) readFeedback(w http.ResponseWriter, r *http.Request) (feedbackRequest, error) {
	var req feedbackRequest
	if _, err := mediaType(r, "application/json"); err != nil {
		return req, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFeedbackBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooLarge):
			return req, generation.Errorf(generation.ETOOLARGE, "request body is larger than %d bytes", maxFeedbackBytes)
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return req, generation.FieldError(typeErr.Field, "must be a %s", typeErr.Type.String())
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return req, generation.FieldError(field, "is not a known field (want rating, reasons)")
		default:
			return req, generation.FieldError("body", "is not a valid JSON object")
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, generation.FieldError("body", "must be a single JSON object")
	}
	if req.Rating == nil {
		return req, generation.FieldError("rating", "is required (1–5)")
	}
	if *req.Rating < learning.MinRating || *req.Rating > learning.MaxRating {
		return req, generation.FieldError("rating", "must be from %d to %d, got %d", learning.MinRating, learning.MaxRating, *req.Rating)
	}
	if len(req.Reasons) > maxFeedbackCount {
		return req, generation.FieldError("reasons", "must have at most %d entries, got %d", maxFeedbackCount, len(req.Reasons))
	}
	reasons := make([]string, 0, len(req.Reasons))
	for i, reason := range req.Reasons {
		reason = strings.ToLower(strings.TrimSpace(reason))
		field := fmt.Sprintf("reasons[%d]", i)
		switch {
		case reason == "":
			return req, generation.FieldError(field, "must not be empty")
		case len(reason) > maxFeedbackReason:
			return req, generation.FieldError(field, "must be at most %d bytes", maxFeedbackReason)
		case strings.IndexFunc(reason, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
			return req, generation.FieldError(field, "must be printable text")
		}
		reasons = append(reasons, reason)
	}
	req.Reasons = reasons
	return req, nil
}
