package stack_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// call sends one API request as user and returns the status, the header
// and the raw body.
func (h *harness) call(method, path, user, body string) (int, http.Header, string) {
	t := h.t
	req, err := http.NewRequest(method, h.api.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+user)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(raw)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// requireLimited checks a 429: the usual JSON error body and a Retry-After
// of whole seconds within the window.
func requireLimited(t *testing.T, status int, header http.Header, body string, maxRetry int) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, status, body)
	var e struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	require.Equal(t, generation.ELIMITED, e.Error.Code)
	require.NotEmpty(t, e.Error.Message)
	retry, err := strconv.Atoi(header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", header.Get("Retry-After"))
	require.Positive(t, retry)
	require.LessOrEqual(t, retry, maxRetry)
}

// A user over the daily image limit gets 429 with Retry-After; the count
// comes from the database, and another user is not affected.
func TestUserOverTheDailyImageLimitGets429(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), map[string]string{"USER_MAX_IMAGES_PER_DAY": "8"})
	g, err := h.run(`{"count": 6}`)
	require.NoError(t, err)
	require.Equal(t, 8, g.Settings.MaxImages, "maxImages defaults to what is left today")
	require.LessOrEqual(t, len(h.candidates(g.ID)), 8)

	h.reference = referencePNG(t)
	body := `{"image": "` + b64(h.reference) + `", "settings": {"count": 6}}`
	status, header, raw := h.call(http.MethodPost, "/v1/generations", "designer", body)
	requireLimited(t, status, header, raw, 24*3600)
	require.Equal(t, 1, h.count(`SELECT count(*) FROM generations`), "nothing is written for a refused request")

	status, _, raw = h.call(http.MethodPost, "/v1/generations", "someone-else", body)
	require.Equal(t, http.StatusAccepted, status, raw)
}

// A generation with a priced provider (the procedural one at its list price,
// 0.002 USD an image) stops at the server's per-generation cap, which no
// setting can raise.
func TestGenerationStopsAtTheCostCap(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), map[string]string{"GENERATION_MAX_COST_USD": "0.01"})
	status, out := h.post(`{"count": 6, "maxCostUsd": 1}`)
	require.Equal(t, http.StatusBadRequest, status, out)

	g, err := h.run(`{"count": 6, "maxRounds": 3}`)
	require.NoError(t, err, "%s: %s", g.Status, g.Error)
	require.InDelta(t, 0.01, g.Settings.MaxCostUSD, 1e-12, "the cap is the default maxCostUsd")
	cands := h.candidates(g.ID)
	spent := 0.0
	for _, c := range cands {
		spent += c.CostUSD
	}
	require.LessOrEqual(t, spent, 0.01+1e-9, "%d candidates", len(cands))
	require.LessOrEqual(t, len(cands), 5, "0.01 USD buys five images at 0.002")
	require.NotEqual(t, generation.StatusDelivered, g.Status, "six images did not fit the cap")
}

// Re-rating one image replaces the rating; the rating rate limit answers
// 429; the learning report shows reason codes, never a user's text.
func TestRatingsReplaceAndStayPrivate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), map[string]string{"USER_MAX_RATINGS_PER_MINUTE": "5"})
	g, err := h.run(`{"count": 2}`)
	require.NoError(t, err)
	var image string
	for _, c := range h.candidates(g.ID) {
		if c.Status == generation.CandidateSelected {
			image = c.ID
		}
	}
	require.NotEmpty(t, image)
	path := "/v1/generations/" + g.ID + "/images/" + image + "/feedback"
	var eventIDs []string
	for i, rating := range []int{1, 1, 2, 1, 5} {
		status, _, raw := h.call(http.MethodPost, path, "designer",
			`{"rating": `+strconv.Itoa(rating)+`, "reasons": ["secret words of mine `+strconv.Itoa(i)+`"]}`)
		require.Equal(t, http.StatusAccepted, status, raw)
		var fb struct{ EventID string }
		require.NoError(t, json.Unmarshal([]byte(raw), &fb))
		eventIDs = append(eventIDs, fb.EventID)
	}
	for _, id := range eventIDs {
		require.Equal(t, eventIDs[0], id, "one event id per (user, image)")
	}
	status, header, raw := h.call(http.MethodPost, path, "designer", `{"rating": 1}`)
	requireLimited(t, status, header, raw, 60)

	_, err = h.stack.Queue.Drain(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, h.count(`SELECT count(*) FROM rlhf_feedback WHERE feedback_type = 'user_rating'`), "one live rating")
	require.Equal(t, 1, h.count(`SELECT count(*) FROM rlhf_feedback WHERE feedback_type = 'user_rating'
		AND is_positive AND metadata->>'rating' = '5' AND processed_at IS NOT NULL AND folded_passes = 2`), "the last rating, folded")

	status, _, raw = h.call(http.MethodGet, "/v1/learning/procedural", "someone-else", "")
	require.Equal(t, http.StatusOK, status, raw)
	require.NotContains(t, raw, "secret")
	var report struct {
		FailureReasons []generation.ReasonCount
		NegativeTerms  []string
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &report))
	for _, r := range report.FailureReasons {
		require.NotContains(t, r.Reason, " ", "a reason code, not text: %q", r.Reason)
	}
}

var presignedURL = regexp.MustCompile(`"url":"[^"]*"`)

// internalMarkers are what SQL, driver and network errors say.
var internalMarkers = []string{"SQLSTATE", "pgx", "pgconn", "dial tcp", "127.0.0.1", "relation \"", "connection refused"}

func requireNoInternals(t *testing.T, what, text string) {
	t.Helper()
	for _, m := range internalMarkers {
		require.NotContains(t, text, m, "%s carries internal text", what)
	}
}

// Failing paths over the real stack never show a user SQL, driver or
// network text: a provider whose failure text carries it, an internal
// error in GenerateImage (stored as the candidate's reason), and the API
// over a database that went away.
func TestNoInternalTextReachesUsers(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	kinds := map[int64]int{} // by candidate (seed), so that its retries answer alike
	h := newHarness(t, cleanProvider(func(req generation.ProviderRequest, attempt, call int) (generation.Image, error, bool) {
		mu.Lock()
		kind, ok := kinds[req.Seed]
		if !ok {
			kind = len(kinds) % 3
			kinds[req.Seed] = kind
		}
		mu.Unlock()
		switch kind {
		case 1:
			return generation.Image{}, &generation.ProviderError{Kind: generation.ProviderInvalidRequest, Provider: "procedural",
				Reason: `ERROR: relation "images" does not exist (SQLSTATE 42P01) at 127.0.0.1:5432`}, true
		case 2:
			return generation.Image{}, errors.New("failed to connect to `host=127.0.0.1 user=app`: dial tcp 127.0.0.1:5432: connect: connection refused (pgx)"), true
		}
		return generation.Image{}, nil, false
	}), nil)
	g, _ := h.run(`{"count": 3, "maxRounds": 2}`)
	require.NotEmpty(t, g.Status)
	requireNoInternals(t, "the stored generation error", g.Error)
	var reasons []string
	rows, err := h.stack.Pool.Query(context.Background(), `SELECT COALESCE(failure_reason, '') FROM candidates WHERE generation_id = $1`, g.ID)
	require.NoError(t, err)
	for rows.Next() {
		var r string
		require.NoError(t, rows.Scan(&r))
		reasons = append(reasons, r)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, reasons)
	for _, r := range reasons {
		requireNoInternals(t, "a stored candidate reason", r)
	}
	status, _, raw := h.call(http.MethodGet, "/v1/generations/"+g.ID, "designer", "")
	require.Equal(t, http.StatusOK, status, raw)
	require.Contains(t, raw, "withheld", "the failed candidates' reasons are there, without their detail")
	// The presigned URLs name the local object store's address; they are
	// the API's answer, not an error's detail.
	requireNoInternals(t, "GET /v1/generations/{id}", presignedURL.ReplaceAllString(raw, `"url":""`))

	// The database goes away: every answer is a coded error without detail.
	h.stack.Pool.Close()
	for _, req := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/generations/" + g.ID, ""},
		{http.MethodPost, "/v1/generations", `{"image": "` + b64(referencePNG(t)) + `", "settings": {"count": 1}}`},
		{http.MethodGet, "/v1/learning/procedural", ""},
		{http.MethodGet, "/api/optimization/provider/procedural", ""},
	} {
		status, _, raw := h.call(req.method, req.path, "designer", req.body)
		require.GreaterOrEqual(t, status, 500, "%s %s: %s", req.method, req.path, raw)
		requireNoInternals(t, req.method+" "+req.path, raw)
	}
}

// A generation's default budget is what its image bound can cost at the
// model's list price (the procedural one: 5 × 6 images at 0.002 USD), so a
// cheap generation in progress does not hold a dear one's share of the
// user's day: six at once fit a 1 USD day.
func TestDefaultBudgetFollowsTheListPrice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), map[string]string{"USER_MAX_COST_USD_PER_DAY": "1", "USER_MAX_CONCURRENT_GENERATIONS": "0"})
	for i := range 6 {
		status, out := h.post(`{"count": 6}`)
		require.Equal(t, http.StatusAccepted, status, "request %d: %v", i+1, out)
		g, err := h.stack.Store.Generation(context.Background(), out["id"].(string))
		require.NoError(t, err)
		require.InDelta(t, 30*0.002, g.Settings.MaxCostUSD, 1e-9)
	}
}
