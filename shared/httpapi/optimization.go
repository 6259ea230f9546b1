package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// bufferBody is the answer of GET /api/optimization/buffer/{providerId}.
type bufferBody struct {
	ProviderID                   string  `json:"providerId"`
	Model                        string  `json:"model"`
	Count                        int     `json:"count"`
	Confidence                   float64 `json:"confidence"`
	PlannedCount                 int     `json:"plannedCount"`
	BufferPercent                float64 `json:"bufferPercent"`
	PredictedDeliveryProbability float64 `json:"predictedDeliveryProbability"`
	Method                       string  `json:"method"`
	// IsDefault: the history is shorter than BUFFER_MIN_SAMPLES, so the plan
	// is DEFAULT_BUFFER_PERCENT and the stats are (mostly) the prior.
	IsDefault  bool         `json:"isDefault"`
	Stats      buffer.Stats `json:"stats"`
	ComputedAt *time.Time   `json:"computedAt,omitempty"` // the last recalibration; absent without history
}

// providerBody is the answer of GET /api/optimization/provider/{providerId}.
type providerBody struct {
	ProviderID      string                      `json:"providerId"`
	Recommendations []generation.Recommendation `json:"recommendations"`
	Stats           buffer.Stats                `json:"stats"`
	Models          []modelBody                 `json:"models"`
	ComputedAt      *time.Time                  `json:"computedAt,omitempty"`
}

// modelBody is one model's statistics and what the last recalibration
// recommended for it.
type modelBody struct {
	Model              string                      `json:"model"`
	Stats              buffer.Stats                `json:"stats"`
	Recommendations    []generation.Recommendation `json:"recommendations"`
	RecommendedBuffers []generation.BufferAdvice   `json:"recommendedBuffers"`
}

var providerID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (s *Service) planner() buffer.Planner {
	if s.Planner != nil {
		return *s.Planner
	}
	return buffer.Planner{MinSamples: buffer.DefaultMinSamples, Confidence: s.Defaults.TargetConfidence, DefaultPercent: 20}
}

// providerStats validates the path's provider id and the query's
// parameters (only `allowed` ones, each at most once) and loads the
// provider's statistics.
func (s *Service) providerStats(r *http.Request, allowed ...string) (string, url.Values, []generation.ProviderStats, error) {
	id := r.PathValue("providerId")
	if !providerID.MatchString(id) {
		return "", nil, nil, generation.FieldError("providerId", "must be 1-64 letters, digits, '.', '_' or '-'")
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", nil, nil, generation.FieldError("query", "is not a valid query string")
	}
	for name, values := range query {
		if !slices.Contains(allowed, name) {
			return "", nil, nil, generation.FieldError(name, "is not a known parameter (have %v)", allowed)
		}
		if len(values) > 1 {
			return "", nil, nil, generation.FieldError(name, "is given %d times", len(values))
		}
	}
	stats, err := s.Store.ProviderStats(r.Context(), id)
	if err != nil {
		return "", nil, nil, fmt.Errorf("load stats of provider %s: %w", id, err)
	}
	return id, query, stats, nil
}

// getBuffer serves GET /api/optimization/buffer/{providerId}?count=N&confidence=c[&model=m]:
// how the planner would size a request for N images now. A provider without
// history is answered from the prior (isDefault).
func (s *Service) getBuffer(w http.ResponseWriter, r *http.Request, _ string) {
	id, query, stats, err := s.providerStats(r, "count", "confidence", "model")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	count, err := strconv.Atoi(query.Get("count"))
	if err != nil || count < generation.MinCount || count > generation.MaxCount {
		s.writeError(w, r, generation.FieldError("count", "must be a whole number from %d to %d, got %q",
			generation.MinCount, generation.MaxCount, query.Get("count")))
		return
	}
	confidence := s.Defaults.TargetConfidence
	if raw := query.Get("confidence"); query.Has("confidence") {
		confidence, err = strconv.ParseFloat(raw, 64)
		if err != nil || !(confidence >= generation.MinTargetConfidence && confidence <= generation.MaxTargetConfidence) {
			s.writeError(w, r, generation.FieldError("confidence", "must be a number from %v to %v, got %q",
				generation.MinTargetConfidence, generation.MaxTargetConfidence, raw))
			return
		}
	}
	model := query.Get("model")
	if model != "" && !providerID.MatchString(model) {
		s.writeError(w, r, generation.FieldError("model", "must be 1-64 letters, digits, '.', '_' or '-'"))
		return
	}
	p := s.planner()
	sizing := p.Size(generation.SizeQuery{Need: count, Confidence: confidence, DefaultPercent: p.DefaultPercent,
		Model: model, History: stats})
	// The statistics the plan used: the model's own when it has enough
	// history (as Planner.Evidence decides), else the provider's.
	used := buffer.Total(id, stats)
	if m := modelStats(stats, model); m != nil && m.Samples() >= max(1, p.MinSamples) {
		used = *m
	}
	writeJSON(w, http.StatusOK, bufferBody{
		ProviderID: id, Model: model, Count: count, Confidence: confidence,
		PlannedCount: sizing.Count, BufferPercent: sizing.BufferPercent, PredictedDeliveryProbability: sizing.Probability,
		Method: sizing.Method, IsDefault: sizing.Default, Stats: p.Summarise(used), ComputedAt: computedAt(used),
	})
}

// getProvider serves GET /api/optimization/provider/{providerId}: the
// provider's recommendations and statistics over all its models, and each
// model's as the last recalibration stored them.
func (s *Service) getProvider(w http.ResponseWriter, r *http.Request, _ string) {
	id, _, stats, err := s.providerStats(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := s.planner()
	total := buffer.Total(id, stats)
	body := providerBody{
		ProviderID: id, Recommendations: p.Recommend(total), Stats: p.Summarise(total),
		Models: make([]modelBody, 0, len(stats)), ComputedAt: computedAt(total),
	}
	for _, st := range stats {
		body.Models = append(body.Models, modelBody{
			Model: st.Model, Stats: p.Summarise(st),
			Recommendations:    nonNil(st.Recommendations),
			RecommendedBuffers: nonNil(st.RecommendedBuffers),
		})
	}
	writeJSON(w, http.StatusOK, body)
}

func modelStats(stats []generation.ProviderStats, model string) *generation.ProviderStats {
	for i := range stats {
		if stats[i].Model == model {
			return &stats[i]
		}
	}
	return nil
}

func computedAt(st generation.ProviderStats) *time.Time {
	if st.ComputedAt.IsZero() {
		return nil
	}
	at := st.ComputedAt.UTC()
	return &at
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
