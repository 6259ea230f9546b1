package stack_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/catalog"
	"github.com/designerbff/pipeline/shared/provider/openai"
	"github.com/designerbff/pipeline/shared/provider/procedural"
	"github.com/designerbff/pipeline/shared/provider/providerhttp"
	"github.com/designerbff/pipeline/shared/quality"
)

// fakeImagesAPI is OpenAI's POST /v1/images/edits on the wire: multipart in,
// `b64_json` out, the real error envelopes. Calls are numbered in arrival
// order; the numbers in throttle get a 429 with Retry-After, those in filter
// an output-stage moderation_blocked 400. Every other call renders a clean
// image of the requested size from the uploaded reference's palette.
type fakeImagesAPI struct {
	// throttle names the calls answered 429. A call whose prompt was
	// throttled before (the adapter's own retry, whose turn depends on
	// scheduling) is served, and the throttle moves to the next fresh call,
	// so that every throttle falls on a first attempt.
	throttle map[int]bool
	filter   map[int]bool

	mu        sync.Mutex
	calls     int
	deferred  int             // throttles moved past a retried call
	throttled map[string]bool // prompts answered 429
	bad       []string        // requests that were not what the adapter should send
	prompts   []string
}

// throttles decides call's 429 (see throttle).
func (f *fakeImagesAPI) throttles(call int, prompt string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	due := f.throttle[call] || f.deferred > 0
	if !due {
		return false
	}
	if f.throttled[prompt] {
		if f.throttle[call] {
			f.deferred++
		}
		return false
	}
	if !f.throttle[call] {
		f.deferred--
	}
	if f.throttled == nil {
		f.throttled = map[string]bool{}
	}
	f.throttled[prompt] = true
	return true
}

func (f *fakeImagesAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.mu.Unlock()
	problem := func(format string, args ...any) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.bad = append(f.bad, fmt.Sprintf("call %d: ", call)+fmt.Sprintf(format, args...))
	}
	writeJSON := func(status int, body string, headers ...string) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/images/edits" {
		problem("%s %s", r.Method, r.URL.Path)
		writeJSON(404, `{"error": {"message": "Invalid URL", "type": "invalid_request_error", "param": null, "code": null}}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer sk-fake" {
		problem("authorization %q", r.Header.Get("Authorization"))
	}
	if err := r.ParseMultipartForm(16 << 20); err != nil {
		problem("multipart: %v", err)
		writeJSON(400, `{"error": {"message": "Invalid multipart body", "type": "invalid_request_error", "param": null, "code": null}}`)
		return
	}
	form := r.MultipartForm
	field := func(k string) string {
		if v := form.Value[k]; len(v) == 1 {
			return v[0]
		}
		return ""
	}
	if field("model") != "gpt-image-2" || field("n") != "1" || field("size") != "1024x1024" || field("output_format") != "png" {
		problem("fields %v", form.Value)
	}
	f.mu.Lock()
	f.prompts = append(f.prompts, field("prompt"))
	f.mu.Unlock()
	files := form.File["image"]
	if len(files) != 1 {
		problem("%d image files", len(files))
		writeJSON(400, `{"error": {"message": "image is required", "type": "invalid_request_error", "param": "image", "code": null}}`)
		return
	}
	// Failures are recorded, not required: this runs on the server's goroutine.
	file, err := files[0].Open()
	if err != nil {
		problem("open image part: %v", err)
		return
	}
	ref, err := io.ReadAll(file)
	if err != nil {
		problem("read image part: %v", err)
		return
	}
	features, _, err := quality.Inspect(ref)
	if err != nil {
		problem("reference is not an image: %v", err)
	}

	switch {
	case f.throttles(call, field("prompt")):
		writeJSON(429, `{"error": {"message": "Rate limit reached for gpt-image-2 on images per minute. Please try again in 1s.", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}`,
			"Retry-After", "1")
		return
	case f.filter[call]:
		writeJSON(400, `{"error": {"message": "Your request was rejected by the safety system. safety_violations=[violence].", "type": "image_generation_user_error", "param": null, "code": "moderation_blocked", "moderation_details": {"moderation_stage": "output", "categories": ["violence"]}}}`)
		return
	}
	img, err := procedural.New(procedural.Options{NoDefects: true}).Generate(r.Context(), generation.ProviderRequest{
		Prompt: field("prompt"), Seed: int64(call), Width: 1024, Height: 1024, ReferencePalette: features.Palette,
	})
	if err != nil {
		problem("render: %v", err)
		return
	}
	body, err := json.Marshal(map[string]any{
		"created": time.Now().Unix(), "data": []map[string]string{{"b64_json": base64.StdEncoding.EncodeToString(img.Bytes)}},
		"output_format": "png", "size": "1024x1024", "quality": "medium",
		"usage": map[string]any{"input_tokens": 350, "output_tokens": 1056, "total_tokens": 1406},
	})
	if err != nil {
		problem("encode: %v", err)
		return
	}
	writeJSON(200, string(body), "x-request-id", "req_"+strconv.Itoa(call))
}

// fakeOpenAI serves api for the test and returns the real OpenAI adapter
// calling it, as the stack's "openai" provider.
func fakeOpenAI(t *testing.T, api http.Handler) map[string]generation.Provider {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return map[string]generation.Provider{
		"openai": openai.New(openai.Options{APIKey: "sk-fake", BaseURL: srv.URL, HTTP: providerhttp.Caller{Local: true}}),
	}
}

// A generation through the real definition with the OpenAI adapter against a
// fake that throttles two calls and filters two: the throttled calls wait
// out the provider's Retry-After inside the invocation (the provider
// budget) and are made again, the filtered candidates keep OpenAI's
// reason, N images are delivered and the cost is the catalog's price per
// stored image.
func TestHostedProviderFiltersAndThrottles(t *testing.T) {
	t.Parallel()
	const n = 4
	fake := &fakeImagesAPI{throttle: map[int]bool{1: true, 3: true}, filter: map[int]bool{2: true, 6: true}}
	h := startHarness(t, map[string]string{"PROVIDER": "openai"}, stack.Options{
		DatabaseURL:    pgtest.NewURL(t),
		Providers:      fakeOpenAI(t, fake),
		MapConcurrency: 4,
	})

	g, err := h.run(fmt.Sprintf(`{"count": %d, "bufferPercent": 50, "width": 1024, "height": 1024, "prompt": "navy wool coat on a hanger"}`, n))
	require.NoError(t, err)

	fake.mu.Lock()
	require.Empty(t, fake.bad, "the adapter sent what OpenAI expects")
	require.Equal(t, 8, fake.calls, "6 candidates + 2 throttled calls retried")
	for _, p := range fake.prompts {
		require.True(t, strings.HasPrefix(p, "navy wool coat on a hanger"), p)
	}
	fake.mu.Unlock()
	require.Zero(t, h.retries("ProviderThrottled"), "a Retry-After that fits the deadline is waited out inside the call")

	require.Equal(t, generation.StatusDelivered, g.Status, g.Error)
	require.Equal(t, "openai", g.Provider)
	require.Equal(t, n, g.DeliveredCount)
	require.Equal(t, 1, g.Rounds)

	cands := h.candidates(g.ID)
	require.Len(t, cands, 6)
	filtered, stored := 0, 0
	sum := 0.0
	for _, c := range cands {
		require.Equal(t, "openai", c.Provider)
		require.Equal(t, "gpt-image-2", c.Model)
		sum += c.CostUSD
		switch c.Status {
		case generation.CandidateFiltered:
			filtered++
			require.Equal(t, "filtered: moderation_blocked (output: violence): Your request was rejected by the safety system. safety_violations=[violence].", c.FailureReason)
			require.Zero(t, c.CostUSD)
		case generation.CandidateSelected, generation.CandidateDiscarded:
			stored++
			require.InDelta(t, catalog.Cost("openai", "gpt-image-2", 1, 0), c.CostUSD, 1e-9)
		default:
			t.Fatalf("candidate %d is %s (%s)", c.Index, c.Status, c.FailureReason)
		}
	}
	require.Equal(t, 2, filtered)
	require.Equal(t, 4, stored)
	require.InDelta(t, catalog.Cost("openai", "gpt-image-2", stored, 0), sum, 1e-9)
	require.InDelta(t, sum, g.CostUSD, 1e-9, "the generation's cost is its candidates'")
	require.Equal(t, 2, h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND feedback_type = 'filtered'
		AND provider = 'openai' AND array_to_string(reasons, ' ') LIKE '%moderation_blocked%'`, g.ID),
		"the learner got the provider's reason with each filtered candidate")
}
