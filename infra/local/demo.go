package main

import (
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
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
)

// demoRequest is one request the demo sends, each showing a different part
// of the pipeline.
type demoRequest struct {
	Title    string
	Settings map[string]any
}

func demoRequests(count int) []demoRequest {
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{"count": count}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	return []demoRequest{
		{"auto buffer: a cold start (DEFAULT_BUFFER_PERCENT's rate, worth BUFFER_COLD_START_WEIGHT outcomes)", with(map[string]any{"prompt": "linen summer dress, studio product photo"})},
		{"no buffer: top-up rounds make up the shortfall", with(map[string]any{"prompt": "denim jacket, street style", "bufferPercent": 0})},
		{"generous buffer", with(map[string]any{"prompt": "wool overcoat, editorial", "bufferPercent": 50})},
		{"strict, one round, thin buffer: may fall short and says why", with(map[string]any{"prompt": "silk scarf, flat lay", "bufferPercent": 5, "maxRounds": 1, "strict": true})},
		{"JPEG model", with(map[string]any{"prompt": "leather ankle boots, catalog", "model": "procedural-jpeg"})},
		{"learning off: modifiers drawn uniformly, no statistics read", with(map[string]any{"prompt": "chunky knit sweater", "useRLHFLearning": false})},
	}
}

type demoOptions struct {
	Requests int
	Count    int
	OutDir   string
	// DataDir, when set, keeps the run's Postgres cluster and S3 objects
	// there (as `serve --data` does), for `monitor --data` or serve to read.
	DataDir string
}

// demoResult is one request's outcome as the API reports it.
type demoResult struct {
	Request    demoRequest
	Generation httpapi.GenerationBody
	Images     map[string][]byte // candidate id → image bytes, for the report
	Candidates []generation.Candidate
}

func demoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := demoOptions{}
	fs.IntVar(&opts.Requests, "requests", 6, "how many requests (1-6)")
	fs.IntVar(&opts.Count, "count", 12, "images per request (N)")
	fs.StringVar(&opts.OutDir, "out", "demo-output", "folder for the HTML report")
	fs.StringVar(&opts.DataDir, "data", "", "keep the database and images in this folder (e.g. "+DefaultDataDir+", serve's) instead of a throwaway cluster")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, err := runDemo(ctx, opts, stdout, stderr)
	return err
}

// runDemo brings up the local stack, sends the requests through the HTTP
// API, waits for every execution of the real state machine, and prints and
// writes what happened.
func runDemo(ctx context.Context, opts demoOptions, stdout, stderr io.Writer) ([]demoResult, error) {
	start := time.Now()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return nil, err
	}
	reqs := demoRequests(opts.Count)
	if opts.Requests < 1 || opts.Requests > len(reqs) {
		return nil, fmt.Errorf("--requests must be from 1 to %d", len(reqs))
	}
	reqs = reqs[:opts.Requests]
	// The demo's one designer sends every request at once, so the limit on
	// a user's generations in progress is raised to fit them (an explicit
	// USER_MAX_CONCURRENT_GENERATIONS still wins).
	if os.Getenv("USER_MAX_CONCURRENT_GENERATIONS") == "" && cfg.Limits.MaxUnfinished < len(reqs) {
		cfg.Limits.MaxUnfinished = len(reqs)
	}

	// Progress on a terminal only: a log or a pipe gets no \r frames.
	prog := newProgress(stderr, len(reqs)*generation.WithBuffer(opts.Count, cfg.DefaultBufferPercent))
	events := prog.event

	fmt.Fprintf(stdout, "Starting the local stack (Postgres, S3 server, queue, state machine)…\n")
	s, err := stack.Start(ctx, stack.Options{Config: cfg, Events: events, Logger: logger(io.Discard, "error"), DataDir: opts.DataDir})
	if err != nil {
		return nil, err
	}
	defer s.Close(context.WithoutCancel(ctx))
	// A demo over an existing DATABASE_URL finishes what an earlier run left.
	if resumed, err := s.Resume(ctx); err != nil {
		return nil, err
	} else if len(resumed) > 0 {
		fmt.Fprintf(stdout, "Resumed %d unfinished generations from an earlier run.\n", len(resumed))
	}
	api := httptest.NewServer(s.API(true).Handler())
	defer api.Close()

	reference, err := stack.DemoReference(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "Sending %d requests of N=%d through the API (provider %q, quirk seed %d)…\n", len(reqs), opts.Count, cfg.Provider, cfg.QuirkSeed)
	ids := make([]string, len(reqs))
	for i, r := range reqs {
		if ids[i], err = postGeneration(api.URL, reference, r.Settings); err != nil {
			return nil, fmt.Errorf("request %d: %w", i+1, err)
		}
	}
	for _, id := range ids {
		if _, err := s.Starter.Wait(ctx, id); err != nil {
			// A failed execution is an outcome the table shows, not a demo failure.
			fmt.Fprintf(stderr, "execution %s: %v\n", id, err)
		}
	}
	prog.finish()

	results := make([]demoResult, len(reqs))
	for i, id := range ids {
		if results[i], err = collect(ctx, s, api.URL, id, reqs[i]); err != nil {
			return nil, err
		}
	}
	stats, err := s.Pipeline.Recalibrate(ctx)
	if err != nil {
		return nil, err
	}
	failing, err := modifiersFailingMost(ctx, s, 5)
	if err != nil {
		return nil, err
	}
	printResults(stdout, results)
	printLearning(stdout, stats, failing)

	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, err
	}
	path, err := filepath.Abs(filepath.Join(opts.OutDir, "report.html"))
	if err != nil {
		return nil, err
	}
	// One wall time, the whole run's, for the page and the console.
	wall := time.Since(start)
	run := demoRun{Results: results, Reference: reference, Providers: stats, FailingModifiers: failing,
		Threshold: cfg.ValidationMinScore, Wall: wall, Candidates: prog.done()}
	if err := writeReport(path, run); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "\nReport: file://%s\nWall time: %s for %d requests, %d candidates.\n", path, wall.Round(time.Millisecond), len(reqs), run.Candidates)
	return results, nil
}

func postGeneration(baseURL string, reference []byte, settings map[string]any) (string, error) {
	body, err := json.Marshal(map[string]any{"image": base64.StdEncoding.EncodeToString(reference), "settings": settings})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequest(http.MethodPost, baseURL+"/v1/generations", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer demo-designer")
	req.Header.Set("Content-Type", "application/json")
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
		return "", err
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("POST /v1/generations: %s: %s", resp.Status, out.Error)
	}
	return out.ID, nil
}

func collect(ctx context.Context, s *stack.Stack, baseURL, id string, r demoRequest) (demoResult, error) {
	req, err := http.NewRequest(http.MethodGet, baseURL+"/v1/generations/"+id, nil)
	if err != nil {
		return demoResult{}, err
	}
	req.Header.Set("Authorization", "Bearer demo-designer")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return demoResult{}, err
	}
	defer resp.Body.Close()
	res := demoResult{Request: r, Images: map[string][]byte{}}
	if err := json.NewDecoder(resp.Body).Decode(&res.Generation); err != nil {
		return demoResult{}, fmt.Errorf("GET %s: %w", id, err)
	}
	if res.Candidates, err = s.Store.Candidates(ctx, id, s.Pipeline.Validator.Version()); err != nil {
		return demoResult{}, err
	}
	for _, c := range res.Candidates {
		if c.ObjectKey == "" {
			continue
		}
		if res.Images[c.ID], err = s.Objects.Get(ctx, c.ObjectKey); err != nil {
			return demoResult{}, err
		}
	}
	return res, nil
}

func printResults(w io.Writer, results []demoResult) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\trequested\tplanned\tgenerated\tpassed\tdelivered\tsurplus\tfailed\trounds\tbuffer\tstatus\tcost USD\tfailure reasons (images)")
	for i, r := range results {
		g := r.Generation
		o := outcomesOf(r.Candidates)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%.4f\t%s\n", i+1, g.RequestedCount, g.PlannedCount, g.GeneratedCount,
			g.PassedCount, g.DeliveredCount, o.Surplus, o.Failed, g.Rounds, bufferLabel(g), g.Status, g.CostUSD, reasonsLabel(o.Reasons))
	}
	_ = tw.Flush()
	for i, r := range results {
		g := r.Generation
		line := fmt.Sprintf("  %d. %s", i+1, r.Request.Title)
		if g.DeliveredCount != g.RequestedCount || g.Error != "" {
			line += fmt.Sprintf(" — delivered %d of %d: %s", g.DeliveredCount, g.RequestedCount, orDash(g.Error))
		}
		fmt.Fprintln(w, line)
	}
}

// outcomes counts a generation's images that were not delivered, per image:
// surplus (passed, not needed) and failed (refused by the provider, failed
// validation, or lost to infrastructure), with how many failed images
// carried each reason.
type outcomes struct {
	Surplus, Failed int
	Reasons         map[string]int
}

func outcomesOf(cands []generation.Candidate) outcomes {
	o := outcomes{Reasons: map[string]int{}}
	for _, c := range cands {
		switch {
		case c.Status == generation.CandidateSelected:
		case c.Verdict != nil && c.Verdict.Passed:
			o.Surplus++
		case c.Verdict != nil:
			o.Failed++
			for _, r := range c.Verdict.Reasons {
				o.Reasons[r]++
			}
		default:
			o.Failed++
			code, _, _ := strings.Cut(c.FailureReason, ":")
			o.Reasons[orDash(strings.TrimSpace(code))]++
		}
	}
	return o
}

func bufferLabel(g httpapi.GenerationBody) string {
	return fmt.Sprintf("%g%% %s", g.BufferPercent, g.BufferMethod)
}

func reasonsLabel(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// modifierStat is a prompt modifier's discounted outcome counts, as the
// learner holds them.
type modifierStat struct {
	Attribute          string
	Passes, Failures   float64
	FailureRatePercent float64
}

// modifiersFailingMost are the procedural provider's modifiers with the
// highest failure share (at least two discounted outcomes), worst first.
func modifiersFailingMost(ctx context.Context, s *stack.Stack, limit int) ([]modifierStat, error) {
	rows, err := s.Pool.Query(ctx, `SELECT attribute, passes, failures FROM attribute_stats
		WHERE provider = 'procedural' AND passes + failures >= 2
		ORDER BY failures / (passes + failures) DESC, attribute LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("attribute statistics: %w", err)
	}
	defer rows.Close()
	var out []modifierStat
	for rows.Next() {
		var m modifierStat
		if err := rows.Scan(&m.Attribute, &m.Passes, &m.Failures); err != nil {
			return nil, fmt.Errorf("attribute statistics: %w", err)
		}
		m.FailureRatePercent = 100 * m.Failures / (m.Passes + m.Failures)
		out = append(out, m)
	}
	return out, rows.Err()
}

// printLearning shows what the learner and the recalibration made of the
// outcomes: the provider's pass rate, the buffers it would now plan, its
// recommendations and the modifiers with the most failures.
func printLearning(w io.Writer, stats []generation.ProviderStats, failing []modifierStat) {
	fmt.Fprintln(w, "\nRecalibrated provider statistics (absolute outcomes):")
	for _, st := range stats {
		fmt.Fprintf(w, "  %s %s: %d passed, %d failed, pass-rate posterior Beta(%.1f, %.1f), mean %.2f; failures: %s\n",
			st.Provider, orDash(st.Model), st.Passes, st.Failures, st.Alpha, st.Beta, st.Alpha/(st.Alpha+st.Beta), reasonsLabel(st.FailuresByReason))
		if len(st.RecommendedBuffers) > 0 {
			parts := make([]string, len(st.RecommendedBuffers))
			for i, b := range st.RecommendedBuffers {
				parts[i] = fmt.Sprintf("%d→%d (+%.0f%%)", b.Count, b.Planned, b.BufferPercent)
			}
			fmt.Fprintf(w, "    auto buffer now: %s\n", strings.Join(parts, ", "))
		}
		for _, r := range st.Recommendations {
			fmt.Fprintf(w, "    %s (%s): %s\n", r.Type, r.Severity, r.Message)
		}
	}
	fmt.Fprintln(w, "Prompt modifiers the learner has seen fail most (discounted counts):")
	for _, m := range failing {
		fmt.Fprintf(w, "  %-26s %.1f passed, %.1f failed\n", m.Attribute, m.Passes, m.Failures)
	}
}
