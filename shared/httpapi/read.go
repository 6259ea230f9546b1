package httpapi

import (
	"net/http"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// GenerationBody is the answer of GET /v1/generations/{id}: the wire format
// a client decodes (the local demo does).
type GenerationBody struct {
	ID               string            `json:"id"`
	Status           generation.Status `json:"status"`
	RequestedCount   int               `json:"requestedCount"`
	PlannedCount     int               `json:"plannedCount"`
	GeneratedCount   int               `json:"generatedCount"`
	PassedCount      int               `json:"passedCount"`
	DeliveredCount   int               `json:"deliveredCount"`
	Rounds           int               `json:"rounds"`
	BufferPercent    float64           `json:"bufferPercent"`
	BufferMethod     string            `json:"bufferMethod"`
	TargetConfidence float64           `json:"targetConfidence"`
	CostUSD          float64           `json:"costUsd"`
	Error            string            `json:"error,omitempty"`
	CreatedAt        time.Time         `json:"createdAt"`
	CompletedAt      *time.Time        `json:"completedAt,omitempty"`
	UpdatedAt        time.Time         `json:"updatedAt"` // the last progress
	Images           []ImageBody       `json:"images"`
	Discarded        []DiscardedBody   `json:"discarded"`
	DiscardReasons   map[string]int    `json:"discardReasons"`
	Links            Links             `json:"links"`
}

// ImageBody is one delivered image. URL is presigned per read, never stored.
type ImageBody struct {
	ID      string   `json:"id"`
	Rank    int      `json:"rank"`
	Score   *float64 `json:"score,omitempty"`
	Flagged bool     `json:"flagged"`
	Width   int      `json:"width"`
	Height  int      `json:"height"`
	URL     string   `json:"url"`
}

// DiscardedBody is a candidate with an outcome other than delivery.
type DiscardedBody struct {
	ID      string                     `json:"id"`
	Status  generation.CandidateStatus `json:"status"`
	Score   *float64                   `json:"score,omitempty"`
	Reasons []string                   `json:"reasons"`
}

// getGeneration serves GET /v1/generations/{id}. A generation that does not
// exist and one of another user get the same 404.
func (s *Service) getGeneration(w http.ResponseWriter, r *http.Request, user string) {
	rep, err := s.App.Generation(r.Context(), user, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g := rep.Generation
	body := GenerationBody{
		ID:               g.ID,
		Status:           g.Status,
		RequestedCount:   g.RequestedCount,
		PlannedCount:     g.PlannedCount,
		GeneratedCount:   g.GeneratedCount,
		PassedCount:      g.PassedCount,
		DeliveredCount:   g.DeliveredCount,
		Rounds:           g.Rounds,
		BufferPercent:    g.BufferPercent,
		BufferMethod:     g.BufferMethod,
		TargetConfidence: g.TargetConfidence,
		CostUSD:          g.CostUSD,
		Error:            g.Error,
		CreatedAt:        g.CreatedAt,
		CompletedAt:      g.CompletedAt,
		UpdatedAt:        g.UpdatedAt,
		Images:           make([]ImageBody, 0, len(rep.Images)),
		Discarded:        make([]DiscardedBody, 0, len(rep.Discarded)),
		DiscardReasons:   rep.DiscardReasons,
		Links:            Links{Self: selfLink(g.ID)},
	}
	for _, img := range rep.Images {
		body.Images = append(body.Images, ImageBody(img))
	}
	for _, d := range rep.Discarded {
		body.Discarded = append(body.Discarded, DiscardedBody(d))
	}
	writeJSON(w, http.StatusOK, body)
}
