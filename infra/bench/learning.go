package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
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
	"github.com/designerbff/pipeline/shared/buffer"
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

type benchLearningOptions struct {
	Seeds    []int64
	Requests int
	Count    int
	Side     int
	Doc      string
	Chart    string
	Arms     []string
}

// learnRequest is one request's outcome in one arm.
type learnRequest struct {
	Generated     int     // candidates made, all rounds
	Failed        int     // absolute failures: filtered, errored or below the pass threshold
	Delivered     int     // images delivered
	Rounds        int     // rounds run
	BufferPercent float64 // round 1's buffer
	Status        generation.Status
	// FirstRoundPassed is how many of round 1's candidates passed: the
	// promise is kept in round 1 when it is at least N.
	FirstRoundPassed int
	// Predictions are the planned candidates' predicted pass probabilities
	// and their outcomes, for calibration (candidates without one: none).
	Predictions []prediction
	// ExplorationCost is what the chooser knowingly spent exploring, in
	// expected images (the candidates' exploration costs summed).
	ExplorationCost float64
}

// prediction is one candidate's predicted pass probability and outcome.
type prediction struct {
	P      float64
	Passed bool
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

// late is the arm's requests from (1-based) on; none for an arm not run.
func (b learnSeed) late(arm string, from int) []learnRequest {
	reqs := b.Arms[arm]
	return reqs[min(from-1, len(reqs)):]
}

// lateFailureRate is the pooled failure rate of requests from (1-based) on.
func (b learnSeed) lateFailureRate(arm string, from int) float64 {
	var failed, generated int
	for _, r := range b.late(arm, from) {
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
	arms := fs.String("arms", strings.Join(learnArms, ","), "the arms to run (a subset is for tuning: the report judges all four)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, a := range strings.Split(*arms, ",") {
		if !slices.Contains(learnArms, a) {
			return fmt.Errorf("--arms: unknown arm %q (have %s)", a, strings.Join(learnArms, ", "))
		}
		opts.Arms = append(opts.Arms, a)
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
	doc := learningReport(results, opts, summary, filepath.Base(opts.Chart))
	if err := os.WriteFile(opts.Doc, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for _, r := range results {
		k, n := r.firstRound(armOn, opts.Count)
		fmt.Fprintf(stdout, "seed=%d failure(11-%d) on=%.3f off=%.3f oracle=%.3f plain=%.3f gap_closed=%.2f reduction=%.2f images on=%d off=%d oracle=%d plain=%d "+
			"on_images_per_delivered(11-%d)=%.3f on_mstar=%d on_mstar_ratio=%.3f on_first_round=%d/%d on_brier=%.4f on_exploration_images=%.1f delivered_all=%t\n",
			r.Seed, opts.Requests, r.lateFailureRate(armOn, 11), r.lateFailureRate(armOff, 11), r.lateFailureRate(armOracle, 11), r.lateFailureRate(armPlain, 11),
			learnGapClosed(r), failureReduction(r), r.images(armOn), r.images(armOff), r.images(armOracle), r.images(armPlain),
			opts.Requests, r.imagesPerDelivered(armOn, 11), r.mstar(armOn, opts.Count), r.mstarRatio(armOn, opts.Count), k, n,
			brier(r.predictions(armOn)), r.explorationCost(armOn), r.deliveredAll(opts.Count))
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

// benchConfidence is the requests' target confidence (the default
// settings'): M* and first-round delivery are judged against it.
const benchConfidence = 0.95

// The benchmark's criteria (issue 15), checked by the benchmark itself.
const (
	criterionGapClosed     = 0.70 // failure gap closed, every seed
	criterionMstarRatio    = 1.10 // on's mean images per request 11–20 over M*(N, its failure rate, c)
	criterionFirstRound    = 0.93 // on's first-round delivery over all requests of all seeds
	criterionImagesSeeds15 = 2540 // on's images over seeds 1–5, all 20 requests
)

// lateImagesPerRequest is the arm's mean images per request from (1-based) on.
func (b learnSeed) lateImagesPerRequest(arm string, from int) float64 {
	reqs := b.late(arm, from)
	n := 0
	for _, r := range reqs {
		n += r.Generated
	}
	return float64(n) / float64(max(1, len(reqs)))
}

// imagesPerDelivered is images generated per image delivered from request
// (1-based) on.
func (b learnSeed) imagesPerDelivered(arm string, from int) float64 {
	var generated, delivered int
	for _, r := range b.late(arm, from) {
		generated += r.Generated
		delivered += r.Delivered
	}
	return float64(generated) / float64(max(1, delivered))
}

// mstar is the exact least M for N at the arm's realised failure rate over
// requests 11 on (the oracle planner that knows that rate).
func (b learnSeed) mstar(arm string, count int) int {
	m, _ := buffer.CountKnown(count, benchConfidence, b.lateFailureRate(arm, 11), 0)
	return m
}

// mstarRatio is the arm's mean images per request 11 on over its M*.
func (b learnSeed) mstarRatio(arm string, count int) float64 {
	return b.lateImagesPerRequest(arm, 11) / float64(max(1, b.mstar(arm, count)))
}

// firstRound counts the arm's requests whose round 1 alone delivered N.
func (b learnSeed) firstRound(arm string, count int) (kept, requests int) {
	for _, r := range b.Arms[arm] {
		requests++
		if r.FirstRoundPassed >= count {
			kept++
		}
	}
	return kept, requests
}

// firstRoundMisses counts the arm's requests whose round 1 fell short of N,
// request 1 apart from the later ones: request 1 of a fresh database is
// planned with no history at all (the cold start, modifiers drawn
// uniformly), so its miss says little about the per-candidate predictions,
// but it spends the first-round criterion's tolerance all the same.
func (b learnSeed) firstRoundMisses(arm string, count int) (first, later int) {
	for i, r := range b.Arms[arm] {
		if r.FirstRoundPassed >= count {
			continue
		}
		if i == 0 {
			first++
		} else {
			later++
		}
	}
	return first, later
}

// predictions are the arm's candidates' predictions and outcomes.
func (b learnSeed) predictions(arm string) []prediction {
	var out []prediction
	for _, r := range b.Arms[arm] {
		out = append(out, r.Predictions...)
	}
	return out
}

// explorationCost is what the arm's chooser knowingly spent exploring, in
// expected images over all requests.
func (b learnSeed) explorationCost(arm string) float64 {
	c := 0.0
	for _, r := range b.Arms[arm] {
		c += r.ExplorationCost
	}
	return c
}

// brier is the mean squared difference of predicted pass probability and
// outcome (0 is perfect; always predicting the base rate q scores q(1−q)).
func brier(ps []prediction) float64 {
	if len(ps) == 0 {
		return 0
	}
	sum := 0.0
	for _, p := range ps {
		y := 0.0
		if p.Passed {
			y = 1
		}
		sum += (p.P - y) * (p.P - y)
	}
	return sum / float64(len(ps))
}

// reliabilityEdges are the reliability table's bins of predicted pass
// probability: [edge[i], edge[i+1]).
var reliabilityEdges = []float64{0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0000001}

// reliabilityBin is one bin: how many predictions, their mean and the
// realised pass rate.
type reliabilityBin struct {
	Lo, Hi              float64
	N                   int
	Predicted, Realised float64
}

func reliability(ps []prediction) []reliabilityBin {
	bins := make([]reliabilityBin, len(reliabilityEdges)-1)
	for i := range bins {
		bins[i].Lo, bins[i].Hi = reliabilityEdges[i], min(1, reliabilityEdges[i+1])
	}
	for _, p := range ps {
		for i := range bins {
			if p.P >= reliabilityEdges[i] && p.P < reliabilityEdges[i+1] {
				bins[i].N++
				bins[i].Predicted += p.P
				if p.Passed {
					bins[i].Realised++
				}
				break
			}
		}
	}
	for i := range bins {
		if bins[i].N > 0 {
			bins[i].Predicted /= float64(bins[i].N)
			bins[i].Realised /= float64(bins[i].N)
		}
	}
	return bins
}

type learningSummary struct {
	Seeds          int
	MinGapClosed   float64
	MinReduction   float64
	ImagesOn       int
	ImagesOff      int
	ImagesOracle   int
	ImagesPlain    int
	FewerImagesAll bool // on below off on every seed
	FewerThanPlain bool // on below plain on every seed
	MaxMstarRatio  float64
	FirstRoundOn   float64
	// FirstRoundRequests is the learning arm's requests over all seeds;
	// FirstRoundMissFirst and FirstRoundMissLater are how many of them fell
	// short of N in round 1: requests 1 and the others.
	FirstRoundRequests                       int
	FirstRoundMissFirst, FirstRoundMissLater int
	BrierOn                                  float64
	ExplorationOn                            float64 // expected images
	DeliveredAll                             bool
	GapTargetMetAll                          bool
	// ImagesOnSeeds15 is on's images over seeds 1–5 when all five ran
	// (−1: not all of them ran).
	ImagesOnSeeds15 int
}

func summarizeLearning(results []learnSeed, opts benchLearningOptions) learningSummary {
	s := learningSummary{Seeds: len(results), MinGapClosed: 1e9, MinReduction: 1e9, FewerImagesAll: true, FewerThanPlain: true,
		DeliveredAll: true, GapTargetMetAll: true}
	var kept, requests, seeds15 int
	var ps []prediction
	for _, r := range results {
		s.MinGapClosed = min(s.MinGapClosed, learnGapClosed(r))
		s.MinReduction = min(s.MinReduction, failureReduction(r))
		s.ImagesOn += r.images(armOn)
		s.ImagesOff += r.images(armOff)
		s.ImagesOracle += r.images(armOracle)
		s.ImagesPlain += r.images(armPlain)
		s.FewerImagesAll = s.FewerImagesAll && r.images(armOn) < r.images(armOff)
		s.FewerThanPlain = s.FewerThanPlain && r.images(armOn) < r.images(armPlain)
		s.MaxMstarRatio = max(s.MaxMstarRatio, r.mstarRatio(armOn, opts.Count))
		k, n := r.firstRound(armOn, opts.Count)
		kept, requests = kept+k, requests+n
		first, later := r.firstRoundMisses(armOn, opts.Count)
		s.FirstRoundMissFirst += first
		s.FirstRoundMissLater += later
		ps = append(ps, r.predictions(armOn)...)
		s.ExplorationOn += r.explorationCost(armOn)
		s.DeliveredAll = s.DeliveredAll && r.deliveredAll(opts.Count)
		s.GapTargetMetAll = s.GapTargetMetAll && learnGapClosed(r) >= criterionGapClosed
		if r.Seed >= 1 && r.Seed <= 5 {
			seeds15++
			s.ImagesOnSeeds15 += r.images(armOn)
		}
	}
	if seeds15 < 5 {
		s.ImagesOnSeeds15 = -1
	}
	s.FirstRoundOn = float64(kept) / float64(max(1, requests))
	s.FirstRoundRequests = requests
	s.BrierOn = brier(ps)
	return s
}

// criteria are the benchmark's targets, each with whether it was met.
func (s learningSummary) criteria() []learnCriterion {
	out := []learnCriterion{
		{fmt.Sprintf("learning on: mean images per request 11–20 ≤ %.2f × M*(N, its realised failure rate, c) on every seed", criterionMstarRatio),
			fmt.Sprintf("max ratio %.3f", s.MaxMstarRatio), s.MaxMstarRatio <= criterionMstarRatio},
		{"learning on: fewer images than no modifiers over all requests, every seed",
			fmt.Sprintf("%d vs %d in all", s.ImagesOn, s.ImagesPlain), s.FewerThanPlain},
	}
	if s.ImagesOnSeeds15 >= 0 {
		out = append(out, learnCriterion{fmt.Sprintf("learning on: at most %d images over seeds 1–5", criterionImagesSeeds15),
			fmt.Sprint(s.ImagesOnSeeds15), s.ImagesOnSeeds15 <= criterionImagesSeeds15})
	}
	return append(out,
		learnCriterion{fmt.Sprintf("learning on: first-round delivery ≥ %.2f over all requests of all seeds (c = %.2f)", criterionFirstRound, benchConfidence),
			fmt.Sprintf("%.3f", s.FirstRoundOn), s.FirstRoundOn >= criterionFirstRound},
		learnCriterion{"N delivered every time, every arm", learnYesNo(s.DeliveredAll), s.DeliveredAll},
		learnCriterion{fmt.Sprintf("failure gap closed ≥ %.2f on every seed", criterionGapClosed),
			fmt.Sprintf("min %.2f", s.MinGapClosed), s.GapTargetMetAll},
	)
}

// learnCriterion is one target of the benchmark and its outcome.
type learnCriterion struct {
	Name, Measured string
	Met            bool
}

// met reports whether every criterion was met.
func (s learningSummary) met() bool {
	for _, c := range s.criteria() {
		if !c.Met {
			return false
		}
	}
	return true
}

func (s learningSummary) line() string {
	return fmt.Sprintf("seeds=%d min_gap_closed=%.2f images_on=%d images_off=%d images_plain=%d images_oracle=%d max_on_mstar_ratio_11_20=%.3f "+
		"fewer_than_plain_every_seed=%t first_round_delivery_on=%.3f brier_on=%.4f delivered_all=%t "+
		"min_failure_reduction=%.2f fewer_than_off_every_seed=%t images_on_seeds_1_5=%d exploration_images_on=%.1f "+
		"first_round_misses_on_request_1=%d first_round_misses_on_later=%d criteria_met=%t",
		s.Seeds, s.MinGapClosed, s.ImagesOn, s.ImagesOff, s.ImagesPlain, s.ImagesOracle, s.MaxMstarRatio,
		s.FewerThanPlain, s.FirstRoundOn, s.BrierOn, s.DeliveredAll,
		s.MinReduction, s.FewerImagesAll, s.ImagesOnSeeds15, s.ExplorationOn,
		s.FirstRoundMissFirst, s.FirstRoundMissLater, s.met())
}

// firstRoundBudget is the first-round criterion's arithmetic: how many of
// the learning arm's requests may miss round 1 (tolerance), how many of
// those requests 1 spent, and how many misses plans exactly calibrated at c
// would make in the later requests (expected).
func (s learningSummary) firstRoundBudget() (tolerance, spent int, expected float64) {
	tolerance = int(math.Floor((1-criterionFirstRound)*float64(s.FirstRoundRequests) + 1e-9))
	return tolerance, s.FirstRoundMissFirst, (1 - benchConfidence) * float64(s.FirstRoundRequests-s.Seeds)
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
		for _, arm := range opts.Arms {
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
	cfg, err := benchStackConfig(seed)
	if err != nil {
		return nil, err
	}
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
			"prompt":          procedural.SamplePrompts[i%len(procedural.SamplePrompts)],
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

// benchStackConfig is the embedded defaults for a quirk seed, without the
// per-designer daily limits. The benchmark is one designer sending an arm's
// every request within minutes: USER_MAX_IMAGES_PER_DAY's 1,000 images would
// refuse a run of more than about 40 requests (429), and before that cap
// maxImages to what is left of the day once less than GenerationBound is,
// which bounds the plan by a quota rather than by the learning it measures.
func benchStackConfig(seed int64) (config.Config, error) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		return config.Config{}, err
	}
	cfg.QuirkSeed = seed
	cfg.Limits.MaxImagesPerDay = 0
	cfg.Limits.MaxCostPerDay = 0
	return cfg, nil
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
		passed := c.Verdict != nil && c.Verdict.Passed && c.Status != generation.CandidateFiltered &&
			c.Status != generation.CandidateFailed && c.Status != generation.CandidateErrored
		if !passed {
			r.Failed++
		}
		if passed && c.Round == 1 {
			r.FirstRoundPassed++
		}
		if c.PredictedPass != nil && c.Status != generation.CandidateErrored {
			r.Predictions = append(r.Predictions, prediction{P: *c.PredictedPass, Passed: passed})
		}
		r.ExplorationCost += c.ExplorationCost
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
