package stack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/sfnlocal"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/procedural"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// scripted wraps the real procedural provider and lets a test decide, per
// call, to answer differently: the behaviours of hosted providers (throttling,
// errors, blank placeholders) that the procedural one never shows.
type scripted struct {
	inner generation.Provider
	mu    sync.Mutex
	calls map[int64]int // per seed: how many calls so far
	total int
	// answer returns handled=false to let the inner provider answer.
	answer func(req generation.ProviderRequest, attempt, call int) (img generation.Image, err error, handled bool)
}

func (s *scripted) Name() string { return "procedural" }

func (s *scripted) DefaultModel() string { return s.inner.DefaultModel() }

func (s *scripted) Generate(ctx context.Context, req generation.ProviderRequest) (generation.Image, error) {
	s.mu.Lock()
	s.calls[req.Seed]++
	s.total++
	attempt, call := s.calls[req.Seed], s.total
	s.mu.Unlock()
	if s.answer != nil {
		if img, err, handled := s.answer(req, attempt, call); handled {
			return img, err
		}
	}
	return s.inner.Generate(ctx, req)
}

func (s *scripted) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func cleanProvider(answer func(generation.ProviderRequest, int, int) (generation.Image, error, bool)) *scripted {
	return &scripted{inner: procedural.New(procedural.Options{NoDefects: true}), calls: map[int64]int{}, answer: answer}
}

// blankImage is what a provider's placeholder looks like: one flat colour.
func blankImage(t *testing.T) generation.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 512, 512))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return generation.Image{Bytes: buf.Bytes(), ContentType: "image/png", Width: 512, Height: 512, CostUSD: 0.002}
}

type harness struct {
	t      *testing.T
	stack  *stack.Stack
	api    *httptest.Server
	mu     sync.Mutex
	sleeps []time.Duration
	events []sfnlocal.Event
	// reference replaces referencePNG in post when set.
	reference []byte
	// idempotencyKey, when set, is post's Idempotency-Key header.
	idempotencyKey string
	contract       *stacktest.Contract
}

// newHarness starts a stack on the configuration env whose "procedural"
// provider is provider (nil: the embedded one), over a fresh database.
func newHarness(t *testing.T, provider generation.Provider, env map[string]string) *harness {
	t.Helper()
	opts := stack.Options{DatabaseURL: pgtest.NewURL(t), MapConcurrency: 4}
	if provider != nil {
		opts.Providers = map[string]generation.Provider{"procedural": provider}
	}
	return startHarness(t, env, opts)
}

// startHarness starts a stack with opts on the configuration env and serves
// its API; both close with the test. Unless opts sets them, the
// interpreter's sleeps are recorded (not slept) and its events recorded.
func startHarness(t *testing.T, env map[string]string, opts stack.Options) *harness {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	opts.Config = cfg
	h := &harness{t: t}
	if opts.Sleep == nil {
		opts.Sleep = func(_ context.Context, d time.Duration) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.sleeps = append(h.sleeps, d)
			return nil
		}
	}
	if opts.Events == nil {
		opts.Events = func(e sfnlocal.Event) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.events = append(h.events, e)
		}
	}
	s, err := stack.Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(context.Background()) })
	h.stack = s
	// Every exchange of every stack test is checked against the OpenAPI
	// document (stacktest.Contract).
	h.contract = stacktest.NewContract(t)
	h.api = httptest.NewServer(h.contract.Handler(t, s.API(true).Handler()))
	t.Cleanup(h.api.Close)
	return h
}

func referencePNG(t *testing.T) []byte {
	img, err := procedural.New(procedural.Options{NoDefects: true}).Generate(context.Background(), generation.ProviderRequest{
		Prompt: "navy wool coat", Seed: 7, Width: 128, Height: 128,
		ReferencePalette: []generation.Color{{R: 20, G: 30, B: 90, Weight: 0.6}, {R: 230, G: 220, B: 200, Weight: 0.4}},
	})
	require.NoError(t, err)
	return img.Bytes
}

// post sends POST /v1/generations as user "designer" and returns the status and body.
func (h *harness) post(settings string) (int, map[string]any) {
	t := h.t
	ref := h.reference
	if ref == nil {
		ref = referencePNG(t)
	}
	body := `{"image": "` + base64.StdEncoding.EncodeToString(ref) + `", "settings": ` + settings + `}`
	req, err := http.NewRequest(http.MethodPost, h.api.URL+"/v1/generations", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer designer")
	req.Header.Set("Content-Type", "application/json")
	if h.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", h.idempotencyKey)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// run creates a generation through the API and waits for its execution.
func (h *harness) run(settings string) (generation.Generation, error) {
	t := h.t
	status, out := h.post(settings)
	require.Equal(t, http.StatusAccepted, status, out)
	id := out["id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, execErr := h.stack.Starter.Wait(ctx, id)
	g, err := h.stack.Store.Generation(ctx, id)
	require.NoError(t, err)
	return g, execErr
}

func (h *harness) candidates(id string) []generation.Candidate {
	cands, err := h.stack.Store.Candidates(context.Background(), id, h.stack.Pipeline.Validator.Version())
	require.NoError(h.t, err)
	return cands
}

func (h *harness) objectKeys(prefix string) []string {
	out, err := h.stack.Objects.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{
		Bucket: aws.String(h.stack.Objects.Bucket()), Prefix: aws.String(prefix),
	})
	require.NoError(h.t, err)
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func (h *harness) count(sql string, args ...any) int {
	var n int
	require.NoError(h.t, h.stack.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func (h *harness) retries(errorName string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.events {
		if e.Kind == sfnlocal.StateRetrying && e.Error == errorName {
			n++
		}
	}
	return n
}

func statusCount(cands []generation.Candidate, status generation.CandidateStatus) int {
	n := 0
	for _, c := range cands {
		if c.Status == status {
			n++
		}
	}
	return n
}

func TestAllPassInRoundOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), nil)
	g, err := h.run(`{"count": 4, "bufferPercent": 50}`)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, g.Status)
	require.Equal(t, 1, g.Rounds)
	require.Equal(t, 6, g.PlannedCount)
	require.Equal(t, 6, g.GeneratedCount)
	require.Equal(t, 6, g.PassedCount)
	require.Equal(t, 4, g.DeliveredCount)
	require.InDelta(t, 6*procedural.DefaultPricePerImageUSD, g.CostUSD, 1e-9)
	require.NotNil(t, g.CompletedAt)

	cands := h.candidates(g.ID)
	require.Equal(t, 4, statusCount(cands, generation.CandidateSelected))
	require.Equal(t, 2, statusCount(cands, generation.CandidateDiscarded))
	for _, c := range cands {
		require.NotNil(t, c.PredictedPass, "every planned candidate records its predicted pass probability")
		require.InDelta(t, 0.5, *c.PredictedPass, 1e-12, "no history: the prior's mean")
		require.GreaterOrEqual(t, c.ExplorationCost, 0.0)
	}
	require.Len(t, h.objectKeys("generations/"+g.ID+"/"), 6)
	require.Equal(t, 6, h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND feedback_source <> 'validation_trigger'`, g.ID),
		"the learner stored one event per candidate")
	require.Zero(t, h.count(`SELECT count(*) FROM rlhf_feedback WHERE processed_at IS NULL`), "every row is folded")
	require.Positive(t, h.count(`SELECT count(*) FROM attribute_stats WHERE provider = 'procedural'`))

	// What the user sees.
	var body struct {
		Status string `json:"status"`
		Images []struct {
			Rank int    `json:"rank"`
			URL  string `json:"url"`
		} `json:"images"`
	}
	stacktest.GetJSON(t, h.api.URL+"/v1/generations/"+g.ID, "designer", &body)
	require.Equal(t, "delivered", body.Status)
	require.Len(t, body.Images, 4)
	img, err := http.Get(body.Images[0].URL)
	require.NoError(t, err)
	defer img.Body.Close()
	_, format, err := image.Decode(img.Body)
	require.NoError(t, err)
	require.Equal(t, "png", format)
}

func TestShortfallTopsUpAndDelivers(t *testing.T) {
	t.Parallel()
	var blank generation.Image
	provider := cleanProvider(func(_ generation.ProviderRequest, _, call int) (generation.Image, error, bool) {
		return blank, nil, call <= 2 // the first two images are placeholders
	})
	h := newHarness(t, provider, nil)
	blank = blankImage(t)
	g, err := h.run(`{"count": 4, "bufferPercent": 0}`)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, g.Status)
	require.Equal(t, 2, g.Rounds, "round 2 made up the shortfall")
	require.Equal(t, 6, g.GeneratedCount, "4 in round 1, then only the 2 missing")
	require.Equal(t, 4, g.DeliveredCount)

	cands := h.candidates(g.ID)
	var failedReasons []string
	for _, c := range cands {
		if c.Verdict != nil && !c.Verdict.Passed {
			failedReasons = append(failedReasons, c.Verdict.Reasons...)
			require.Equal(t, generation.CandidateDiscarded, c.Status)
		}
	}
	require.Contains(t, failedReasons, "blank")
	require.Equal(t, 2, h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND feedback_type = 'failed'`, g.ID))
}

func TestThrottledProviderIsRetried(t *testing.T) {
	t.Parallel()
	provider := cleanProvider(func(_ generation.ProviderRequest, attempt, _ int) (generation.Image, error, bool) {
		if attempt <= 2 {
			return generation.Image{}, &generation.ProviderError{Kind: generation.ProviderThrottled, Provider: "procedural", Reason: "429 Too Many Requests"}, true
		}
		return generation.Image{}, nil, false
	})
	h := newHarness(t, provider, nil)
	g, err := h.run(`{"count": 3, "bufferPercent": 0}`)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, g.Status)
	require.Equal(t, 3, g.DeliveredCount)
	require.Equal(t, 6, h.retries("ProviderThrottled"), "two retries per candidate")
	require.Equal(t, 9, provider.Total())
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.sleeps {
		require.LessOrEqual(t, d, 10*time.Second, "full jitter stays within IntervalSeconds×BackoffRate^n")
	}
}

func TestOneFailingCandidateDoesNotFailTheBatch(t *testing.T) {
	t.Parallel()
	var badSeed int64
	var once sync.Once
	provider := cleanProvider(func(req generation.ProviderRequest, _, _ int) (generation.Image, error, bool) {
		once.Do(func() { badSeed = req.Seed })
		if req.Seed == badSeed {
			return generation.Image{}, errors.New("connection reset by peer"), true
		}
		return generation.Image{}, nil, false
	})
	h := newHarness(t, provider, nil)
	g, err := h.run(`{"count": 3, "bufferPercent": 50}`)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, g.Status)
	require.Equal(t, 3, g.DeliveredCount)
	cands := h.candidates(g.ID)
	// An uncoded error is a bug, not a verdict on the prompt: retried
	// twice (the InternalError backstop), then errored, teaching nothing.
	require.Equal(t, 1, statusCount(cands, generation.CandidateErrored))
	require.Zero(t, statusCount(cands, generation.CandidateFailed))
	require.Equal(t, 2, h.retries("InternalError"))
	for _, c := range cands {
		if c.Status == generation.CandidateErrored {
			require.True(t, strings.HasPrefix(c.FailureReason, "internal_error: "), c.FailureReason)
			require.NotContains(t, c.FailureReason, "connection reset by peer", "the detail is logged, not shown")
		}
	}
	require.Zero(t, h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND feedback_type = 'failed'`, g.ID))
}

func TestFilteredCandidatesAreOutcomes(t *testing.T) {
	t.Parallel()
	provider := &scripted{inner: procedural.New(procedural.Options{NoDefects: true, FilterTerms: []string{"lingerie"}}), calls: map[int64]int{}}
	h := newHarness(t, provider, nil)
	g, err := h.run(`{"count": 2, "prompt": "lingerie catalog shot", "maxRounds": 2}`)
	require.NoError(t, err, "an all-filtered request ends in a recorded failure, not a crashed execution")
	require.Equal(t, generation.StatusFailed, g.Status)
	require.Equal(t, 2, g.Rounds)
	require.NotEmpty(t, g.Error)
	cands := h.candidates(g.ID)
	require.Equal(t, len(cands), statusCount(cands, generation.CandidateFiltered))
	require.Contains(t, cands[0].FailureReason, "filtered")
	require.Empty(t, h.objectKeys("generations/"+g.ID+"/"))
	require.Equal(t, len(cands), h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND feedback_type = 'filtered'`, g.ID))
}

func TestInvalidGenerationFailsWithAReasonAndWritesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), nil)
	// The API refuses a provider that is not enabled, so the stored
	// generation is forged: a valid one copied under a new id.
	valid, err := h.run(`{"count": 1}`)
	require.NoError(t, err)
	forged := valid
	forged.ID, forged.Provider, forged.Settings.Provider = generation.NewID(), "imaginary", "imaginary"
	forged.Status, forged.ExecutionARN, forged.CompletedAt, forged.Error = generation.StatusPlanning, "", nil, ""
	_, created, err := h.stack.Store.CreateGeneration(t.Context(), forged)
	require.NoError(t, err)
	require.True(t, created)
	_, err = h.stack.Execute(t.Context(), forged.ID)
	g, gErr := h.stack.Store.Generation(t.Context(), forged.ID)
	require.NoError(t, gErr)
	var execErr *sfnlocal.ExecutionError
	require.ErrorAs(t, err, &execErr)
	require.Equal(t, "GenerationFailed", execErr.Name)
	require.Equal(t, generation.StatusFailed, g.Status)
	require.True(t, strings.HasPrefix(g.Error, "invalid_request: "), g.Error)
	require.Contains(t, g.Error, `unknown provider "imaginary"`)
	require.NotNil(t, g.CompletedAt)
	require.Empty(t, h.candidates(g.ID))
	require.Empty(t, h.objectKeys("generations/"+g.ID+"/"))
	require.Zero(t, h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1`, g.ID))
}

func TestRunningAnExecutionTwiceDuplicatesNothing(t *testing.T) {
	t.Parallel()
	provider := cleanProvider(nil)
	h := newHarness(t, provider, nil)
	g, err := h.run(`{"count": 3}`)
	require.NoError(t, err)
	cands := len(h.candidates(g.ID))
	objects := len(h.objectKeys("generations/" + g.ID + "/"))
	feedback := h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1`, g.ID)
	calls := provider.Total()

	_, err = h.stack.Execute(context.Background(), g.ID)
	var execErr *sfnlocal.ExecutionError
	require.ErrorAs(t, err, &execErr, "a finished generation is not planned again")
	again, err := h.stack.Store.Generation(context.Background(), g.ID)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, again.Status, "the failed re-run leaves the delivery as it was")
	require.Len(t, h.candidates(g.ID), cands)
	require.Len(t, h.objectKeys("generations/"+g.ID+"/"), objects)
	require.Equal(t, feedback, h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1`, g.ID))
	require.Equal(t, calls, provider.Total(), "no second paid call")
}

func TestReplayingEveryStageDuplicatesNothing(t *testing.T) {
	t.Parallel()
	provider := cleanProvider(nil)
	h := newHarness(t, provider, nil)
	g, err := h.run(`{"count": 2}`)
	require.NoError(t, err)
	ctx := context.Background()
	p := h.stack.Pipeline
	before := h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1`, g.ID)
	calls := provider.Total()
	// Step Functions retries a Task whose Lambda timed out after doing its
	// work: every stage must be safe to run again.
	for _, c := range h.candidates(g.ID) {
		again, err := p.Generate(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, c.ObjectKey, again.ObjectKey)
		v, err := p.Validate(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, c.Verdict.Score, v.Verdict.Score)
	}
	_, err = p.Deliver(ctx, g.ID)
	require.NoError(t, err)
	_, err = h.stack.Queue.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, calls, provider.Total())
	require.Equal(t, before, h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1`, g.ID))
	require.Equal(t, g.PlannedCount, h.count(`SELECT count(*) FROM validation_results v JOIN candidates c ON c.id = v.candidate_id WHERE c.generation_id = $1`, g.ID))
}

func TestDefaultProviderDeliversWithRealDefects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil) // the procedural provider with its quirk table
	g, err := h.run(`{"count": 8}`)
	require.NoError(t, err)
	require.Contains(t, []generation.Status{generation.StatusDelivered}, g.Status, g.Error)
	require.Equal(t, 8, g.DeliveredCount)
	require.GreaterOrEqual(t, g.GeneratedCount, 10, "8 plus the default 20 %% buffer")
	require.Empty(t, h.stack.Queue.DeadLetters())
	for _, c := range h.candidates(g.ID) {
		if c.Verdict != nil && !c.Verdict.Passed {
			require.NotEmpty(t, c.Verdict.Reasons, "every failure says why")
		}
	}
}

// lostQueue is a feedback queue that never accepts a message.
type lostQueue struct{}

func (lostQueue) Publish(context.Context, []generation.FeedbackEvent) error {
	return errors.New("queue unreachable")
}

// R8: the feedback is written with the selection, so a queue that never
// takes the events loses none of them; Recalibrate folds what no learner
// batch did.
func TestFeedbackSurvivesALostQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), nil)
	h.stack.Pipeline.Publisher = lostQueue{}
	g, err := h.run(`{"count": 2, "bufferPercent": 50}`)
	require.NoError(t, err, "a committed delivery is final: publishing is best effort")
	require.Equal(t, generation.StatusDelivered, g.Status, "the delivery stands")
	const outcomes = `SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND feedback_source <> 'validation_trigger'`
	require.Equal(t, 3, h.count(outcomes, g.ID), "one stored event per candidate")
	require.Equal(t, 3, h.count(outcomes+` AND processed_at IS NULL`, g.ID), "no learner batch folded them")

	_, err = h.stack.Pipeline.Recalibrate(context.Background())
	require.NoError(t, err)
	require.Zero(t, h.count(outcomes+` AND processed_at IS NULL`, g.ID), "Recalibrate folded them")
	require.Positive(t, h.count(`SELECT count(*) FROM attribute_stats WHERE provider = 'procedural'`))
}

func TestFeedbackOffStoresNoOutcomes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), map[string]string{"RLHF_FEEDBACK_ENABLED": "false"})
	g, err := h.run(`{"count": 2, "bufferPercent": 50}`)
	require.NoError(t, err)
	require.Equal(t, generation.StatusDelivered, g.Status)
	require.Zero(t, h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND feedback_source <> 'validation_trigger'`, g.ID))
}

// Every free string of a request is bounded and typed before anything is
// written: a provider that is not enabled, a model that is not allowed, a
// model too long for Postgres's index (5,000 characters) or copied into
// every row (100 KB), a path that would steer the Replicate URL, a control
// character in the prompt. Each is a 400 JSON answer naming the field, and
// the database and the bucket stay empty.
func TestRefusedSettingsAre400AndWriteNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cleanProvider(nil), map[string]string{"PROVIDERS": "procedural,replicate"})
	tests := []struct{ name, settings, field string }{
		{"provider not enabled", `{"count": 1, "provider": "imaginary"}`, "provider"},
		{"model of another provider", `{"count": 1, "model": "black-forest-labs/flux-2-pro"}`, "model"},
		{"model not allowed", `{"count": 1, "provider": "replicate", "model": "acme/x"}`, "model"},
		{"model steering the URL", `{"count": 1, "provider": "replicate", "model": "../../v1/deployments/acme/x"}`, "model"},
		{"model of 5,000 characters", `{"count": 1, "model": "` + strings.Repeat("m", 5000) + `"}`, "model"},
		{"model of 100 KB", `{"count": 1, "model": "` + strings.Repeat("m", 100<<10) + `"}`, "model"},
		{"escape sequence in the prompt", `{"count": 1, "prompt": "coat\u001b[2J"}`, "prompt"},
	}
	for _, tt := range tests {
		status, out := h.post(tt.settings)
		require.Equal(t, http.StatusBadRequest, status, "%s: %v", tt.name, out)
		e, _ := out["error"].(map[string]any)
		require.Equal(t, generation.EINVALID, e["code"], tt.name)
		require.Equal(t, tt.field, e["field"], tt.name)
		msg, _ := e["message"].(string)
		require.Less(t, len(msg), 400, "%s: the message does not echo the value", tt.name)
		require.NotContains(t, msg, "SQLSTATE", tt.name)
	}
	require.Zero(t, h.count(`SELECT count(*) FROM generations`))
	require.Empty(t, h.objectKeys(""))

	status, out := h.post(`{"count": 1, "provider": "replicate", "model": "black-forest-labs/flux-schnell"}`)
	require.Equal(t, http.StatusAccepted, status, "an allowed model of an enabled provider is accepted: %v", out)
}
