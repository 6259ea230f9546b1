package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// readBody is the GET /v1/generations/{id} answer.
type readBody struct {
	ID               string  `json:"id"`
	Status           string  `json:"status"`
	RequestedCount   int     `json:"requestedCount"`
	PlannedCount     int     `json:"plannedCount"`
	GeneratedCount   int     `json:"generatedCount"`
	PassedCount      int     `json:"passedCount"`
	DeliveredCount   int     `json:"deliveredCount"`
	Rounds           int     `json:"rounds"`
	BufferPercent    float64 `json:"bufferPercent"`
	BufferMethod     string  `json:"bufferMethod"`
	TargetConfidence float64 `json:"targetConfidence"`
	CostUSD          float64 `json:"costUsd"`
	Error            string  `json:"error"`
	CreatedAt        string  `json:"createdAt"`
	CompletedAt      *string `json:"completedAt"`
	UpdatedAt        string  `json:"updatedAt"`
	Images           []struct {
		ID      string   `json:"id"`
		Rank    int      `json:"rank"`
		Score   *float64 `json:"score"`
		Flagged bool     `json:"flagged"`
		Width   int      `json:"width"`
		Height  int      `json:"height"`
		URL     string   `json:"url"`
	} `json:"images"`
	Discarded []struct {
		ID      string   `json:"id"`
		Status  string   `json:"status"`
		Score   *float64 `json:"score"`
		Reasons []string `json:"reasons"`
	} `json:"discarded"`
	DiscardReasons map[string]int `json:"discardReasons"`
	Links          struct {
		Self string `json:"self"`
	} `json:"links"`
}

// outcome is what one candidate of the delivered fixture ends as.
type outcome struct {
	filtered string // failure reason of a safety-filtered candidate
	score    float64
	passed   bool
	flagged  bool
	reasons  []string
}

// deliveredGeneration creates a generation for user through the API and runs
// one round through the Store: four candidates (90 pass, 80 pass flagged,
// 40 blurry, filtered), delivered by generation.Deliver. It returns the
// generation id and the image bytes by candidate id.
func (e *env) deliveredGeneration(t *testing.T, user string) (string, map[string][]byte, []string) {
	t.Helper()
	ctx := t.Context()
	rec := e.do(t, request{
		method: http.MethodPost, path: "/v1/generations", user: user, contentType: "application/json",
		body: jsonBody(t, pngImage(t, 32, 32, 7), map[string]any{"count": 2, "bufferPercent": 100}),
	})
	id := requireCreated(t, rec.Code, rec.Header(), rec.Body.Bytes()).ID
	g, err := e.store.Generation(ctx, id)
	require.NoError(t, err)

	outcomes := []outcome{
		{score: 90, passed: true},
		{score: 80, passed: true, flagged: true},
		{score: 40, reasons: []string{"blurry"}},
		{filtered: "safety_filter"},
	}
	plan := generation.RoundPlan{Round: 1, Needed: 2, Count: len(outcomes), BufferPercent: 100, BufferMethod: generation.BufferFixed}
	planned := generation.NewCandidates(g, plan, generation.ModifierChoice{})
	for i := range planned {
		planned[i].ID = generation.NewID()
	}
	cands, err := e.store.SavePlan(ctx, id, plan, planned)
	require.NoError(t, err)
	require.Len(t, cands, len(outcomes))

	images := map[string][]byte{}
	var order []string
	for i, c := range cands {
		o := outcomes[i]
		order = append(order, c.ID)
		if o.filtered != "" {
			c.Status, c.FailureReason = generation.CandidateFiltered, o.filtered
			require.NoError(t, e.store.SaveGenerated(ctx, c))
			continue
		}
		img := pngImage(t, 40+i, 30+i, uint8(50*i))
		images[c.ID] = img
		c.Status = generation.CandidateStored
		c.ObjectKey = generation.ObjectKey(id, c.Round, c.Index, "png")
		c.ContentType, c.Width, c.Height, c.Bytes = "image/png", 40+i, 30+i, len(img)
		c.CostUSD, c.LatencyMS = 0.01, 120
		require.NoError(t, e.objects.Put(ctx, c.ObjectKey, img, c.ContentType, nil))
		require.NoError(t, e.store.SaveGenerated(ctx, c))
		_, err := e.store.SaveVerdict(ctx, c.ID, generation.Verdict{
			ValidatorVersion: validatorVersion, Score: o.score, Passed: o.passed, Flagged: o.flagged,
			Metrics: map[string]float64{"sharpness": o.score}, Reasons: o.reasons,
		})
		require.NoError(t, err)
	}
	all, err := e.store.Candidates(ctx, id, validatorVersion)
	require.NoError(t, err)
	d := generation.Deliver(g, all, testNow)
	require.Equal(t, generation.StatusDelivered, d.Status)
	require.NoError(t, e.store.SaveDelivery(ctx, id, d))
	return id, images, order
}

func TestGetGeneration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, images, order := e.deliveredGeneration(t, "alice")

	rec := e.do(t, request{method: http.MethodGet, path: "/v1/generations/" + id, user: "alice"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	var got readBody
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&got))

	require.Equal(t, id, got.ID)
	require.Equal(t, "delivered", got.Status)
	require.Equal(t, 2, got.RequestedCount)
	require.Equal(t, 2, got.DeliveredCount)
	require.Equal(t, "fixed", got.BufferMethod)
	require.NotNil(t, got.CompletedAt)
	updated, err := time.Parse(time.RFC3339Nano, got.UpdatedAt)
	require.NoError(t, err)
	require.False(t, updated.Before(time.Now().Add(-time.Minute)), "updatedAt is the last change: just now")
	require.Equal(t, "/v1/generations/"+id, got.Links.Self)

	require.Len(t, got.Images, 2)
	for i, want := range []struct {
		id      string
		score   float64
		flagged bool
	}{{order[0], 90, false}, {order[1], 80, true}} {
		img := got.Images[i]
		require.Equal(t, want.id, img.ID)
		require.Equal(t, i+1, img.Rank)
		require.NotNil(t, img.Score)
		require.InDelta(t, want.score, *img.Score, 1e-9)
		require.Equal(t, want.flagged, img.Flagged)
		require.Equal(t, 40+i, img.Width)
		require.Equal(t, 30+i, img.Height)
		// The presigned URL fetches the very bytes from the S3 server.
		require.Equal(t, images[img.ID], fetch(t, img.URL))
	}

	require.Len(t, got.Discarded, 2)
	byID := map[string]int{}
	for i, d := range got.Discarded {
		byID[d.ID] = i
	}
	blurry := got.Discarded[byID[order[2]]]
	require.Equal(t, "discarded", blurry.Status)
	require.NotNil(t, blurry.Score)
	require.InDelta(t, 40, *blurry.Score, 1e-9)
	require.Equal(t, []string{"blurry"}, blurry.Reasons)
	filtered := got.Discarded[byID[order[3]]]
	require.Equal(t, "filtered", filtered.Status)
	require.Nil(t, filtered.Score)
	require.Equal(t, []string{"safety_filter"}, filtered.Reasons)
	require.Equal(t, map[string]int{"blurry": 1, "safety_filter": 1}, got.DiscardReasons)
}

func TestGetGenerationNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, _, _ := e.deliveredGeneration(t, "alice")
	tests := []struct {
		name string
		path string
		user string
	}{
		{name: "SomeoneElses", path: "/v1/generations/" + id, user: "bob"},
		{name: "Missing", path: "/v1/generations/" + generation.NewID(), user: "alice"},
		{name: "MalformedID", path: "/v1/generations/not-a-uuid", user: "alice"},
		{name: "SQLishID", path: "/v1/generations/1%27%20OR%20%271%27=%271", user: "alice"},
	}
	var bodies []string
	for _, tt := range tests {
		rec := e.do(t, request{method: http.MethodGet, path: tt.path, user: tt.user})
		requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusNotFound, generation.ENOTFOUND, "")
		bodies = append(bodies, rec.Body.String())
	}
	// Someone else's generation is indistinguishable from a missing one.
	require.Equal(t, bodies[1], bodies[0])
}

func TestGetGenerationRequiresIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.do(t, request{method: http.MethodGet, path: "/v1/generations/" + generation.NewID()})
	requireError(t, rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusUnauthorized, generation.EUNAUTHORIZED, "")
	require.Equal(t, `Bearer realm="designer-bff"`, rec.Header().Get("WWW-Authenticate"))
	// The body says how to authenticate, not only that one must.
	require.Contains(t, rec.Body.String(), "Authorization: Bearer alice")
}

func TestGetGenerationInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.do(t, request{
		method: http.MethodPost, path: "/v1/generations", user: "alice", contentType: "application/json",
		body: jsonBody(t, pngImage(t, 16, 16, 5), map[string]any{"count": 4}),
	})
	id := requireCreated(t, rec.Code, rec.Header(), rec.Body.Bytes()).ID

	rec = e.do(t, request{method: http.MethodGet, path: "/v1/generations/" + id, user: "alice"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	// Empty lists are [] and {}, never null, so clients need no special case.
	require.JSONEq(t, `[]`, string(rawField(t, rec.Body.Bytes(), "images")))
	require.JSONEq(t, `[]`, string(rawField(t, rec.Body.Bytes(), "discarded")))
	require.JSONEq(t, `{}`, string(rawField(t, rec.Body.Bytes(), "discardReasons")))
	require.JSONEq(t, `"planning"`, string(rawField(t, rec.Body.Bytes(), "status")))
	require.JSONEq(t, `4`, string(rawField(t, rec.Body.Bytes(), "requestedCount")))
	require.Nil(t, rawField(t, rec.Body.Bytes(), "completedAt"))
}

func rawField(t *testing.T, body []byte, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	return m[name]
}
