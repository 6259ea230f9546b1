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

type reportImage struct {
	Thumb    template.URL
	Label    string
	Score    string
	Status   string
	Reasons  string
	Scores   string // the validator's sub-scores, e.g. "sharpness 12 · exposure 95"
	Prompt   string
	Selected bool
}

type reportRequest struct {
	Number     int
	Title      string
	Generation httpapi.GenerationBody
	Delivered  []reportImage
	Discarded  []reportImage
}

func writeReport(path string, results []demoResult, threshold float64, wall time.Duration) error {
	var reqs []reportRequest
	for i, r := range results {
		rr := reportRequest{Number: i + 1, Title: r.Request.Title, Generation: r.Generation}
		for _, c := range generation.Ranked(r.Candidates) {
			rr.add(c, r.Images[c.ID])
		}
		for _, c := range r.Candidates {
			if c.Verdict == nil { // filtered or failed: no image to judge
				rr.add(c, r.Images[c.ID])
			}
		}
		reqs = append(reqs, rr)
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, map[string]any{
		"Learning":  learningCurve(learningChartPath),
		"Scores":    scoreChart(results, threshold),
		"Requests":  reqs,
		"Generated": time.Now().Format(time.RFC1123),
		"Wall":      wall.Round(time.Millisecond).String(),
	}); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func (rr *reportRequest) add(c generation.Candidate, img []byte) {
	ri := reportImage{
		Label:    fmt.Sprintf("round %d · #%d", c.Round, c.Index),
		Status:   string(c.Status),
		Prompt:   c.Prompt,
		Selected: c.Status == generation.CandidateSelected,
	}
	if c.Rank != nil {
		ri.Label = fmt.Sprintf("rank %d · %s", *c.Rank, ri.Label)
	}
	if c.Verdict != nil {
		ri.Score = fmt.Sprintf("%.0f", c.Verdict.Score)
		ri.Reasons = strings.Join(c.Verdict.Reasons, ", ")
		ri.Scores = subScores(c.Verdict.Metrics)
	}
	if c.FailureReason != "" {
		ri.Reasons = c.FailureReason
	}
	if len(img) > 0 {
		ri.Thumb = thumbnail(img)
	}
	if ri.Selected {
		rr.Delivered = append(rr.Delivered, ri)
	} else {
		rr.Discarded = append(rr.Discarded, ri)
	}
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
// request, delivered ones green and the others red, with the pass threshold
// dashed: with the chart writer the benchmarks' figures use, as an SVG data
// URI; "" if it cannot be drawn.
func scoreChart(results []demoResult, threshold float64) template.URL {
	delivered := chart.Series{Name: "delivered", Color: chart.Green, NoLine: true}
	other := chart.Series{Name: "not delivered", Color: chart.Red, NoLine: true}
	for i, r := range results {
		n := len(r.Candidates)
		for j, c := range r.Candidates {
			if c.Verdict == nil {
				continue
			}
			// Spread a request's candidates across its column.
			pt := chart.Point{X: float64(i+1) + 0.6*(float64(j)+0.5)/float64(n) - 0.3, Y: c.Verdict.Score}
			if c.Status == generation.CandidateSelected {
				delivered.Points = append(delivered.Points, pt)
			} else {
				other.Points = append(other.Points, pt)
			}
		}
	}
	if len(delivered.Points)+len(other.Points) == 0 {
		return ""
	}
	requests := make([]float64, len(results))
	for i := range requests {
		requests[i] = float64(i + 1)
	}
	fig := chart.Figure{
		Legend: []chart.Series{delivered, other, {Name: "pass threshold", Color: chart.Dark, Dashed: true, Width: 1}},
		PanelW: max(360, 60*float64(len(results))), PanelH: 220, LegendColumn: 110,
		Panels: []chart.Panel{{
			Title: "validator score of every judged candidate", XLabel: "request", YLabel: "score",
			XMin: 0.5, XMax: float64(len(results)) + 0.5, YMin: 0, YMax: 100,
			XTicks: chart.Ticks("%.0f", requests...), YTicks: chart.Ticks("%.0f", 0, 25, 50, 75, 100),
			HLines: []float64{threshold},
			Series: []chart.Series{other, delivered},
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

// thumbnail returns a small JPEG data URI, or "" when the bytes don't decode
// (the report then shows the reason instead of a picture).
func thumbnail(data []byte) template.URL {
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	b := src.Bounds()
	w, h := reportThumbSide, reportThumbSide
	if b.Dx() > b.Dy() {
		h = max(1, reportThumbSide*b.Dy()/b.Dx())
	} else {
		w = max(1, reportThumbSide*b.Dx()/b.Dy())
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return ""
	}
	return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(out.Bytes()))
}

var reportTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Designer BFF pipeline — demo report</title>
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
 h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
 table.summary { border-collapse: collapse; margin: .5rem 0 1rem; }
 table.summary td, table.summary th { padding: .2rem .8rem; border: 1px solid #e3e3e3; text-align: right; }
 .grid { display: flex; flex-wrap: wrap; gap: .6rem; }
 figure { margin: 0; width: 170px; padding: 4px; border-radius: 6px; background: #f6f6f6; }
 figure.selected { background: #e4f4e4; }
 figure.discarded { background: #f8e9e6; }
 figure img { width: 160px; display: block; margin: auto; }
 figure .missing { width: 160px; height: 160px; display: flex; align-items: center; justify-content: center; color: #a33; text-align: center; }
 figcaption { font-size: 12px; }
 .score { font-weight: bold; }
 .reasons { color: #a33; }
 .subscores { color: #666; font-size: 11px; }
 .error { color: #a33; }
</style></head><body>
<h1>Designer BFF generation pipeline — demo report</h1>
<p>{{len .Requests}} requests run end to end through the HTTP API, the real state machine definition, Postgres and the S3 API on this machine; generated {{.Generated}} in {{.Wall}}. Green: delivered, best first. Red: discarded, failed or filtered, with the validator's reasons.</p>
{{with .Scores}}
<img src="{{.}}" alt="validator scores per request" style="max-width: 100%">
{{end}}
{{with .Learning}}
<h2>Learning curve</h2>
<p>Failure rate per request over 20 sequential requests with learning on, off, and the oracle that reads the provider's defect table, per quirk seed: the chart of <code>make bench-learning</code> (<code>docs/learning-benchmark.md</code>). The requests above run at once, so they are too few and too concurrent to draw it themselves.</p>
<img src="{{.}}" alt="learning curve" style="max-width: 100%">
{{end}}
{{range .Requests}}
<h2>{{.Number}}. {{.Title}}</h2>
<table class="summary">
<tr><th>status</th><th>requested</th><th>planned</th><th>generated</th><th>passed</th><th>delivered</th><th>rounds</th><th>buffer</th><th>cost USD</th></tr>
<tr><td>{{.Generation.Status}}</td><td>{{.Generation.RequestedCount}}</td><td>{{.Generation.PlannedCount}}</td><td>{{.Generation.GeneratedCount}}</td><td>{{.Generation.PassedCount}}</td><td>{{.Generation.DeliveredCount}}</td><td>{{.Generation.Rounds}}</td><td>{{.Generation.BufferPercent}}% {{.Generation.BufferMethod}}</td><td>{{printf "%.4f" .Generation.CostUSD}}</td></tr>
</table>
{{with .Generation.Error}}<p class="error">{{.}}</p>{{end}}
<h3>Delivered ({{len .Delivered}})</h3>
<div class="grid">{{range .Delivered}}{{template "figure" .}}{{end}}</div>
<h3>Not delivered ({{len .Discarded}})</h3>
<div class="grid">{{range .Discarded}}{{template "figure" .}}{{else}}<p>none</p>{{end}}</div>
{{end}}
</body></html>
{{define "figure"}}<figure class="{{if .Selected}}selected{{else}}discarded{{end}}" title="{{.Prompt}}">
{{if .Thumb}}<img src="{{.Thumb}}" alt="{{.Label}}">{{else}}<div class="missing">no image</div>{{end}}
<figcaption>{{.Label}}<br>{{with .Score}}score <span class="score">{{.}}</span> · {{end}}{{.Status}}{{with .Reasons}}<br><span class="reasons">{{.}}</span>{{end}}{{if not .Selected}}{{with .Scores}}<br><span class="subscores">{{.}}</span>{{end}}{{end}}</figcaption>
</figure>{{end}}
`))
