package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
	"github.com/designerbff/pipeline/shared/provider/procedural"
)

// The benchmark's arms. Every arm gets the same requests (same generation
// ids, hence the same candidate seeds, and the same base prompts).
const (
	armOn     = "on"     // useRLHFLearning true: Thompson sampling over what the learner folded
	armOff    = "off"    // useRLHFLearning false: the same modifier design, drawn uniformly
	armOracle = "oracle" // reads the quirk table and always picks the safest modifier of each group
	// armPlain is a reference, not judged: prompts without modifiers (what
	// learning off planned before per-candidate modifiers existed).
	armPlain = "plain"
)

var learnArms = []string{armOn, armOff, armOracle, armPlain}

// benchMaxRounds is every request's maxRounds.
const benchMaxRounds = 6

// learningPrompts are the requests' base prompts, in turn.
var learningPrompts = []string{
	"linen summer dress, product photo",
	"denim jacket, street style",
	"wool overcoat, editorial",
	"silk scarf, studio",
	"leather ankle boots, catalog",
	"chunky knit sweater, lookbook",
}

type benchLearningOptions struct {
	Seeds    []int64
	Requests int
	Count    int
	Side     int
	Doc      string
	Chart    string
}

// learnRequest is one request's outcome in one arm.
type learnRequest struct {
	Generated     int     // candidates made, all rounds
	Failed        int     // absolute failures: filtered, errored or below the pass threshold
	Delivered     int     // images delivered
	Rounds        int     // rounds run
	BufferPercent float64 // round 1's buffer
	Status        generation.Status
}

// FailureRate is failures per generated image.
func (r learnRequest) FailureRate() float64 {
	if r.Generated == 0 {
		return 0
	}
	return float64(r.Failed) / float64(r.Generated)
}

// learnSeed is one quirk seed's three curves.
type learnSeed struct {
	Seed   int64
	Quirks procedural.Quirks
	Arms   map[string][]learnRequest
}

// lateFailureRate is the pooled failure rate of requests from (1-based) on.
func (b learnSeed) lateFailureRate(arm string, from int) float64 {
	var failed, generated int
	for _, r := range b.Arms[arm][from-1:] {
		failed += r.Failed
		generated += r.Generated
	}
	if generated == 0 {
		return 0
	}
	return float64(failed) / float64(generated)
}

func (b learnSeed) images(arm string) int {
	n := 0
	for _, r := range b.Arms[arm] {
		n += r.Generated
	}
	return n
}

// deliveredAll reports whether every request of every arm delivered N.
func (b learnSeed) deliveredAll(count int) bool {
	for _, reqs := range b.Arms {
		for _, r := range reqs {
			if r.Delivered != count || r.Status != generation.StatusDelivered {
				return false
			}
		}
	}
	return true
}

func learningCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("learning", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seeds := fs.String("seeds", "1,2,3,4,5", "comma-separated quirk seeds")
	opts := benchLearningOptions{}
	fs.IntVar(&opts.Requests, "requests", 20, "sequential requests per arm")
	fs.IntVar(&opts.Count, "count", 20, "N of each request")
	fs.IntVar(&opts.Side, "side", 192, "image width and height (small keeps the run short; defects scale with the image)")
	fs.StringVar(&opts.Doc, "doc", "docs/learning-benchmark.md", "the report to write")
	fs.StringVar(&opts.Chart, "chart", "docs/learning-benchmark.svg", "the chart to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(*seeds, ",") {
		seed, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || seed <= 0 {
			return fmt.Errorf("--seeds: %q is not a positive integer", s)
		}
		opts.Seeds = append(opts.Seeds, seed)
	}
	if opts.Requests < 11 {
		return fmt.Errorf("--requests must be at least 11 (requests 11 on are measured), got %d", opts.Requests)
	}
	start := time.Now()
	results, err := runBenchLearning(ctx, opts, stderr)
	if err != nil {
		return err
	}
	summary := summarizeLearning(results, opts)
	if err := os.MkdirAll(filepath.Dir(opts.Doc), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(opts.Doc), err)
	}
	svg, err := learningChart(results, opts)
	if err != nil {
		return err
	}
	if err := os.WriteFile(opts.Chart, svg, 0o644); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	doc := learningReport(results, opts, summary, filepath.Base(opts.Chart), time.Since(start))
	if err := os.WriteFile(opts.Doc, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for _, r := range results {
		fmt.Fprintf(stdout, "seed=%d failure(11-%d) on=%.3f off=%.3f oracle=%.3f plain=%.3f gap_closed=%.2f reduction=%.2f images on=%d off=%d oracle=%d plain=%d delivered_all=%t\n",
			r.Seed, opts.Requests, r.lateFailureRate(armOn, 11), r.lateFailureRate(armOff, 11), r.lateFailureRate(armOracle, 11), r.lateFailureRate(armPlain, 11),
			learnGapClosed(r), failureReduction(r), r.images(armOn), r.images(armOff), r.images(armOracle), r.images(armPlain), r.deliveredAll(opts.Count))
	}
	fmt.Fprintf(stdout, "wrote %s and %s in %s\n", opts.Doc, opts.Chart, time.Since(start).Round(time.Second))
	fmt.Fprintln(stdout, summary.line())
	return nil
}

// learnGapClosed is (off − on) / (off − oracle) over requests 11 on.
func learnGapClosed(b learnSeed) float64 {
	off, on, oracle := b.lateFailureRate(armOff, 11), b.lateFailureRate(armOn, 11), b.lateFailureRate(armOracle, 11)
	if off <= oracle {
		return 0
	}
	return (off - on) / (off - oracle)
}

// failureReduction is the relative failure reduction (off − on) / off over requests 11 on.
func failureReduction(b learnSeed) float64 {
	off, on := b.lateFailureRate(armOff, 11), b.lateFailureRate(armOn, 11)
	if off == 0 {
		return 0
	}
	return (off - on) / off
}

type learningSummary struct {
	Seeds           int
	MinGapClosed    float64
	MinReduction    float64
	ImagesOn        int
	ImagesOff       int
	ImagesOracle    int
	FewerImagesAll  bool
	DeliveredAll    bool
	GapTargetMetAll bool
}

func summarizeLearning(results []learnSeed, opts benchLearningOptions) learningSummary {
	s := learningSummary{Seeds: len(results), MinGapClosed: 1e9, MinReduction: 1e9, FewerImagesAll: true, DeliveredAll: true, GapTargetMetAll: true}
	for _, r := range results {
		s.MinGapClosed = min(s.MinGapClosed, learnGapClosed(r))
		s.MinReduction = min(s.MinReduction, failureReduction(r))
		s.ImagesOn += r.images(armOn)
		s.ImagesOff += r.images(armOff)
		s.ImagesOracle += r.images(armOracle)
		s.FewerImagesAll = s.FewerImagesAll && r.images(armOn) < r.images(armOff)
		s.DeliveredAll = s.DeliveredAll && r.deliveredAll(opts.Count)
		s.GapTargetMetAll = s.GapTargetMetAll && learnGapClosed(r) >= 0.7
	}
	return s
}

func (s learningSummary) line() string {
	return fmt.Sprintf("seeds=%d min_gap_closed=%.2f min_failure_reduction=%.2f images_on=%d images_off=%d images_oracle=%d fewer_images_every_seed=%t delivered_all=%t",
		s.Seeds, s.MinGapClosed, s.MinReduction, s.ImagesOn, s.ImagesOff, s.ImagesOracle, s.FewerImagesAll, s.DeliveredAll)
}

// runBenchLearning runs every (seed, arm) on a fresh database of one
// throwaway Postgres (or DATABASE_URL's server is not used: each arm must
// start from zero knowledge).
func runBenchLearning(ctx context.Context, opts benchLearningOptions, progress io.Writer) ([]learnSeed, error) {
	pg, err := pgserver.Start(ctx, pgserver.Options{})
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	defer func() { _ = pg.Stop(context.WithoutCancel(ctx)) }()
	reference, err := stack.DemoReference(ctx)
	if err != nil {
		return nil, err
	}
	var out []learnSeed
	for _, seed := range opts.Seeds {
		b := learnSeed{Seed: seed, Quirks: procedural.QuirkTable(seed), Arms: map[string][]learnRequest{}}
		for _, arm := range learnArms {
			db := fmt.Sprintf("bench_learning_%d_%s", seed, arm)
			if err := pg.CreateDatabase(ctx, db); err != nil {
				return nil, err
			}
			reqs, err := runLearningArm(ctx, pg.URL(db), seed, arm, reference, opts, progress)
			if err != nil {
				return nil, fmt.Errorf("seed %d, learning %s: %w", seed, arm, err)
			}
			b.Arms[arm] = reqs
		}
		out = append(out, b)
	}
	return out, nil
}

// runLearningArm sends the requests one after another through the API of a local
// stack (the real state machine, validator, learner and queue), with the
// recalibration schedule's work done after each request.
func runLearningArm(ctx context.Context, dbURL string, seed int64, arm string, reference []byte, opts benchLearningOptions, progress io.Writer) ([]learnRequest, error) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	cfg.QuirkSeed = seed
	s, err := stack.Start(ctx, stack.Options{DatabaseURL: dbURL, Config: cfg, MapConcurrency: 4})
	if err != nil {
		return nil, err
	}
	defer s.Close(context.WithoutCancel(ctx))
	switch arm {
	case armOracle:
		s.Pipeline.Chooser = oracleChooser{quirks: procedural.QuirkTable(seed)}
	case armPlain:
		s.Pipeline.Chooser = nil // no modifiers at all
	}
	api := httptest.NewServer(s.API(true).Handler())
	defer api.Close()

	var reqs []learnRequest
	for i := range opts.Requests {
		settings := map[string]any{
			"count":           opts.Count,
			"prompt":          learningPrompts[i%len(learningPrompts)],
			"useRLHFLearning": arm == armOn,
			// Room for top-ups, so that a buffer too small for a bad
			// arm's failure rate still ends in N delivered images.
			"maxRounds": benchMaxRounds,
			"width":     opts.Side,
			"height":    opts.Side,
		}
		// The idempotency key fixes the generation id, hence every
		// candidate's seed: every arm gets the same requests.
		id, err := postBenchGeneration(api.URL, reference, settings, fmt.Sprintf("bench-%d-%d", seed, i+1))
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i+1, err)
		}
		if _, err := s.Starter.Wait(ctx, id); err != nil {
			fmt.Fprintf(progress, "seed %d %s request %d: execution: %v\n", seed, arm, i+1, err)
		}
		if _, err := s.Pipeline.Recalibrate(ctx); err != nil {
			return nil, err
		}
		r, err := measureLearningRequest(ctx, s, id)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
		fmt.Fprintf(progress, "seed %d %-6s request %2d: %2d generated, %2d failed, %2d delivered (%s), buffer %.0f%%, %d rounds\n",
			seed, arm, i+1, r.Generated, r.Failed, r.Delivered, r.Status, r.BufferPercent, r.Rounds)
	}
	return reqs, nil
}

// postBenchGeneration is POST /v1/generations with an Idempotency-Key.
func postBenchGeneration(baseURL string, reference []byte, settings map[string]any, key string) (string, error) {
	body, err := json.Marshal(map[string]any{"image": base64.StdEncoding.EncodeToString(reference), "settings": settings})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequest(http.MethodPost, baseURL+"/v1/generations", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer bench-designer")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID    string          `json:"id"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("decode POST /v1/generations answer: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("POST /v1/generations: %s: %s", resp.Status, out.Error)
	}
	return out.ID, nil
}

func measureLearningRequest(ctx context.Context, s *stack.Stack, id string) (learnRequest, error) {
	g, err := s.Store.Generation(ctx, id)
	if err != nil {
		return learnRequest{}, err
	}
	cands, err := s.Store.Candidates(ctx, id, s.Pipeline.Validator.Version())
	if err != nil {
		return learnRequest{}, err
	}
	r := learnRequest{Rounds: g.Rounds, BufferPercent: g.BufferPercent, Status: g.Status}
	for _, c := range cands {
		r.Generated++
		if c.Verdict == nil || !c.Verdict.Passed {
			r.Failed++
		}
		if c.Status == generation.CandidateSelected {
			r.Delivered++
		}
	}
	return r, nil
}

// oracleChooser is the benchmark's limit: it reads the provider's quirk
// table (which the learner never sees) and gives every candidate the modifier
// with the lowest defect probability of each group.
type oracleChooser struct{ quirks procedural.Quirks }

func (o oracleChooser) Choose(_ context.Context, req generation.ChoiceRequest) (generation.ModifierChoice, error) {
	safest := make([]string, 0, len(learning.Catalog))
	for _, g := range learning.Catalog {
		best := slices.MinFunc(g.Modifiers, func(a, b string) int {
			pa, pb := o.quirks.Modifiers[a].P, o.quirks.Modifiers[b].P
			switch {
			case pa < pb:
				return -1
			case pa > pb:
				return 1
			}
			return strings.Compare(a, b)
		})
		safest = append(safest, best)
	}
	out := make([][]string, req.Count)
	for i := range out {
		out[i] = safest
	}
	return generation.ModifierChoice{Modifiers: out}, nil
}
