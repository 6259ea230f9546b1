package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
)

// query parses the query string: only `allowed` parameters, each at most
// once.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, generation.FieldError("query", "is not a valid query string")
	}
	for name, values := range q {
		if !slices.Contains(allowed, name) {
			return nil, generation.FieldError(name, "is not a known parameter (have %v)", allowed)
		}
		if len(values) > 1 {
			return nil, generation.FieldError(name, "is given %d times", len(values))
		}
	}
	return q, nil
}

// getBuffer serves GET /api/optimization/buffer/{providerId}?count=N&confidence=c[&model=m]:
// how the planner would size a request for N images now (app.BufferReport).
func (s *Service) getBuffer(w http.ResponseWriter, r *http.Request, _ string) {
	q, err := query(r, "count", "confidence", "model")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bq := app.BufferQuery{Provider: r.PathValue("providerId"), Model: q.Get("model")}
	if bq.Count, err = strconv.Atoi(q.Get("count")); err != nil {
		s.writeError(w, r, app.CountError(q.Get("count")))
		return
	}
	if q.Has("confidence") {
		c, err := strconv.ParseFloat(q.Get("confidence"), 64)
		if err != nil {
			s.writeError(w, r, app.ConfidenceError(q.Get("confidence")))
			return
		}
		bq.Confidence = &c
	}
	rep, err := s.App.BufferAdvice(r.Context(), bq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// getProvider serves GET /api/optimization/provider/{providerId}: the
// provider's recommendations and statistics (app.ProviderReport).
func (s *Service) getProvider(w http.ResponseWriter, r *http.Request, _ string) {
	if _, err := query(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := s.App.ProviderReport(r.Context(), r.PathValue("providerId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
