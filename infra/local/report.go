package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	_ "image/png" // candidates are PNG or JPEG
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/draw"

	"github.com/designerbff/pipeline/infra/internal/chart"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
)

// reportThumbSide keeps the self-contained report small: thumbnails are
// re-encoded as small JPEGs and embedded as data URIs.
const reportThumbSide = 160

// referenceThumbSide is the reference image's size at the top of the page.
const referenceThumbSide = 240

// demoRun is everything the report shows of one demo run.
type demoRun struct {
	Results          []demoResult
	Reference        []byte // the reference image every request sent
	Providers        []generation.ProviderStats
	FailingModifiers []modifierStat
	Threshold        float64 // VALIDATION_MIN_SCORE
	Wall             time.Duration
	Candidates       int
}

// tieBreak is how the delivered images are chosen (generation.Ranked and
// generation.Deliver), stated on the page beside the surplus images.
const tieBreak = "The delivered images are the best N by validator score among those that passed; " +
	"an equal score goes to the image of the earlier round, then to the lower index within the round. " +
	"A request that is not strict fills a shortfall with the best images below the threshold."

// reportImage is one card.
type reportImage struct {
	Thumb     template.URL
	Label     string
	Score     string
	Reason    string // one line: why it was delivered, not needed or failed
	Modifiers []string
	Class     string // delivered, below, surplus, failed
}

type reportRequest struct {
	Number     int
	Title      string
	Prompt     string
	Settings   string // what the request sent besides the prompt, as JSON
	Generation httpapi.GenerationBody
	Outcomes   outcomes
	Delivered  []reportImage
	Surplus    []reportImage
	Failed     []reportImage
}

func writeReport(path string, run demoRun) error {
	var reqs []reportRequest
	for i, r := range run.Results {
		reqs = append(reqs, newReportRequest(i+1, r))
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, map[string]any{
		"Reference": thumbnailOf(run.Reference, referenceThumbSide),
		"Learning":  learningCurve(learningChartPath),
		"Scores":    scoreChart(run.Results, run.Threshold),
		"Requests":  reqs,
		"Providers": run.Providers,
		"Failing":   run.FailingModifiers,
		"TieBreak":  tieBreak,
		"Threshold": run.Threshold,
		"Generated": time.Now().Format(time.RFC1123),
		"Wall":      run.Wall.Round(time.Millisecond).String(),
		"Count":     run.Candidates,
	}); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func newReportRequest(number int, r demoResult) reportRequest {
	rr := reportRequest{Number: number, Title: r.Request.Title, Generation: r.Generation, Outcomes: outcomesOf(r.Candidates)}
	rr.Prompt, _ = r.Request.Settings["prompt"].(string)
	rr.Settings = settingsLine(r.Request.Settings)
	ranked := generation.Ranked(r.Candidates)
	var last *generation.Candidate // the lowest-ranked delivered image
	for i, c := range ranked {
		if c.Status == generation.CandidateSelected {
			last = &ranked[i]
		}
	}
	for i, c := range ranked {
		ri := newReportImage(c, r.Images[c.ID])
		switch {
		case c.Status == generation.CandidateSelected && c.Verdict.Passed:
			ri.Class, ri.Reason = "delivered", "passed"
			if c.Verdict.Flagged {
				ri.Reason = "passed, within the flag margin of the threshold"
			}
			rr.Delivered = append(rr.Delivered, ri)
		case c.Status == generation.CandidateSelected:
			ri.Class, ri.Reason = "below", "delivered below the threshold: "+failedLine(c.Verdict)
			rr.Delivered = append(rr.Delivered, ri)
		case c.Verdict.Passed:
			ri.Class, ri.Reason = "surplus", surplusLine(i+1, c, last)
			rr.Surplus = append(rr.Surplus, ri)
		default:
			ri.Class, ri.Reason = "failed", failedLine(c.Verdict)
			rr.Failed = append(rr.Failed, ri)
		}
	}
	for _, c := range r.Candidates {
		if c.Verdict != nil {
			continue
		}
		// Refused or failed by the provider, or lost to infrastructure: no verdict.
		ri := newReportImage(c, r.Images[c.ID])
		ri.Class, ri.Reason = "failed", string(c.Status)
		if c.FailureReason != "" && !strings.HasPrefix(c.FailureReason, string(c.Status)) {
			ri.Reason += ": " + c.FailureReason
		} else if c.FailureReason != "" {
			ri.Reason = c.FailureReason
		}
		rr.Failed = append(rr.Failed, ri)
	}
	return rr
}

func newReportImage(c generation.Candidate, img []byte) reportImage {
	ri := reportImage{Label: fmt.Sprintf("round %d · #%d", c.Round, c.Index), Modifiers: c.Modifiers}
	if c.Rank != nil {
		ri.Label = fmt.Sprintf("rank %d · %s", *c.Rank, ri.Label)
	}
	if c.Verdict != nil {
		ri.Score = fmt.Sprintf("%.1f", c.Verdict.Score)
	}
	if len(img) > 0 {
		ri.Thumb = thumbnailOf(img, reportThumbSide)
	}
	return ri
}

// settingsLine is what a request sent besides its prompt, count first:
// "count 12 · bufferPercent 0 · maxRounds 1".
func settingsLine(settings map[string]any) string {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		if k != "prompt" && k != "count" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := []string{fmt.Sprintf("count %v", settings["count"])}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %v", k, settings[k]))
	}
	line := strings.Join(parts, " · ")
	if len(keys) == 0 {
		line += " (the defaults for everything else)"
	}
	return line
}

// surplusLine says why a passing image at position rank was not needed:
// a lower score than the last delivered image, or the tie-break.
func surplusLine(rank int, c generation.Candidate, last *generation.Candidate) string {
	if last == nil || last.Rank == nil {
		return fmt.Sprintf("passed, not needed: ranked %d", rank)
	}
	if c.Verdict.Score == last.Verdict.Score {
		return fmt.Sprintf("passed, not needed: tied at %.1f with rank %d (round %d · #%d), which comes first",
			c.Verdict.Score, *last.Rank, last.Round, last.Index)
	}
	mine, theirs := distinctScores(c.Verdict.Score, last.Verdict.Score)
	return fmt.Sprintf("passed, not needed: ranked %d at %s, below rank %d at %s", rank, mine, *last.Rank, theirs)
}

// distinctScores formats two different scores with the fewest decimals
// (one to four) that tell them apart, so that a near tie does not read as
// a tie.
func distinctScores(a, b float64) (string, string) {
	for d := 1; d < 4; d++ {
		if x, y := strconv.FormatFloat(a, 'f', d, 64), strconv.FormatFloat(b, 'f', d, 64); x != y {
			return x, y
		}
	}
	return strconv.FormatFloat(a, 'f', 4, 64), strconv.FormatFloat(b, 'f', 4, 64)
}

// failedLine is a failed verdict's reasons and its weakest check.
func failedLine(v *generation.Verdict) string {
	line := strings.Join(v.Reasons, ", ")
	if weakest := subScores(v.Metrics); weakest != "" {
		weakest, _, _ = strings.Cut(weakest, " · ")
		line += " (weakest: " + weakest + ")"
	}
	return orDash(line)
}

// subScores lists the validator's score_<name> metrics, lowest first, so a
// designer sees which check pulled the image down.
func subScores(metrics map[string]float64) string {
	type sub struct {
		name  string
		value float64
	}
	var subs []sub
	for k, v := range metrics {
		if name, ok := strings.CutPrefix(k, "score_"); ok {
			subs = append(subs, sub{name, v})
		}
	}
	sort.Slice(subs, func(i, j int) bool {
		return subs[i].value < subs[j].value || subs[i].value == subs[j].value && subs[i].name < subs[j].name
	})
	parts := make([]string, len(subs))
	for i, s := range subs {
		parts[i] = fmt.Sprintf("%s %.0f", s.name, s.value)
	}
	return strings.Join(parts, " · ")
}

// scoreChart draws the validator's score of every judged candidate per
// request, delivered ones green, the passing ones not needed blue and the
// failed ones red, with the pass threshold dashed: with the chart writer the
// benchmarks' figures use, as an SVG data URI; "" if it cannot be drawn.
func scoreChart(results []demoResult, threshold float64) template.URL {
	delivered := chart.Series{Name: "delivered", Color: chart.Green, NoLine: true}
	surplus := chart.Series{Name: "passed, not needed", Color: chart.Blue, NoLine: true}
	failed := chart.Series{Name: "failed", Color: chart.Red, NoLine: true}
	for i, r := range results {
		n := len(r.Candidates)
		for j, c := range r.Candidates {
			if c.Verdict == nil {
				continue
			}
			// Spread a request's candidates across its column.
			pt := chart.Point{X: float64(i+1) + 0.6*(float64(j)+0.5)/float64(n) - 0.3, Y: c.Verdict.Score}
			switch {
			case c.Status == generation.CandidateSelected:
				delivered.Points = append(delivered.Points, pt)
			case c.Verdict.Passed:
				surplus.Points = append(surplus.Points, pt)
			default:
				failed.Points = append(failed.Points, pt)
			}
		}
	}
	if len(delivered.Points)+len(surplus.Points)+len(failed.Points) == 0 {
		return ""
	}
	requests := make([]float64, len(results))
	for i := range requests {
		requests[i] = float64(i + 1)
	}
	fig := chart.Figure{
		Legend: []chart.Series{delivered, surplus, failed, {Name: "pass threshold", Color: chart.Dark, Dashed: true, Width: 1}},
		PanelW: max(360, 60*float64(len(results))), PanelH: 220, LegendColumn: 130,
		Panels: []chart.Panel{{
			Title: "validator score of every judged candidate", XLabel: "request", YLabel: "score",
			XMin: 0.5, XMax: float64(len(results)) + 0.5, YMin: 0, YMax: 100,
			XTicks: chart.Ticks("%.0f", requests...), YTicks: chart.Ticks("%.0f", 0, 25, 50, 75, 100),
			HLines: []float64{threshold},
			Series: []chart.Series{failed, surplus, delivered},
		}},
	}
	svg, err := fig.SVG()
	if err != nil {
		return ""
	}
	return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg))
}

// learningChartPath is the learning benchmark's chart (make bench-learning),
// relative to the repository root where make demo runs.
const learningChartPath = "docs/learning-benchmark.svg"

// learningCurve embeds the learning benchmark's chart, so the report is
// still one self-contained file; "" when the chart is not there.
func learningCurve(path string) template.URL {
	svg, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg))
}

// thumbnailOf returns a JPEG data URI at most side pixels on its longer
// edge, or "" when the bytes don't decode (the report then shows the reason
// instead of a picture).
func thumbnailOf(data []byte, side int) template.URL {
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	b := src.Bounds()
	w, h := side, side
	if b.Dx() > b.Dy() {
		h = max(1, side*b.Dy()/b.Dx())
	} else {
		w = max(1, side*b.Dx()/b.Dy())
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return ""
	}
	return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(out.Bytes()))
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"passRate": func(st generation.ProviderStats) string {
		return fmt.Sprintf("%.0f %%", 100*st.Alpha/(st.Alpha+st.Beta))
	},
	"reasons": reasonsLabel,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Designer BFF pipeline — demo report</title>
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1240px; }
 h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
 h3 { margin: 1.2rem 0 .4rem; }
 .top { display: flex; gap: 1.5rem; align-items: flex-start; }
 .top figure.reference { width: auto; background: none; }
 .top figure.reference img { width: auto; max-width: 240px; border-radius: 4px; }
 table { border-collapse: collapse; margin: .5rem 0 1rem; }
 td, th { padding: .2rem .7rem; border: 1px solid #e3e3e3; vertical-align: top; }
 table.summary td { text-align: right; }
 th { background: #f6f6f6; text-align: left; }
 td.nowrap { white-space: nowrap; }
 .prompt { font-size: 16px; margin: .3rem 0; }
 .settings, .note { color: #555; }
 .grid { display: flex; flex-wrap: wrap; gap: .6rem; }
 figure { margin: 0; width: 176px; padding: 4px; border-radius: 6px; background: #f6f6f6; }
 figure.delivered { background: #e4f4e4; }
 figure.below { background: #fbf0d6; }
 figure.surplus { background: #e4ecf8; }
 figure.failed { background: #f8e9e6; }
 figure img { width: 160px; display: block; margin: auto; }
 figure .missing { width: 160px; height: 120px; display: flex; align-items: center; justify-content: center; color: #a33; }
 figcaption { font-size: 12px; margin-top: 3px; }
 .mods { margin: 2px 0; }
 .mod { display: inline-block; background: #fff; border: 1px solid #ccc; border-radius: 8px; padding: 0 5px; margin: 1px 1px 0 0; font-size: 11px; }
 .reason { font-size: 11px; }
 figure.failed .reason, figure.below .reason, .error { color: #a33; }
 figure.surplus .reason { color: #245; }
 .legend span { display: inline-block; padding: 0 6px; border-radius: 4px; margin-right: 4px; }
</style></head><body>
<h1>Designer BFF generation pipeline — demo report</h1>
<div class="top">
{{with .Reference}}<figure class="reference"><img src="{{.}}" alt="reference image"><figcaption>The reference image every request sent</figcaption></figure>{{end}}
<div>
<p>{{len .Requests}} requests run end to end through the HTTP API, the real state machine definition, Postgres and the S3 API on this machine: {{.Count}} candidates in {{.Wall}} (generated {{.Generated}}). Each card shows the image, its rank, round and index, its validator score (pass threshold {{.Threshold}}), the prompt modifiers the learner chose for it, and one line of reasons.</p>
<p class="legend"><span class="delivered" style="background:#e4f4e4">delivered</span><span style="background:#fbf0d6">delivered below the threshold</span><span style="background:#e4ecf8">passed, not needed</span><span style="background:#f8e9e6">failed</span></p>
<p><b>Tie-break.</b> {{.TieBreak}}</p>
</div></div>
{{with .Scores}}
<img src="{{.}}" alt="validator scores per request" style="max-width: 100%">
{{end}}
<h2>What the run taught the pipeline</h2>
<p>After the run the recalibration recomputed each model's pass rate from absolute outcomes, the buffer "auto" would now plan, and its recommendations; the learner folded every outcome into its per-modifier statistics.</p>
<table class="stats">
<tr><th>provider · model</th><th>passed</th><th>failed</th><th>pass rate (posterior mean)</th><th>failure reasons</th><th>"auto" now plans (N → images)</th><th>recommendations</th></tr>
{{range .Providers}}<tr><td>{{.Provider}} · {{.Model}}</td><td>{{.Passes}}</td><td>{{.Failures}}</td><td>{{passRate .}}</td><td>{{reasons .FailuresByReason}}</td>
<td class="nowrap">{{range .RecommendedBuffers}}{{.Count}} → {{.Planned}} (+{{printf "%.0f" .BufferPercent}} %, P {{printf "%.2f" .Probability}})<br>{{else}}-{{end}}</td>
<td>{{range .Recommendations}}<b>{{.Type}}</b> ({{.Severity}}): {{.Message}}<br>{{else}}none{{end}}</td></tr>
{{end}}</table>
<h3>Prompt modifiers that fail most</h3>
<table class="stats">
<tr><th>modifier</th><th>passed</th><th>failed</th><th>failure share</th></tr>
{{range .Failing}}<tr><td>{{.Attribute}}</td><td>{{printf "%.1f" .Passes}}</td><td>{{printf "%.1f" .Failures}}</td><td>{{printf "%.0f" .FailureRatePercent}} %</td></tr>
{{else}}<tr><td colspan="4">no modifier has two outcomes yet</td></tr>{{end}}</table>
<p class="note">Discounted counts (RLHF_LEARNING_RATE) of the procedural provider, at least two outcomes each.</p>
{{range .Requests}}
<h2>{{.Number}}. {{.Title}}</h2>
<p class="prompt">Prompt: “{{.Prompt}}”</p>
<p class="settings">Settings sent: {{.Settings}}</p>
<table class="summary">
<tr><th>status</th><th>requested</th><th>planned</th><th>generated</th><th>passed</th><th>delivered</th><th>passed, not needed</th><th>failed</th><th>rounds</th><th>buffer</th><th>cost USD</th></tr>
<tr><td>{{.Generation.Status}}</td><td>{{.Generation.RequestedCount}}</td><td>{{.Generation.PlannedCount}}</td><td>{{.Generation.GeneratedCount}}</td><td>{{.Generation.PassedCount}}</td><td>{{.Generation.DeliveredCount}}</td><td>{{.Outcomes.Surplus}}</td><td>{{.Outcomes.Failed}}</td><td>{{.Generation.Rounds}}</td><td>{{.Generation.BufferPercent}}% {{.Generation.BufferMethod}}</td><td>{{printf "%.4f" .Generation.CostUSD}}</td></tr>
</table>
{{with .Generation.Error}}<p class="error">{{.}}</p>{{end}}
<h3>Delivered ({{len .Delivered}})</h3>
<div class="grid">{{range .Delivered}}{{template "figure" .}}{{else}}<p>none</p>{{end}}</div>
{{with .Surplus}}<h3>Passed, not needed ({{len .}})</h3>
<p class="note">These passed validation; the request needed fewer. Ranked by score, then earlier round, then lower index.</p>
<div class="grid">{{range .}}{{template "figure" .}}{{end}}</div>{{end}}
<h3>Failed ({{len .Failed}})</h3>
{{with .Outcomes.Reasons}}<p class="note">Failed images with each reason (an image may have several): {{reasons .}}</p>{{end}}
<div class="grid">{{range .Failed}}{{template "figure" .}}{{else}}<p>none</p>{{end}}</div>
{{end}}
{{with .Learning}}
<h2>Learning curve</h2>
<p>Failure rate per request over 20 sequential requests with learning on, off, and the oracle that reads the provider's defect table, per quirk seed: the chart of <code>make bench-learning</code> (<code>docs/learning-benchmark.md</code>). The requests above run at once, so they are too few and too concurrent to draw it themselves.</p>
<img src="{{.}}" alt="learning curve" style="max-width: 100%">
{{end}}
</body></html>
{{define "figure"}}<figure class="{{.Class}}">
{{if .Thumb}}<img src="{{.Thumb}}" alt="{{.Label}}">{{else}}<div class="missing">no image</div>{{end}}
<figcaption>{{.Label}}{{with .Score}} · score <b>{{.}}</b>{{end}}
<div class="mods">{{range .Modifiers}}<span class="mod">{{.}}</span>{{else}}<span class="mod">no modifier</span>{{end}}</div>
<div class="reason">{{.Reason}}</div></figcaption>
</figure>{{end}}
`))
