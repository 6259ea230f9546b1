package app

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// The reports below are the API's answers as they are: their JSON is the
// wire format of GET /api/optimization/… .

// BufferReport is how "auto" would size a request now.
type BufferReport struct {
	ProviderID                   string  `json:"providerId"`
	Model                        string  `json:"model"`
	Count                        int     `json:"count"`
	Confidence                   float64 `json:"confidence"`
	PlannedCount                 int     `json:"plannedCount"`
	BufferPercent                float64 `json:"bufferPercent"`
	PredictedDeliveryProbability float64 `json:"predictedDeliveryProbability"`
	Method                       string  `json:"method"`
	// IsDefault: the history is shorter than BUFFER_MIN_SAMPLES, so the plan
	// is from DEFAULT_BUFFER_PERCENT's cold-start prior (buffer.Planner) and
	// the stats are (mostly) the prior.
	IsDefault  bool         `json:"isDefault"`
	Stats      buffer.Stats `json:"stats"`
	ComputedAt *time.Time   `json:"computedAt,omitempty"` // the last recalibration; absent without history
}

// ProviderReport is a provider's recommendations and statistics over all
// its models, and each model's as the last recalibration stored them.
type ProviderReport struct {
	ProviderID      string                      `json:"providerId"`
	Recommendations []generation.Recommendation `json:"recommendations"`
	Stats           buffer.Stats                `json:"stats"`
	Models          []ModelReport               `json:"models"`
	ComputedAt      *time.Time                  `json:"computedAt,omitempty"`
}

// ModelReport is one model's statistics and what the last recalibration
// recommended for it.
type ModelReport struct {
	Model              string                      `json:"model"`
	Stats              buffer.Stats                `json:"stats"`
	Recommendations    []generation.Recommendation `json:"recommendations"`
	RecommendedBuffers []generation.BufferAdvice   `json:"recommendedBuffers"`
}

// BufferQuery asks how "auto" would size Count images.
type BufferQuery struct {
	Provider   string
	Count      int
	Confidence *float64 // nil: Defaults.TargetConfidence
	Model      string   // "": the provider as a whole
}

var providerID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func checkProviderID(id string) error {
	if !providerID.MatchString(id) {
		return generation.FieldError("providerId", "must be 1-64 letters, digits, '.', '_' or '-'")
	}
	return nil
}

// CountError is the error of a count that is not a whole number from
// generation.MinCount to generation.MaxCount; raw is the count as given.
func CountError(raw string) error {
	return generation.FieldError("count", "must be a whole number from %d to %d, got %q",
		generation.MinCount, generation.MaxCount, raw)
}

// ConfidenceError is the error of a confidence that is not a number from
// generation.MinTargetConfidence to generation.MaxTargetConfidence; raw is
// the confidence as given.
func ConfidenceError(raw string) error {
	return generation.FieldError("confidence", "must be a number from %v to %v, got %q",
		generation.MinTargetConfidence, generation.MaxTargetConfidence, raw)
}

func (s *Service) planner() buffer.Planner {
	if s.Planner != nil {
		return *s.Planner
	}
	return buffer.Planner{MinSamples: buffer.DefaultMinSamples, ColdStartWeight: buffer.DefaultColdStartWeight,
		Confidence: s.Defaults.TargetConfidence, DefaultPercent: 20}
}

// BufferAdvice answers how the planner would size a request for q.Count
// images now. A provider without history is answered from the prior
// (IsDefault).
func (s *Service) BufferAdvice(ctx context.Context, q BufferQuery) (BufferReport, error) {
	if err := checkProviderID(q.Provider); err != nil {
		return BufferReport{}, err
	}
	if q.Count < generation.MinCount || q.Count > generation.MaxCount {
		return BufferReport{}, CountError(strconv.Itoa(q.Count))
	}
	confidence := s.Defaults.TargetConfidence
	if q.Confidence != nil {
		confidence = *q.Confidence
		if !(confidence >= generation.MinTargetConfidence && confidence <= generation.MaxTargetConfidence) {
			return BufferReport{}, ConfidenceError(strconv.FormatFloat(confidence, 'g', -1, 64))
		}
	}
	if q.Model != "" && !providerID.MatchString(q.Model) {
		return BufferReport{}, generation.FieldError("model", "must be 1-64 letters, digits, '.', '_' or '-'")
	}
	stats, err := s.providerStats(ctx, q.Provider)
	if err != nil {
		return BufferReport{}, err
	}
	p := s.planner()
	sizing := p.Size(generation.SizeQuery{Need: q.Count, Confidence: confidence, DefaultPercent: p.DefaultPercent,
		Model: q.Model, History: stats})
	// The statistics the plan used: the model's own when it has enough
	// history (as Planner.Evidence decides), else the provider's.
	used := buffer.Total(q.Provider, stats)
	if m := modelStats(stats, q.Model); m != nil && m.Samples() >= max(1, p.MinSamples) {
		used = *m
	}
	return BufferReport{
		ProviderID: q.Provider, Model: q.Model, Count: q.Count, Confidence: confidence,
		PlannedCount: sizing.Count, BufferPercent: sizing.BufferPercent, PredictedDeliveryProbability: sizing.Probability,
		Method: sizing.Method, IsDefault: sizing.Default, Stats: p.Summarise(used), ComputedAt: computedAt(used),
	}, nil
}

// ProviderReport reports a provider's recommendations and statistics.
func (s *Service) ProviderReport(ctx context.Context, provider string) (ProviderReport, error) {
	if err := checkProviderID(provider); err != nil {
		return ProviderReport{}, err
	}
	stats, err := s.providerStats(ctx, provider)
	if err != nil {
		return ProviderReport{}, err
	}
	p := s.planner()
	total := buffer.Total(provider, stats)
	r := ProviderReport{
		ProviderID: provider, Recommendations: p.Recommend(total), Stats: p.Summarise(total),
		Models: make([]ModelReport, 0, len(stats)), ComputedAt: computedAt(total),
	}
	for _, st := range stats {
		r.Models = append(r.Models, ModelReport{
			Model: st.Model, Stats: p.Summarise(st),
			Recommendations:    nonNil(st.Recommendations),
			RecommendedBuffers: nonNil(st.RecommendedBuffers),
		})
	}
	return r, nil
}

func (s *Service) providerStats(ctx context.Context, provider string) ([]generation.ProviderStats, error) {
	stats, err := s.Store.ProviderStats(ctx, provider)
	if err != nil {
		return nil, fmt.Errorf("load stats of provider %s: %w", provider, err)
	}
	return stats, nil
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
