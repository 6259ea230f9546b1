package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
)

// dashboardPage is the operator dashboard: one self-contained page (its
// CSS, script and charts inline, nothing fetched from elsewhere) that reads
// /v1/monitoring/{section} and /v1/reviews with the browser's own
// Authorization header.
//
//go:embed dashboard/dashboard.html
var dashboardPage []byte

// operatorRoutes adds the operators' routes to mux.
func (s *Service) operatorRoutes(mux *patternMux) {
	mux.HandleFunc("GET /dashboard", s.operator(s.getDashboard))
	mux.HandleFunc("GET /v1/monitoring/{section}", s.operator(s.getMonitoring))
	mux.HandleFunc("GET /v1/reviews", s.operator(s.getReviews))
	mux.HandleFunc("POST /v1/reviews/{imageId}", s.operator(s.postReview))
}

// getDashboard serves GET /dashboard.
func (s *Service) getDashboard(w http.ResponseWriter, _ *http.Request, _ string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Nothing but this origin: the page needs no CDN, and presigned image
	// URLs are the one other origin it shows.
	w.Header().Set("Content-Security-Policy",
		"default-src 'self'; img-src 'self' data: http: https:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(dashboardPage)
}

// getMonitoring serves GET /v1/monitoring/{section}: the section's tables
// (app.Service.MonitoringSection). An unknown section is 404.
func (s *Service) getMonitoring(w http.ResponseWriter, r *http.Request, _ string) {
	sec, err := s.App.MonitoringSection(r.Context(), r.PathValue("section"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sec)
}

// reviewsBody is GET /v1/reviews's answer.
type reviewsBody struct {
	Images []generation.ReviewItem `json:"images"`
}

// getReviews serves GET /v1/reviews[?limit=N]: the review queue
// (app.Service.ReviewQueue), 50 images unless limit says otherwise.
func (s *Service) getReviews(w http.ResponseWriter, r *http.Request, _ string) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.writeError(w, r, generation.FieldError("limit", "must be a whole number, got %q", v))
			return
		}
		limit = n
	}
	items, err := s.App.ReviewQueue(r.Context(), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if items == nil {
		items = []generation.ReviewItem{}
	}
	writeJSON(w, http.StatusOK, reviewsBody{Images: items})
}

// reviewRequest is the body of POST /v1/reviews/{imageId}.
type reviewRequest struct {
	Decision string `json:"decision"`
}

var reviewJSON = generation.StrictJSON{
	Field:     "body",
	NotObject: "is not a valid JSON object",
	Malformed: "is not a valid JSON object",
	Unknown:   "is not a known field (want decision)",
}

// reviewBody is its answer: the event that went to the learner.
type reviewBody struct {
	EventID  string  `json:"eventId"`
	ImageID  string  `json:"imageId"`
	Decision string  `json:"decision"`
	Polarity string  `json:"polarity"`
	Weight   float64 `json:"weight"`
}

// postReview serves POST /v1/reviews/{imageId} {"decision": "approve" |
// "reject"}: an operator's review becomes an operator_review feedback event
// on the queue (app.Service.Review) → 202.
func (s *Service) postReview(w http.ResponseWriter, r *http.Request, operator string) {
	var req reviewRequest
	if err := decodeJSON(w, r, maxFeedbackBytes, reviewJSON, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.App.Review(r.Context(), app.ReviewRequest{Operator: operator, ImageID: r.PathValue("imageId"), Decision: req.Decision})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	polarity := "negative"
	if e.Positive {
		polarity = "positive"
	}
	writeJSON(w, http.StatusAccepted, reviewBody{EventID: e.EventID, ImageID: e.CandidateID, Decision: req.Decision,
		Polarity: polarity, Weight: e.Weight})
}
