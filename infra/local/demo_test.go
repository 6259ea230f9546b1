package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/shared/generation"
)

// TestDemo runs a small demo of every request `make demo` sends (small N)
// end to end: every request delivers N or says why, and the report shows
// delivered and discarded images with reasons and sub-scores.
func TestDemo(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	results, err := runDemo(context.Background(), demoOptions{Requests: 6, Count: 3, OutDir: out}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	require.Len(t, results, 6)
	discarded := 0
	for _, r := range results {
		g := r.Generation
		if g.DeliveredCount != g.RequestedCount {
			require.NotEmpty(t, g.Error, "a short delivery says why")
		}
		require.True(t, g.Status != "" && g.Status != "planning" && g.Status != "generating", g.Status)
		discarded += g.GeneratedCount - g.DeliveredCount
	}
	require.Contains(t, stdout.String(), "requested")
	require.Contains(t, stdout.String(), "Report: file://")

	report, err := os.ReadFile(filepath.Join(out, "report.html"))
	require.NoError(t, err)
	html := string(report)
	require.Len(t, regexp.MustCompile(`<h2>\d+\. `).FindAllString(html, -1), 6, "one section per request")
	require.Contains(t, html, "data:image/jpeg;base64,", "thumbnails are embedded: the report is self-contained")
	require.Regexp(t, `<img src="data:image/svg[^"]*" alt="validator scores per request"`, html, "the scores chart, drawn by infra/internal/chart")
	require.NotContains(t, stderr.String(), "\r", "no progress frames where stderr is not a terminal")
	require.Contains(t, html, `alt="reference image"`, "the reference is on top")
	for _, r := range results {
		require.Contains(t, html, "Prompt: “"+r.Request.Settings["prompt"].(string)+"”")
	}
	require.Contains(t, html, `class="mod"`, "modifiers are on the cards")
	require.Contains(t, html, "Tie-break.")
	require.Contains(t, html, "What the run taught the pipeline")
	require.Contains(t, html, "Prompt modifiers that fail most")
	if discarded > 0 {
		require.Contains(t, html, `class="reason"`)
	}
	// One wall time: the console's is the page's.
	wall := regexp.MustCompile(`Wall time: (\S+) for`).FindStringSubmatch(stdout.String())
	require.Len(t, wall, 2, stdout.String())
	require.Contains(t, html, " in "+wall[1]+" (generated")
}

// Surplus images are apart from failures, with the tie-break or the score
// that put them after the last delivered image, and one line of reasons.
func TestReportSeparatesSurplusFromFailures(t *testing.T) {
	t.Parallel()
	rank := func(n int) *int { return &n }
	verdict := func(score float64, passed bool, reasons ...string) *generation.Verdict {
		return &generation.Verdict{Score: score, Passed: passed, Reasons: reasons, Metrics: map[string]float64{"score_sharpness": 12, "score_exposure": 90}}
	}
	cands := []generation.Candidate{
		{ID: "a", Round: 1, Index: 0, Status: generation.CandidateSelected, Rank: rank(1), Verdict: verdict(90, true), Modifiers: []string{"studio lighting"}},
		{ID: "b", Round: 1, Index: 1, Status: generation.CandidateSelected, Rank: rank(2), Verdict: verdict(80, true)},
		{ID: "c", Round: 1, Index: 2, Status: generation.CandidateDiscarded, Verdict: verdict(80, true)},
		{ID: "d", Round: 1, Index: 3, Status: generation.CandidateDiscarded, Verdict: verdict(75, true)},
		{ID: "e", Round: 1, Index: 4, Status: generation.CandidateDiscarded, Verdict: verdict(40, false, "blurry", "noisy")},
		{ID: "f", Round: 1, Index: 5, Status: generation.CandidateFiltered, FailureReason: "filtered: safety"},
	}
	rr := newReportRequest(1, demoResult{Request: demoRequest{Title: "t", Settings: map[string]any{"prompt": "linen dress", "count": 2}}, Candidates: cands})
	require.Equal(t, "linen dress", rr.Prompt)
	require.Equal(t, "count 2 (the defaults for everything else)", rr.Settings)
	require.Equal(t, "count 12 · bufferPercent 0 · strict true", settingsLine(map[string]any{"prompt": "p", "strict": true, "count": 12, "bufferPercent": 0}))
	require.Len(t, rr.Delivered, 2)
	require.Equal(t, []string{"studio lighting"}, rr.Delivered[0].Modifiers)
	require.Len(t, rr.Surplus, 2)
	require.Equal(t, "passed, not needed: tied at 80.0 with rank 2 (round 1 · #1), which comes first", rr.Surplus[0].Reason)
	require.Equal(t, "passed, not needed: ranked 4 at 75.0, below rank 2 at 80.0", rr.Surplus[1].Reason)
	a, b := distinctScores(80.071, 80.123)
	require.Equal(t, [2]string{"80.07", "80.12"}, [2]string{a, b}, "a near tie does not read as a tie")
	require.Len(t, rr.Failed, 2)
	require.Equal(t, "blurry, noisy (weakest: sharpness 12)", rr.Failed[0].Reason)
	require.Equal(t, "filtered: safety", rr.Failed[1].Reason)
	require.Equal(t, outcomes{Surplus: 2, Failed: 2, Reasons: map[string]int{"blurry": 1, "noisy": 1, "filtered": 1}}, rr.Outcomes,
		"counted per image: each failed image once, each of its reasons once")
}

func TestReportEmbedsTheLearningCurve(t *testing.T) {
	t.Parallel()
	got := learningCurve("../../" + learningChartPath)
	require.True(t, strings.HasPrefix(string(got), "data:image/svg+xml;base64,"), "make bench-learning's chart is committed in docs/")
	require.Empty(t, learningCurve("no/such/chart.svg"))
}

func TestScoreChartDrawsEveryJudgedCandidate(t *testing.T) {
	t.Parallel()
	score := func(s float64) *generation.Verdict { return &generation.Verdict{Score: s, Passed: s >= 70} }
	results := []demoResult{
		{Candidates: []generation.Candidate{{Status: generation.CandidateSelected, Verdict: score(91)}, {Status: generation.CandidateDiscarded, Verdict: score(42)}, {FailureReason: "filtered"}}},
		{Candidates: []generation.Candidate{{Status: generation.CandidateSelected, Verdict: score(77)}}},
	}
	got := scoreChart(results, 70)
	data, ok := strings.CutPrefix(string(got), "data:image/svg+xml;base64,")
	require.True(t, ok, string(got))
	svg, err := base64.StdEncoding.DecodeString(data)
	require.NoError(t, err)
	for _, text := range []string{"validator score of every judged candidate", "delivered", "passed, not needed", "failed", "pass threshold"} {
		require.Contains(t, string(svg), ">"+text+"<")
	}
	require.Empty(t, scoreChart([]demoResult{{Candidates: []generation.Candidate{{FailureReason: "filtered"}}}}, 70), "nothing judged, no chart")
}
