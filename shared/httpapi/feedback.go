package httpapi

import (
	"net/http"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
)

// maxFeedbackBytes bounds a feedback body.
const maxFeedbackBytes = 16 << 10

// feedbackRequest is the body of POST /v1/generations/{id}/images/{imageId}/feedback.
type feedbackRequest struct {
	Rating  *int     `json:"rating"`
	Reasons []string `json:"reasons"`
}

// feedbackJSON decodes a feedback body.
var feedbackJSON = generation.StrictJSON{
	Field:     "body",
	NotObject: "is not a valid JSON object",
	Malformed: "is not a valid JSON object",
	Unknown:   "is not a known field (want rating, reasons)",
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
// reasons (app.Service.Rate). The rating becomes a user_rating feedback
// event on the queue. Another user's generation, an unknown image and an
// image that was not delivered are 404.
func (s *Service) postFeedback(w http.ResponseWriter, r *http.Request, user string) {
	req, err := readFeedback(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.App.Rate(r.Context(), app.RateRequest{
		User: user, GenerationID: r.PathValue("id"), ImageID: r.PathValue("imageId"),
		Rating: req.Rating, Reasons: req.Reasons,
	})
	if err != nil {
		s.writeError(w, r, err)
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
		EventID: e.EventID, GenerationID: e.GenerationID, ImageID: e.CandidateID, Rating: *req.Rating,
		Reasons: e.Reasons, Polarity: polarity, Weight: e.Weight,
	})
}

// readFeedback decodes the body strictly; app.Service.Rate checks it.
func readFeedback(w http.ResponseWriter, r *http.Request) (feedbackRequest, error) {
	var req feedbackRequest
	err := decodeJSON(w, r, maxFeedbackBytes, feedbackJSON, &req)
	return req, err
}
