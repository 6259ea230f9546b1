package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
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
	require.Equal(t, 6, strings.Count(html, "<h2>")-strings.Count(html, "<h2>Learning curve</h2>"))
	require.Contains(t, html, "data:image/jpeg;base64,", "thumbnails are embedded: the report is self-contained")
	require.Regexp(t, `<img src="data:image/svg[^"]*" alt="validator scores per request"`, html, "the scores chart, drawn by infra/internal/chart")
	if discarded > 0 {
		require.Contains(t, html, `class="reasons"`)
		require.Contains(t, html, `class="subscores"`)
	}
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
	for _, text := range []string{"validator score of every judged candidate", "delivered", "not delivered", "pass threshold"} {
		require.Contains(t, string(svg), ">"+text+"<")
	}
	require.Empty(t, scoreChart([]demoResult{{Candidates: []generation.Candidate{{FailureReason: "filtered"}}}}, 70), "nothing judged, no chart")
}
