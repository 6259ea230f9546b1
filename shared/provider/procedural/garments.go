package procedural

import "math"

// Garments are drawn from hand-placed outlines in garment units: x and y in
// about −1…1, y down, the item filling the box. Every outline is a closed
// polygon whose corners may be rounded; the renderer rasterises it with
// golang.org/x/image/vector and shades it (folds, seams, buttons, fabric).

// pt is an outline vertex; r (0–1) rounds the corner: the outline leaves
// the straight edges r·½ of the way before the vertex and curves through it.
type pt struct{ x, y, r float32 }

// Part tones: which colour a part is painted in.
const (
	toneMain  = iota // the garment's palette colour
	toneTrim         // a second palette colour: collar, waistband, band
	toneDark         // soles, clasps: the darkest palette colour, darker
	toneShade        // the main colour in shadow: lapels, lining, the far boot
)

type part struct {
	outline []pt
	tone    int
}

// fold is a soft ridge of cloth along a segment: lit on one side, in shadow
// on the other, fading at its ends. w is its half-width in garment units.
type fold struct{ x0, y0, x1, y1, w, depth float32 }

// line is a seam or crease drawn as stitching.
type line struct {
	pts    []pt
	dashed bool // topstitching: dashes in the trim colour
}

type dot struct{ x, y, r float32 } // a button or rivet, in toneDark

type shape struct {
	parts   []part
	folds   []fold
	lines   []line
	buttons []dot
}

// sym completes a left–right symmetric outline from its right half, given
// from the top centre clockwise to the bottom centre.
func sym(right ...pt) []pt {
	out := append([]pt(nil), right...)
	for i := len(right) - 2; i >= 1; i-- {
		p := right[i]
		out = append(out, pt{-p.x, p.y, p.r})
	}
	return out
}

// mirror returns the outline reflected about x = 0.
func mirror(ps []pt) []pt {
	out := make([]pt, len(ps))
	for i, p := range ps {
		out[len(ps)-1-i] = pt{-p.x, p.y, p.r}
	}
	return out
}

func poly(ps ...pt) []pt { return ps }

// ellipsePts samples an ellipse arc from angle a0 to a1 (radians, y down).
func ellipsePts(cx, cy, rx, ry, a0, a1 float64, n int) []pt {
	out := make([]pt, 0, n+1)
	for i := range n + 1 {
		a := a0 + (a1-a0)*float64(i)/float64(n)
		out = append(out, pt{float32(cx + rx*math.Cos(a)), float32(cy + ry*math.Sin(a)), 0})
	}
	return out
}

// band is the outline of a strip of cloth of half-width hw along a smooth
// curve through the centre points (Catmull–Rom), with tapered ends when
// taper > 0.
func band(hw float32, taper float32, centre ...pt) []pt {
	var c []pt
	for i := 0; i+1 < len(centre); i++ {
		p0, p1, p2, p3 := centre[max(i-1, 0)], centre[i], centre[i+1], centre[min(i+2, len(centre)-1)]
		for k := range 8 {
			t := float32(k) / 8
			t2, t3 := t*t, t*t*t
			x := 0.5 * (2*p1.x + (-p0.x+p2.x)*t + (2*p0.x-5*p1.x+4*p2.x-p3.x)*t2 + (-p0.x+3*p1.x-3*p2.x+p3.x)*t3)
			y := 0.5 * (2*p1.y + (-p0.y+p2.y)*t + (2*p0.y-5*p1.y+4*p2.y-p3.y)*t2 + (-p0.y+3*p1.y-3*p2.y+p3.y)*t3)
			c = append(c, pt{x, y, 0})
		}
	}
	c = append(c, centre[len(centre)-1])
	left := make([]pt, len(c))
	right := make([]pt, len(c))
	for i, p := range c {
		a, b := c[max(i-1, 0)], c[min(i+1, len(c)-1)]
		dx, dy := b.x-a.x, b.y-a.y
		l := float32(math.Hypot(float64(dx), float64(dy)))
		nx, ny := -dy/l, dx/l
		w := hw
		if taper > 0 {
			f := float32(i) / float32(len(c)-1)
			w *= 1 - taper*(1-4*f*(1-f))
		}
		left[i] = pt{p.x + nx*w, p.y + ny*w, 0}
		right[len(c)-1-i] = pt{p.x - nx*w, p.y - ny*w, 0}
	}
	return append(left, right...)
}

// shapeOf returns the drawing of a garment.
func shapeOf(g Garment) shape {
	switch g {
	case Dress:
		return dressShape()
	case Jacket:
		return jacketShape(false)
	case Coat:
		return jacketShape(true)
	case Trousers:
		return trousersShape()
	case Skirt:
		return skirtShape()
	case Sweater:
		return sweaterShape()
	case Scarf:
		return scarfShape()
	case Boots:
		return footwearShape(-0.78)
	case Shoes:
		return footwearShape(0.02)
	case Bag:
		return bagShape()
	case Hat:
		return hatShape()
	default:
		return shirtShape()
	}
}

func shirtShape() shape {
	collar := poly(pt{0, -0.74, 0}, pt{0.16, -0.94, 0}, pt{0.24, -0.86, 0.3}, pt{0.1, -0.64, 0.3})
	s := shape{
		parts: []part{
			{sym(pt{0, -0.8, 0}, pt{0.16, -0.93, 0.5}, pt{0.52, -0.84, 0.6}, pt{0.8, -0.3, 0.3}, pt{0.93, 0.5, 0},
				pt{0.72, 0.56, 0}, pt{0.6, -0.2, 0.5}, pt{0.48, -0.36, 0.3}, pt{0.5, 0.8, 0.4}, pt{0.25, 0.88, 0.6}, pt{0, 0.84, 0}), toneMain},
			{poly(pt{0.74, 0.36, 0}, pt{0.92, 0.34, 0}, pt{0.93, 0.5, 0}, pt{0.72, 0.56, 0}), toneShade},
			{mirror(poly(pt{0.74, 0.36, 0}, pt{0.92, 0.34, 0}, pt{0.93, 0.5, 0}, pt{0.72, 0.56, 0})), toneShade},
			{collar, toneTrim},
			{mirror(collar), toneTrim},
		},
		folds: []fold{
			{0.22, -0.3, 0.3, 0.78, 0.09, 0.16}, {-0.26, -0.2, -0.32, 0.76, 0.08, 0.14},
			{0.62, -0.55, 0.8, 0.2, 0.06, 0.18}, {-0.62, -0.55, -0.8, 0.2, 0.06, 0.18},
			{-0.1, 0.3, 0.35, 0.55, 0.07, 0.1},
		},
		lines: []line{{pts: poly(pt{0.03, -0.7, 0}, pt{0.03, 0.84, 0})}},
	}
	for y := float32(-0.5); y < 0.8; y += 0.3 {
		s.buttons = append(s.buttons, dot{0, y, 0.028})
	}
	return s
}

func jacketShape(long bool) shape {
	hem, hemW, cuff := float32(0.74), float32(0.56), float32(0.5)
	lapel := poly(pt{0.16, -0.92, 0}, pt{0.33, -0.56, 0}, pt{0.24, -0.5, 0}, pt{0.02, -0.12, 0})
	if long {
		hem, hemW, cuff = 0.98, 0.66, 0.42
		lapel = poly(pt{0.17, -0.92, 0}, pt{0.42, -0.5, 0}, pt{0.3, -0.44, 0}, pt{0.02, 0.0, 0})
	}
	s := shape{
		parts: []part{
			{sym(pt{0, -0.86, 0}, pt{0.17, -0.94, 0.4}, pt{0.6, -0.84, 0.4}, pt{0.8, -0.4, 0.3}, pt{0.95, cuff, 0},
				pt{0.72, cuff + 0.07, 0}, pt{0.62, -0.15, 0.4}, pt{0.52, -0.3, 0.2}, pt{0.52, 0.1, 0.3}, pt{hemW, hem, 0}, pt{0, hem + 0.02, 0}), toneMain},
			{poly(pt{-0.17, -0.93, 0}, pt{0.17, -0.93, 0}, pt{0.02, -0.1, 0}, pt{-0.02, -0.1, 0}), toneTrim},
			{lapel, toneShade},
			{mirror(lapel), toneShade},
		},
		folds: []fold{
			{0.64, -0.6, 0.82, cuff - 0.2, 0.06, 0.16}, {-0.64, -0.6, -0.82, cuff - 0.2, 0.06, 0.16},
			{0.3, -0.2, 0.36, hem - 0.05, 0.1, 0.1}, {-0.3, -0.2, -0.36, hem - 0.05, 0.1, 0.1},
			{0.7, cuff - 0.35, 0.88, cuff - 0.25, 0.05, 0.12},
		},
		lines: []line{
			{pts: poly(pt{0, -0.1, 0}, pt{0, hem, 0})},
			{pts: poly(pt{0.16, 0.3, 0}, pt{0.42, 0.3, 0}), dashed: true},
			{pts: poly(pt{-0.16, 0.3, 0}, pt{-0.42, 0.3, 0}), dashed: true},
			{pts: poly(pt{0.5, -0.82, 0}, pt{0.54, -0.3, 0}), dashed: true},
			{pts: poly(pt{-0.5, -0.82, 0}, pt{-0.54, -0.3, 0}), dashed: true},
		},
		buttons: []dot{{0.05, 0.05, 0.035}, {0.05, 0.35, 0.035}},
	}
	if long {
		s.parts = append(s.parts, part{poly(pt{-0.55, 0.02, 0}, pt{0.55, 0.02, 0}, pt{0.56, 0.12, 0}, pt{-0.56, 0.12, 0}), toneTrim})
		s.buttons = []dot{{0.14, -0.22, 0.035}, {-0.1, -0.22, 0.035}, {0.14, 0.3, 0.035}, {-0.1, 0.3, 0.035}}
		s.folds = append(s.folds, fold{0.2, 0.14, 0.3, 0.95, 0.08, 0.14}, fold{-0.22, 0.14, -0.34, 0.95, 0.08, 0.14})
	}
	return s
}

func sweaterShape() shape {
	cuff := poly(pt{0.72, 0.34, 0}, pt{0.9, 0.3, 0}, pt{0.93, 0.5, 0}, pt{0.72, 0.54, 0})
	return shape{
		parts: []part{
			{sym(pt{0, -0.76, 0}, pt{0.2, -0.9, 0.5}, pt{0.6, -0.78, 0.7}, pt{0.82, -0.2, 0.3}, pt{0.93, 0.5, 0},
				pt{0.72, 0.55, 0}, pt{0.62, -0.05, 0.4}, pt{0.54, -0.22, 0.3}, pt{0.58, 0.82, 0.2}, pt{0, 0.84, 0}), toneMain},
			{poly(pt{-0.57, 0.66, 0}, pt{0.57, 0.66, 0}, pt{0.58, 0.82, 0.2}, pt{-0.58, 0.82, 0.2}), toneTrim},
			{cuff, toneTrim},
			{mirror(cuff), toneTrim},
			{append(ellipsePts(0, -0.9, 0.22, 0.16, 0, math.Pi, 12), ellipsePts(0, -0.88, 0.17, 0.1, math.Pi, 0, 12)...), toneTrim},
		},
		folds: []fold{
			{0.66, -0.5, 0.82, 0.25, 0.07, 0.2}, {-0.66, -0.5, -0.82, 0.25, 0.07, 0.2},
			{0.25, -0.3, 0.3, 0.62, 0.12, 0.12}, {-0.25, -0.35, -0.3, 0.62, 0.12, 0.12},
			{-0.3, 0.1, 0.3, 0.4, 0.1, 0.08},
		},
	}
}

func dressShape() shape {
	return shape{
		parts: []part{
			{sym(pt{0, -0.62, 0}, pt{0.13, -0.78, 0.5}, pt{0.16, -0.99, 0}, pt{0.25, -0.99, 0}, pt{0.37, -0.62, 0.6}, pt{0.3, -0.12, 0.6},
				pt{0.46, 0.3, 0.3}, pt{0.76, 0.93, 0.3}, pt{0.52, 0.99, 0.6}, pt{0.26, 0.93, 0.6}, pt{0, 0.99, 0}), toneMain},
			{poly(pt{-0.31, -0.16, 0}, pt{0.31, -0.16, 0}, pt{0.3, -0.06, 0}, pt{-0.3, -0.06, 0}), toneTrim},
		},
		folds: []fold{
			{0.0, -0.02, 0.0, 0.96, 0.07, 0.16}, {0.14, -0.02, 0.34, 0.94, 0.07, 0.2}, {-0.14, -0.02, -0.34, 0.94, 0.07, 0.2},
			{0.24, 0.0, 0.6, 0.92, 0.07, 0.18}, {-0.24, 0.0, -0.6, 0.92, 0.07, 0.18},
			{0.1, -0.6, 0.16, -0.2, 0.05, 0.08}, {-0.1, -0.6, -0.16, -0.2, 0.05, 0.08},
		},
		lines: []line{{pts: poly(pt{-0.3, -0.16, 0}, pt{0.3, -0.16, 0})}},
	}
}

func skirtShape() shape {
	s := shape{
		parts: []part{
			{sym(pt{0, -0.74, 0}, pt{0.42, -0.74, 0}, pt{0.82, 0.82, 0.2}, pt{0.42, 0.9, 0.6}, pt{0, 0.86, 0}), toneMain},
			{poly(pt{-0.43, -0.86, 0.2}, pt{0.43, -0.86, 0.2}, pt{0.43, -0.7, 0}, pt{-0.43, -0.7, 0}), toneTrim},
		},
		lines: []line{{pts: poly(pt{-0.43, -0.7, 0}, pt{0.43, -0.7, 0}), dashed: true}},
	}
	for i := -3; i <= 3; i++ {
		x := float32(i) / 3.6
		s.folds = append(s.folds, fold{x * 0.42, -0.66, x * 0.82, 0.86, 0.065, 0.22})
	}
	return s
}

func trousersShape() shape {
	return shape{
		parts: []part{
			{sym(pt{0, -0.9, 0}, pt{0.48, -0.9, 0}, pt{0.53, -0.35, 0.3}, pt{0.46, 0.96, 0}, pt{0.07, 0.96, 0}, pt{0.0, -0.22, 0}), toneMain},
			{poly(pt{-0.49, -0.94, 0}, pt{0.49, -0.94, 0}, pt{0.49, -0.8, 0}, pt{-0.49, -0.8, 0}), toneTrim},
		},
		folds: []fold{
			{0.28, -0.5, 0.27, 0.94, 0.06, 0.14}, {-0.28, -0.5, -0.27, 0.94, 0.06, 0.14},
			{0.1, 0.25, 0.45, 0.35, 0.05, 0.16}, {-0.1, 0.25, -0.45, 0.35, 0.05, 0.16},
			{0.12, 0.6, 0.44, 0.66, 0.04, 0.12}, {-0.12, 0.6, -0.44, 0.66, 0.04, 0.12},
			{0.05, -0.7, 0.15, -0.3, 0.05, 0.1},
		},
		lines: []line{
			{pts: poly(pt{0.05, -0.8, 0}, pt{0.06, -0.42, 0}, pt{0.0, -0.3, 0}), dashed: true},
			{pts: poly(pt{0.2, -0.8, 0}, pt{0.3, -0.62, 0}, pt{0.5, -0.56, 0}), dashed: true},
			{pts: poly(pt{-0.2, -0.8, 0}, pt{-0.3, -0.62, 0}, pt{-0.5, -0.56, 0}), dashed: true},
			{pts: poly(pt{0.46, 0.9, 0}, pt{0.08, 0.9, 0}), dashed: true},
			{pts: poly(pt{-0.46, 0.9, 0}, pt{-0.08, 0.9, 0}), dashed: true},
		},
		buttons: []dot{{0, -0.87, 0.03}},
	}
}

func scarfShape() shape {
	left := []pt{{-0.08, -0.8, 0}, {-0.28, -0.25, 0}, {-0.16, 0.3, 0}, {-0.32, 0.9, 0}}
	right := []pt{{0.08, -0.8, 0}, {0.32, -0.15, 0}, {0.22, 0.42, 0}, {0.36, 0.84, 0}}
	s := shape{
		parts: []part{
			{band(0.17, 0, left...), toneMain},
			{band(0.17, 0, right...), toneShade},
			{band(0.17, 0, pt{-0.31, 0.7, 0}, pt{-0.32, 0.78, 0}), toneTrim},
			{band(0.17, 0, pt{0.33, 0.64, 0}, pt{0.35, 0.72, 0}), toneTrim},
			{ellipsePts(0, -0.8, 0.26, 0.16, 0, 2*math.Pi, 24), toneMain},
		},
		folds: []fold{
			{-0.1, -0.6, -0.2, 0.8, 0.05, 0.2}, {-0.3, -0.5, -0.34, 0.7, 0.05, 0.16},
			{0.12, -0.6, 0.3, 0.75, 0.05, 0.2}, {0.32, -0.4, 0.4, 0.6, 0.05, 0.16},
			{-0.2, -0.8, 0.2, -0.8, 0.06, 0.2},
		},
	}
	for i := range 7 {
		f := float32(i)/6 - 0.5
		s.lines = append(s.lines, line{pts: poly(pt{-0.32 + 0.3*f, 0.96, 0}, pt{-0.32 + 0.32*f, 1.04, 0})})
		s.lines = append(s.lines, line{pts: poly(pt{0.36 + 0.3*f, 0.9, 0}, pt{0.37 + 0.32*f, 0.98, 0})})
	}
	return s
}

// footwearShape is a pair in side view, toe to the right; top is the y of
// the shaft's top (boots) or of the collar (shoes).
func footwearShape(top float32) shape {
	upper := []pt{{-0.4, top, 0.2}, {0.02, top, 0.2}, {0.05, 0.02, 0.6}}
	if top > -0.3 {
		upper = []pt{{-0.4, 0.1, 0.4}, {-0.1, 0.16, 0.5}, {0.1, 0.14, 0.4}}
	}
	upper = append(upper, pt{0.4, 0.28, 0.6}, pt{0.74, 0.4, 0.7}, pt{0.82, 0.55, 0.6}, pt{0.78, 0.62, 0},
		pt{-0.44, 0.62, 0}, pt{-0.46, 0.45, 0.5}, pt{-0.4, 0.2, 0.5})
	one := func(dx, dy, k float32, tone int) []part {
		t := func(ps ...pt) []pt {
			out := make([]pt, len(ps))
			for i, p := range ps {
				out[i] = pt{p.x*k + dx, p.y*k + dy, p.r}
			}
			return out
		}
		return []part{
			{t(upper...), tone},
			{t(pt{-0.12, 0.58, 0}, pt{0.8, 0.56, 0.4}, pt{0.78, 0.67, 0}, pt{-0.12, 0.67, 0}), toneTrim},
			{t(pt{-0.45, 0.58, 0}, pt{-0.12, 0.58, 0}, pt{-0.16, 0.84, 0}, pt{-0.42, 0.84, 0}), toneDark},
		}
	}
	s := shape{parts: append(one(-0.3, -0.12, 0.92, toneShade), one(0.1, 0.06, 1, toneMain)...)}
	s.folds = []fold{{0.16, 0.16, 0.46, 0.36, 0.05, 0.2}, {-0.2, top + 0.2, -0.24, 0.4, 0.07, 0.14}}
	s.lines = []line{
		{pts: poly(pt{0.22, 0.28, 0}, pt{0.52, 0.38, 0}, pt{0.86, 0.56, 0}), dashed: true},
		{pts: poly(pt{0.0, 0.65, 0}, pt{0.86, 0.63, 0}), dashed: true},
	}
	if top < -0.3 {
		s.lines = append(s.lines, line{pts: poly(pt{-0.24, top + 0.08, 0}, pt{-0.26, 0.5, 0})})
	}
	return s
}

func bagShape() shape {
	outer := ellipsePts(0, -0.12, 0.5, 0.74, math.Pi, 2*math.Pi, 20)
	inner := ellipsePts(0, -0.12, 0.4, 0.62, 2*math.Pi, math.Pi, 20)
	return shape{
		parts: []part{
			{append(outer, inner...), toneTrim},
			{poly(pt{-0.72, -0.16, 0.3}, pt{0.72, -0.16, 0.3}, pt{0.82, 0.86, 0.25}, pt{-0.82, 0.86, 0.25}), toneMain},
			{poly(pt{-0.73, -0.17, 0.3}, pt{0.73, -0.17, 0.3}, pt{0.75, 0.24, 0.5}, pt{0, 0.4, 0}, pt{-0.75, 0.24, 0.5}), toneShade},
			{poly(pt{-0.09, 0.26, 0.4}, pt{0.09, 0.26, 0.4}, pt{0.09, 0.42, 0.4}, pt{-0.09, 0.42, 0.4}), toneDark},
		},
		folds: []fold{{-0.5, 0.45, -0.55, 0.8, 0.08, 0.12}, {0.5, 0.45, 0.55, 0.8, 0.08, 0.12}},
		lines: []line{
			{pts: poly(pt{-0.68, -0.1, 0}, pt{-0.77, 0.8, 0}, pt{0.77, 0.8, 0}, pt{0.68, -0.1, 0}), dashed: true},
			{pts: poly(pt{-0.68, 0.2, 0}, pt{0, 0.34, 0}, pt{0.68, 0.2, 0}), dashed: true},
		},
	}
}

func hatShape() shape {
	return shape{
		parts: []part{
			{ellipsePts(0, 0.3, 0.96, 0.3, 0, 2*math.Pi, 32), toneShade},
			{poly(pt{-0.5, 0.32, 0}, pt{-0.47, -0.3, 0.7}, pt{-0.2, -0.52, 0.6}, pt{0, -0.42, 0.5}, pt{0.2, -0.52, 0.6},
				pt{0.47, -0.3, 0.7}, pt{0.5, 0.32, 0}), toneMain},
			{poly(pt{-0.5, 0.08, 0}, pt{0.5, 0.08, 0}, pt{0.5, 0.26, 0}, pt{-0.5, 0.26, 0}), toneTrim},
			{append(ellipsePts(0, 0.3, 0.96, 0.3, 0, math.Pi, 20), pt{-0.5, 0.3, 0}, pt{0.5, 0.3, 0}), toneMain},
		},
		folds: []fold{{0, -0.45, 0, 0.05, 0.08, 0.22}, {-0.3, -0.3, -0.36, 0.05, 0.08, 0.1}, {0.3, -0.3, 0.36, 0.05, 0.08, 0.1}},
	}
}
