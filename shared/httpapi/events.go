package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/designerbff/pipeline/shared/generation"
)

// Server-sent events of GET /v1/generations/{id}/events.
const (
	// eventPoll is how often a stream reads the generation's progress.
	eventPoll = 500 * time.Millisecond
	// maxEventStream ends a stream that outlives it (a client reconnects
	// with EventSource's own retry); every generation is final well before.
	maxEventStream = 15 * time.Minute
	// eventRetryMS is the reconnection delay a client is given.
	eventRetryMS = 2000
)

// generationEvents serves GET /v1/generations/{id}/events as server-sent
// events: a `progress` event with the generation's summary (the body of
// GET /v1/generations) at once and whenever it changes (its updatedAt or
// status), and a `final` event when it is final, after which the stream
// ends. Where the response cannot be streamed (API Gateway buffers a
// Lambda's answer), it answers one event and `retry:`, so an EventSource
// polls. Unknown or another user's id: the JSON 404 before any event.
func (s *Service) generationEvents(w http.ResponseWriter, r *http.Request, user string) {
	if _, err := query(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	g, err := s.App.Progress(r.Context(), user, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy in front must not buffer the stream
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: %d\n\n", eventRetryMS)
	flusher, streaming := w.(http.Flusher)
	send := func(g generation.Generation) {
		kind := "progress"
		if g.Status.Final() {
			kind = "final"
		}
		data, _ := json.Marshal(summary(g)) // our own type: cannot fail
		fmt.Fprintf(w, "event: %s\nid: %d\ndata: %s\n\n", kind, g.UpdatedAt.UnixNano(), data)
		if streaming {
			flusher.Flush()
		}
	}
	send(g)
	if !streaming {
		return
	}
	tick := time.NewTicker(eventPoll)
	defer tick.Stop()
	end := time.NewTimer(maxEventStream)
	defer end.Stop()
	for !g.Status.Final() {
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-tick.C:
		}
		next, err := s.App.Progress(r.Context(), user, id)
		if err != nil {
			// The client reconnects and is told again (a 404 once deleted).
			s.logger().WarnContext(r.Context(), "generation events", "generation", id, "error", err)
			return
		}
		if next.UpdatedAt.Equal(g.UpdatedAt) && next.Status == g.Status {
			continue
		}
		g = next
		send(g)
	}
}
