// Package chart draws the line charts of the reports the repository writes:
// `make bench-buffer` and `make bench-learning` (infra/bench) and the demo's
// HTML report (infra/local). One chart writer, so every figure looks alike
// and a fix lands everywhere.
//
// It is a thin layer over gonum.org/v1/plot (SVG through vg/vgsvg) rather
// than a hand-written SVG writer: plot lays out axes, ticks, labels and
// aligned panels (plot.Align) that the two earlier writers computed by hand,
// each its own way, and it is a well-kept library. What this package adds is
// the one thing plot lacks, a figure of several panels under one title and
// one horizontal legend, and the house style (sans-serif text, white
// background, grey reference lines). The price: plot writes text as <text>
// elements naming Liberation Sans (not embedded, so a viewer without it falls
// back to its own sans-serif) and every shape as a path, so the SVG is
// larger than a hand-written one and diffs less readably; the figures are
// regenerated, never edited, so that is acceptable.
package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Point is one data point.
type Point struct{ X, Y float64 }

// Series is one curve of a panel, or one entry of a figure's legend.
type Series struct {
	Name   string
	Color  color.Color
	Dashed bool
	Width  float64 // line width in points; 0: 1.5
	Marks  bool    // a dot on every point
	NoLine bool    // dots only (a scatter)
	Points []Point
}

// Tick is an axis tick with its label ("" for an unlabelled tick).
type Tick struct {
	Value float64
	Label string
}

// Band is a shaded x range, e.g. the requests a benchmark judges.
type Band struct{ From, To float64 }

// Panel is one chart: its axes, reference lines, bands and curves. Values
// outside [YMin, YMax] are drawn at the nearer bound.
type Panel struct {
	Title                  string
	XLabel, YLabel         string
	XMin, XMax, YMin, YMax float64
	XTicks, YTicks         []Tick
	HLines                 []float64 // dashed grey reference lines, e.g. a target
	Bands                  []Band
	Series                 []Series
}

// Figure is panels in a grid of Cols columns, under a title and a legend.
type Figure struct {
	Title        string
	Legend       []Series // drawn once, left to right; a Series' Points are ignored
	Note         string   // one line under the legend
	Cols         int
	PanelW       float64 // points; 0: 230
	PanelH       float64 // points; 0: 190
	Panels       []Panel
	LegendColumn float64 // points between legend entries; 0: 130
}

// Colours the reports share.
var (
	Blue  = rgb(0x1f77b4)
	Red   = rgb(0xd62728)
	Green = rgb(0x2ca02c)
	Grey  = rgb(0x999999)
	Light = rgb(0xeeeeee)
	Dark  = rgb(0x555555)
)

func rgb(v uint32) color.Color {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

func textStyle(size float64) draw.TextStyle {
	return draw.TextStyle{Color: color.Black, Font: font.From(sans, vg.Length(size)), Handler: plot.DefaultTextHandler}
}

var dashes = []vg.Length{vg.Points(4), vg.Points(3)}

// Ticks turns values into ticks labelled with format (a fmt verb for one
// float64, e.g. "%.2f").
func Ticks(format string, values ...float64) []Tick {
	out := make([]Tick, len(values))
	for i, v := range values {
		out[i] = Tick{Value: v, Label: fmt.Sprintf(format, v)}
	}
	return out
}

// SVG renders the figure.
func (f Figure) SVG() ([]byte, error) {
	if len(f.Panels) == 0 {
		return nil, fmt.Errorf("chart: a figure needs a panel")
	}
	cols := max(1, min(f.Cols, len(f.Panels)))
	if f.Cols == 0 {
		cols = len(f.Panels)
	}
	rows := (len(f.Panels) + cols - 1) / cols
	pw, ph := orDefault(f.PanelW, 230), orDefault(f.PanelH, 190)
	header := 12.0
	if f.Title != "" {
		header += 20
	}
	if len(f.Legend) > 0 {
		header += 16
	}
	if f.Note != "" {
		header += 14
	}
	width, height := vg.Points(float64(cols)*pw), vg.Points(header+float64(rows)*ph)

	canvas := vgsvg.New(width, height)
	dc := draw.New(canvas)
	dc.FillPolygon(color.White, []vg.Point{{X: 0, Y: 0}, {X: width, Y: 0}, {X: width, Y: height}, {X: 0, Y: height}})

	y := height - vg.Points(8)
	if f.Title != "" {
		y -= vg.Points(13)
		dc.FillText(textStyle(12), vg.Point{X: vg.Points(10), Y: y}, f.Title)
		y -= vg.Points(7)
	}
	if len(f.Legend) > 0 {
		y -= vg.Points(12)
		step := orDefault(f.LegendColumn, 130)
		for i, s := range f.Legend {
			x := vg.Points(10 + float64(i)*step)
			dc.StrokeLine2(lineStyle(s), x, y+vg.Points(3.5), x+vg.Points(18), y+vg.Points(3.5))
			dc.FillText(textStyle(9), vg.Point{X: x + vg.Points(22), Y: y}, s.Name)
		}
		y -= vg.Points(4)
	}
	if f.Note != "" {
		y -= vg.Points(11)
		dc.FillText(textStyle(9), vg.Point{X: vg.Points(10), Y: y}, f.Note)
	}

	plots := make([][]*plot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*plot.Plot, cols)
	}
	for i, p := range f.Panels {
		pl, err := p.plot()
		if err != nil {
			return nil, err
		}
		plots[i/cols][i%cols] = pl
	}
	body := draw.Crop(dc, 0, 0, 0, -vg.Points(header))
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(12), PadY: vg.Points(10),
		PadLeft: vg.Points(4), PadRight: vg.Points(10), PadBottom: vg.Points(4), PadTop: vg.Points(2)}
	canvases := plot.Align(plots, tiles, body)
	for r := range plots {
		for c, pl := range plots[r] {
			if pl != nil {
				pl.Draw(canvases[r][c])
			}
		}
	}
	var out bytes.Buffer
	if _, err := canvas.WriteTo(&out); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return out.Bytes(), nil
}

func orDefault(v, def float64) float64 {
	if v > 0 {
		return v
	}
	return def
}

func lineStyle(s Series) draw.LineStyle {
	ls := draw.LineStyle{Color: s.Color, Width: vg.Points(orDefault(s.Width, 1.5))}
	if s.Dashed {
		ls.Dashes = dashes
	}
	return ls
}

func (p Panel) plot() (*plot.Plot, error) {
	pl := plot.New()
	pl.BackgroundColor = color.Transparent
	pl.Title.Text = p.Title
	// Only the fonts change: plot's styles carry each label's alignment.
	pl.Title.TextStyle.Font = font.From(sans, 9)
	pl.Title.Padding = vg.Points(4)
	for _, ax := range []*plot.Axis{&pl.X, &pl.Y} {
		ax.Label.TextStyle.Font = font.From(sans, 9)
		ax.Tick.Label.Font = font.From(sans, 8)
		ax.Padding = vg.Points(2)
	}
	pl.X.Label.Text, pl.Y.Label.Text = p.XLabel, p.YLabel
	pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = p.XMin, p.XMax, p.YMin, p.YMax
	if p.XTicks != nil {
		pl.X.Tick.Marker = constTicks(p.XTicks)
	}
	if p.YTicks != nil {
		pl.Y.Tick.Marker = constTicks(p.YTicks)
	}
	clamp := func(v float64) float64 { return math.Max(p.YMin, math.Min(p.YMax, v)) }

	for _, b := range p.Bands {
		band, err := plotter.NewPolygon(plotter.XYs{{X: b.From, Y: p.YMin}, {X: b.To, Y: p.YMin}, {X: b.To, Y: p.YMax}, {X: b.From, Y: p.YMax}})
		if err != nil {
			return nil, fmt.Errorf("chart: band: %w", err)
		}
		band.Color, band.LineStyle.Width = Light, 0
		pl.Add(band)
	}
	grid := plotter.NewGrid()
	grid.Vertical.Width = 0
	grid.Horizontal.Color = Light
	pl.Add(grid)
	for _, h := range p.HLines {
		line, err := plotter.NewLine(plotter.XYs{{X: p.XMin, Y: h}, {X: p.XMax, Y: h}})
		if err != nil {
			return nil, fmt.Errorf("chart: reference line: %w", err)
		}
		line.LineStyle = draw.LineStyle{Color: Dark, Width: vg.Points(1), Dashes: dashes}
		pl.Add(line)
	}
	for _, s := range p.Series {
		xys := make(plotter.XYs, len(s.Points))
		for i, pt := range s.Points {
			xys[i] = plotter.XY{X: pt.X, Y: clamp(pt.Y)}
		}
		if len(xys) == 0 {
			continue
		}
		if !s.NoLine {
			line, err := plotter.NewLine(xys)
			if err != nil {
				return nil, fmt.Errorf("chart: %s: %w", s.Name, err)
			}
			line.LineStyle = lineStyle(s)
			pl.Add(line)
		}
		if s.Marks || s.NoLine {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("chart: %s: %w", s.Name, err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: s.Color, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
			pl.Add(sc)
		}
	}
	return pl, nil
}

type constTicks []Tick

func (t constTicks) Ticks(_, _ float64) []plot.Tick {
	out := make([]plot.Tick, len(t))
	for i, tk := range t {
		out[i] = plot.Tick{Value: tk.Value, Label: tk.Label}
	}
	return out
}
