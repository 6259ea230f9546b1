package httpapi

import (
	"net/http"
	"time"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/generation"
)

// SummaryBody is one generation in a list: its progress without images.
type SummaryBody struct {
	ID             string            `json:"id"`
	Status         generation.Status `json:"status"`
	RequestedCount int               `json:"requestedCount"`
	PlannedCount   int               `json:"plannedCount"`
	GeneratedCount int               `json:"generatedCount"`
	PassedCount    int               `json:"passedCount"`
	DeliveredCount int               `json:"deliveredCount"`
	Rounds         int               `json:"rounds"`
	CostUSD        float64           `json:"costUsd"`
	Error          string            `json:"error,omitempty"`
	CreatedAt      time.Time         `json:"createdAt"`
	CompletedAt    *time.Time        `json:"completedAt,omitempty"`
	UpdatedAt      time.Time         `json:"updatedAt"`
	Links          Links             `json:"links"`
}

// ListBody is the answer of GET /v1/generations.
type ListBody struct {
	Generations []SummaryBody `json:"generations"`
	// NextCursor is the cursor of the next page; absent on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// listGenerations serves GET /v1/generations?status=&limit=&cursor=: the
// caller's own generations, newest first (app.Service.ListGenerations).
func (s *Service) listGenerations(w http.ResponseWriter, r *http.Request, user string) {
	q, err := query(r, "status", "limit", "cursor")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.App.ListGenerations(r.Context(), app.ListRequest{
		User: user, Status: q.Get("status"), Limit: q.Get("limit"), Cursor: q.Get("cursor"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := ListBody{Generations: make([]SummaryBody, 0, len(page.Generations)), NextCursor: page.NextCursor}
	for _, g := range page.Generations {
		body.Generations = append(body.Generations, summary(g))
	}
	writeJSON(w, http.StatusOK, body)
}

// summary is a generation's SummaryBody.
func summary(g generation.Generation) SummaryBody {
	return SummaryBody{
		ID: g.ID, Status: g.Status, RequestedCount: g.RequestedCount, PlannedCount: g.PlannedCount,
		GeneratedCount: g.GeneratedCount, PassedCount: g.PassedCount, DeliveredCount: g.DeliveredCount,
		Rounds: g.Rounds, CostUSD: g.CostUSD, Error: g.Error, CreatedAt: g.CreatedAt,
		CompletedAt: g.CompletedAt, UpdatedAt: g.UpdatedAt, Links: Links{Self: selfLink(g.ID)},
	}
}

// deleteGeneration serves DELETE /v1/generations/{id}: 204 once the
// generation's objects are gone and its content erased (also for a
// generation already deleted), 409 while it runs, 404 for another user's
// (app.Service.DeleteGeneration).
func (s *Service) deleteGeneration(w http.ResponseWriter, r *http.Request, user string) {
	if _, err := query(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.App.DeleteGeneration(r.Context(), user, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
