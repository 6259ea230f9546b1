package httpapi

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// generationBody is the answer of GET /v1/generations/{id}.
type generationBody struct {
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
	Images           []imageBody       `json:"images"`
	Discarded        []discardedBody   `json:"discarded"`
	DiscardReasons   map[string]int    `json:"discardReasons"`
	Links            links             `json:"links"`
}

// imageBody is one delivered image. URL is presigned per read, never stored.
type imageBody struct {
	ID      string   `json:"id"`
	Rank    int      `json:"rank"`
	Score   *float64 `json:"score,omitempty"`
	Flagged bool     `json:"flagged"`
	Width   int      `json:"width"`
	Height  int      `json:"height"`
	URL     string   `json:"url"`
}

// discardedBody is a candidate with an outcome other than delivery.
type discardedBody struct {
	ID      string                     `json:"id"`
	Status  generation.CandidateStatus `json:"status"`
	Score   *float64                   `json:"score,omitempty"`
	Reasons []string                   `json:"reasons"`
}

// getGeneration serves GET /v1/generations/{id}. A generation that does not
// exist and one of another user get the same 404.
func (s *Service) getGeneration(w http.ResponseWriter, r *http.Request, user string) {
	id := r.PathValue("id")
	notFound := generation.Errorf(generation.ENOTFOUND, "generation not found")
	if !generation.IsUUID(id) {
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
	cands, err := s.Store.Candidates(r.Context(), id, s.ValidatorVersion)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("load candidates of %s: %w", id, err))
		return
	}
	body := generationBody{
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
		Images:           []imageBody{},
		Discarded:        []discardedBody{},
		DiscardReasons:   map[string]int{},
		Links:            links{Self: selfLink(g.ID)},
	}
	for _, c := range cands {
		switch c.Status {
		case generation.CandidateSelected:
			img, err := s.image(r, c)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			body.Images = append(body.Images, img)
		case generation.CandidateDiscarded, generation.CandidateFailed, generation.CandidateFiltered:
			d := discarded(c)
			for _, reason := range d.Reasons {
				body.DiscardReasons[reason]++
			}
			body.Discarded = append(body.Discarded, d)
		}
	}
	slices.SortStableFunc(body.Images, func(a, b imageBody) int { return cmp.Compare(a.Rank, b.Rank) })
	writeJSON(w, http.StatusOK, body)
}

// image presigns a delivered candidate's object for this response only.
func (s *Service) image(r *http.Request, c generation.Candidate) (imageBody, error) {
	url, err := s.Objects.PresignGet(r.Context(), c.ObjectKey, s.presignExpiry())
	if err != nil {
		return imageBody{}, fmt.Errorf("presign candidate %s: %w", c.ID, err)
	}
	img := imageBody{ID: c.ID, Width: c.Width, Height: c.Height, URL: url}
	if c.Rank != nil {
		img.Rank = *c.Rank
	}
	if c.Verdict != nil {
		score := c.Verdict.Score
		img.Score = &score
		img.Flagged = c.Verdict.Flagged
	}
	return img, nil
}

// discarded explains why a candidate was not delivered.
func discarded(c generation.Candidate) discardedBody {
	d := discardedBody{ID: c.ID, Status: c.Status}
	if c.Verdict != nil {
		score := c.Verdict.Score
		d.Score = &score
	}
	switch {
	case c.Status == generation.CandidateDiscarded && c.Verdict != nil && len(c.Verdict.Reasons) > 0:
		d.Reasons = c.Verdict.Reasons
	case c.Status == generation.CandidateDiscarded && c.Verdict != nil && c.Verdict.Passed:
		// It passed but more than enough others passed, with better scores.
		d.Reasons = []string{"surplus"}
	case c.FailureReason != "":
		d.Reasons = []string{c.FailureReason}
	default:
		d.Reasons = []string{string(c.Status)}
	}
	return d
}
