package httpapi

import (
	"net/http"

	"github.com/designerbff/pipeline/shared/generation"
)

// GenerationBody is the answer of GET /v1/generations/{id}: the wire format
// a client decodes (the local demo does).
type GenerationBody struct {
	// SummaryBody is what a list shows of it: progress, cost, dates, link.
	SummaryBody
	BufferPercent    float64         `json:"bufferPercent"`
	BufferMethod     string          `json:"bufferMethod"`
	TargetConfidence float64         `json:"targetConfidence"`
	Images           []ImageBody     `json:"images"`
	Discarded        []DiscardedBody `json:"discarded"`
	DiscardReasons   map[string]int  `json:"discardReasons"`
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
		SummaryBody:      summary(g),
		BufferPercent:    g.BufferPercent,
		BufferMethod:     g.BufferMethod,
		TargetConfidence: g.TargetConfidence,
		Images:           make([]ImageBody, 0, len(rep.Images)),
		Discarded:        make([]DiscardedBody, 0, len(rep.Discarded)),
		DiscardReasons:   rep.DiscardReasons,
	}
	for _, img := range rep.Images {
		body.Images = append(body.Images, ImageBody(img))
	}
	for _, d := range rep.Discarded {
		body.Discarded = append(body.Discarded, DiscardedBody(d))
	}
	writeJSON(w, http.StatusOK, body)
}
