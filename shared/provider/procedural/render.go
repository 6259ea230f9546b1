package procedural

import (
	"cmp"
	"image"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/designerbff/pipeline/shared/generation"
)

type rgb [3]float32

// fallbackPalette is used when the request carries no reference palette:
// cream, navy, terracotta, sage, charcoal.
var fallbackPalette = []generation.Color{
	{R: 232, G: 224, B: 208, Weight: 0.4},
	{R: 38, G: 52, B: 92, Weight: 0.2},
	{R: 196, G: 98, B: 64, Weight: 0.15},
	{R: 140, G: 160, B: 128, Weight: 0.15},
	{R: 60, G: 60, B: 64, Weight: 0.1},
}

// palette holds colours sorted by weight, heaviest first, with cumulative
// weights for weighted picks.
type palette struct {
	cols []rgb
	cum  []float64
}

func newPalette(cs []generation.Color) palette {
	if len(cs) == 0 {
		cs = fallbackPalette
	}
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b generation.Color) int { return cmp.Compare(b.Weight, a.Weight) })
	var p palette
	var sum float64
	for _, c := range cs {
		w := c.Weight
		if w <= 0 || math.IsNaN(w) {
			w = 1.0 / float64(len(cs)) // unweighted palettes count every colour the same
		}
		sum += w
		p.cols = append(p.cols, rgb{float32(c.R), float32(c.G), float32(c.B)})
		p.cum = append(p.cum, sum)
	}
	return p
}

// pickGarment picks a colour by weight, avoiding the background colour
// (index 0) when there is another.
func (p palette) pickGarment(rng *rand.Rand) rgb {
	if len(p.cols) == 1 {
		return p.cols[0]
	}
	lo := p.cum[0]
	r := lo + rng.Float64()*(p.cum[len(p.cum)-1]-lo)
	i, _ := slices.BinarySearch(p.cum, r)
	return p.cols[min(max(i, 1), len(p.cols)-1)]
}

// canvas is a float RGB image, 0–255 per channel, planes side by side.
type canvas struct {
	w, h int
	pix  []float32 // r plane, g plane, b plane
}

func (c *canvas) plane(ch int) []float32 { n := c.w * c.h; return c.pix[ch*n : (ch+1)*n] }

// blend mixes colour col into pixel i with opacity a.
func (c *canvas) blend(i int, col rgb, a float32) {
	n := c.w * c.h
	for ch := range 3 {
		v := &c.pix[ch*n+i]
		*v += (col[ch] - *v) * a
	}
}

// render draws a photo-like product shot: a gradient studio background in
// the dominant palette colour with a floor line, a "garment" of overlapping
// soft-shaded ellipses with a woven texture and seams in the other palette
// colours, low-frequency lighting, two octaves of value-noise mottle and
// fine sensor grain. It is auto-exposed so that mean luma lands in
// 0.2–0.8. The layout depends only on rng.
func render(w, h int, rng *rand.Rand, pal palette) *image.RGBA {
	c := &canvas{w: w, h: h, pix: make([]float32, 3*w*h)}
	drawBackground(c, rng, pal)
	drawGarment(c, rng, pal)
	return finish(c, rng)
}

func drawBackground(c *canvas, rng *rand.Rand, pal palette) {
	c0 := pal.cols[0]
	var c1 rgb
	if len(pal.cols) > 1 {
		other := pal.cols[1+rng.IntN(len(pal.cols)-1)]
		for ch := range 3 {
			c1[ch] = 0.95*c0[ch] + 0.05*other[ch] // a hint of another colour, slightly darker
		}
	} else {
		c1 = rgb{c0[0] * 0.9, c0[1] * 0.9, c0[2] * 0.9}
	}
	ang := rng.Float64() * 2 * math.Pi
	diag := math.Hypot(float64(c.w), float64(c.h))
	dx, dy := float32(math.Cos(ang)/diag), float32(math.Sin(ang)/diag)
	cx, cy := float32(c.w)/2, float32(c.h)/2
	horizon := float32(c.h) * float32(0.68+0.15*rng.Float64())
	r, g, b := c.plane(0), c.plane(1), c.plane(2)
	for y := range c.h {
		// The floor is 10 % darker, with a 2 px soft edge: one strong horizontal edge.
		floor := 1 - 0.1*clamp01((float32(y)-horizon)/2+0.5)
		t := 0.5 + (0-cx)*dx + (float32(y)-cy)*dy
		row := y * c.w
		for x := range c.w {
			tt := clamp01(t)
			i := row + x
			r[i] = (c0[0] + (c1[0]-c0[0])*tt) * floor
			g[i] = (c0[1] + (c1[1]-c0[1])*tt) * floor
			b[i] = (c0[2] + (c1[2]-c0[2])*tt) * floor
			t += dx
		}
	}
}

func drawGarment(c *canvas, rng *rand.Rand, pal palette) {
	side := float32(min(c.w, c.h))
	gx := float32(c.w) * float32(0.4+0.2*rng.Float64())
	gy := float32(c.h) * float32(0.4+0.15*rng.Float64())
	shapes := 4 + rng.IntN(4)
	for range shapes {
		e := ellipse{
			cx:      gx + float32(rng.NormFloat64())*0.12*side,
			cy:      gy + float32(rng.NormFloat64())*0.12*side,
			a:       side * float32(0.08+0.2*rng.Float64()),
			theta:   rng.Float64() * math.Pi,
			col:     pal.pickGarment(rng),
			opacity: float32(0.8 + 0.17*rng.Float64()),
			feather: float32(0.8 + 2.5*rng.Float64()),
			period:  float32(3 + 4*rng.Float64()),
			weave:   float32(7 + 7*rng.Float64()),
		}
		e.b = e.a * float32(0.35+0.65*rng.Float64())
		e.draw(c)
	}
	seams := 2 + rng.IntN(3)
	for range seams {
		col := pal.pickGarment(rng)
		for ch := range col {
			col[ch] *= 0.55
		}
		ang := rng.Float64() * math.Pi
		half := side * float32(0.05+0.1*rng.Float64())
		mx := gx + float32(rng.NormFloat64())*0.08*side
		my := gy + float32(rng.NormFloat64())*0.08*side
		ca, sa := float32(math.Cos(ang)), float32(math.Sin(ang))
		s := segment{x0: mx - ca*half, y0: my - sa*half, x1: mx + ca*half, y1: my + sa*half,
			width: float32(0.8 + rng.Float64()), col: col}
		s.draw(c)
	}
}

type ellipse struct {
	cx, cy, a, b     float32
	theta            float64
	col              rgb
	opacity, feather float32
	period, weave    float32 // fabric texture: period in px and amplitude in levels
}

func (e ellipse) draw(c *canvas) {
	ct, st := float32(math.Cos(e.theta)), float32(math.Sin(e.theta))
	ex := float32(math.Sqrt(float64(e.a*e.a*ct*ct + e.b*e.b*st*st)))
	ey := float32(math.Sqrt(float64(e.a*e.a*st*st + e.b*e.b*ct*ct)))
	x0, x1 := clampInt(int(e.cx-ex-e.feather-1), 0, c.w), clampInt(int(e.cx+ex+e.feather+2), 0, c.w)
	y0, y1 := clampInt(int(e.cy-ey-e.feather-1), 0, c.h), clampInt(int(e.cy+ey+e.feather+2), 0, c.h)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	minr := min(e.a, e.b)
	outer := 1 + e.feather/minr
	outer2 := outer * outer
	// The weave is separable: one table per column, one per row.
	wx := make([]float32, x1-x0)
	for x := range wx {
		wx[x] = e.weave * 0.5 * float32(math.Sin(2*math.Pi*float64(float32(x0+x)/e.period)))
	}
	n := c.w * c.h
	for y := y0; y < y1; y++ {
		wy := e.weave * 0.5 * float32(math.Sin(2*math.Pi*float64(float32(y)/(e.period*1.3))))
		dy := float32(y) - e.cy
		for x := x0; x < x1; x++ {
			dx := float32(x) - e.cx
			u := (dx*ct + dy*st) / e.a
			v := (-dx*st + dy*ct) / e.b
			d2 := u*u + v*v
			if d2 > outer2 {
				continue
			}
			d := float32(math.Sqrt(float64(d2)))
			alpha := clamp01((1-d)*minr/e.feather+0.5) * e.opacity
			shade := 1.1 - 0.25*d2 // rounded, lit from the front
			tex := wx[x-x0] + wy
			i := y*c.w + x
			for ch := range 3 {
				p := &c.pix[ch*n+i]
				*p += (e.col[ch]*shade + tex - *p) * alpha
			}
		}
	}
}

type segment struct {
	x0, y0, x1, y1, width float32
	col                   rgb
}

func (s segment) draw(c *canvas) {
	pad := s.width + 2
	bx0 := clampInt(int(min(s.x0, s.x1)-pad), 0, c.w)
	bx1 := clampInt(int(max(s.x0, s.x1)+pad+1), 0, c.w)
	by0 := clampInt(int(min(s.y0, s.y1)-pad), 0, c.h)
	by1 := clampInt(int(max(s.y0, s.y1)+pad+1), 0, c.h)
	vx, vy := s.x1-s.x0, s.y1-s.y0
	ll := vx*vx + vy*vy
	if ll == 0 {
		return
	}
	for y := by0; y < by1; y++ {
		for x := bx0; x < bx1; x++ {
			px, py := float32(x)-s.x0, float32(y)-s.y0
			t := clamp01((px*vx + py*vy) / ll)
			ex, ey := px-t*vx, py-t*vy
			d := float32(math.Sqrt(float64(ex*ex + ey*ey)))
			a := clamp01(s.width - d + 0.5)
			if a > 0 {
				c.blend(y*c.w+x, s.col, a*0.85)
			}
		}
	}
}

// valueNoise is one octave of smooth lattice noise.
type valueNoise struct {
	cell   int
	gw, gh int
	v      []float32
}

func newValueNoise(rng *rand.Rand, w, h, cell int, amp float32) valueNoise {
	vn := valueNoise{cell: cell, gw: w/cell + 2, gh: h/cell + 2}
	vn.v = make([]float32, vn.gw*vn.gh)
	for i := range vn.v {
		vn.v[i] = amp * float32(2*rng.Float64()-1)
	}
	return vn
}

// finish adds lighting, mottle and grain, quantises to 8 bits and
// auto-exposes.
func finish(c *canvas, rng *rand.Rand) *image.RGBA {
	w, h := c.w, c.h
	// Low-frequency lighting, separable: a soft falloff across the frame.
	lx := make([]float32, w)
	ly := make([]float32, h)
	fx, px := 0.5+rng.Float64(), rng.Float64()*2*math.Pi
	fy, py := 0.5+rng.Float64(), rng.Float64()*2*math.Pi
	for x := range lx {
		lx[x] = 1 + 0.04*float32(math.Sin(2*math.Pi*fx*float64(x)/float64(w)+px))
	}
	for y := range ly {
		ly[y] = 1 + 0.04*float32(math.Sin(2*math.Pi*fy*float64(y)/float64(h)+py))
	}
	octaves := []valueNoise{
		newValueNoise(rng, w, h, 24, 7),
		newValueNoise(rng, w, h, 6, 4),
	}
	// Per-column lattice positions and smoothstep weights, per octave.
	type col struct {
		i int
		f float32
	}
	cols := make([][]col, len(octaves))
	for o, vn := range octaves {
		cols[o] = make([]col, w)
		for x := range w {
			cols[o][x] = col{x / vn.cell, smooth(float32(x%vn.cell) / float32(vn.cell))}
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r, g, b := c.plane(0), c.plane(1), c.plane(2)
	mottle := make([]float32, w)
	for y := range h {
		clear(mottle)
		for o := range octaves {
			vn := &octaves[o]
			gy := y / vn.cell
			fy := smooth(float32(y%vn.cell) / float32(vn.cell))
			top, bot := vn.v[gy*vn.gw:(gy+1)*vn.gw], vn.v[(gy+1)*vn.gw:(gy+2)*vn.gw]
			for x, cx := range cols[o] {
				t := top[cx.i] + (top[cx.i+1]-top[cx.i])*cx.f
				b := bot[cx.i] + (bot[cx.i+1]-bot[cx.i])*cx.f
				mottle[x] += t + (b-t)*fy
			}
		}
		row := y * w
		out := img.Pix[y*img.Stride : y*img.Stride+4*w]
		ry := ly[y]
		for x := range w {
			light := lx[x] * ry
			grain := mottle[x] + float32(rng.NormFloat64())*4.5
			i := row + x
			out[4*x] = quant(r[i]*light + grain)
			out[4*x+1] = quant(g[i]*light + grain)
			out[4*x+2] = quant(b[i]*light + grain)
			out[4*x+3] = 255
		}
	}
	autoExpose(img)
	return img
}

// autoExpose applies a gamma curve when the mean luma is outside 0.2–0.8,
// as a camera would, so a very dark or very pale palette still gives a
// normally exposed picture. Inside that range the palette is left alone.
func autoExpose(img *image.RGBA) {
	var hist [3][256]int
	histograms(img, &hist)
	m := meanLuma(&hist, img.Rect.Dx()*img.Rect.Dy(), identityLUT())
	if m >= 0.2 && m <= 0.8 || m <= 0 || m >= 1 {
		return
	}
	target := 0.25
	if m > 0.8 {
		target = 0.75
	}
	gamma := min(max(math.Log(target)/math.Log(m), 0.35), 3)
	var lut [256]uint8
	for v := range lut {
		lut[v] = uint8(math.Round(255 * math.Pow(float64(v)/255, gamma)))
	}
	applyLUT(img, &lut)
}

func histograms(img *image.RGBA, hist *[3][256]int) {
	for y := range img.Rect.Dy() {
		row := img.Pix[y*img.Stride : y*img.Stride+4*img.Rect.Dx()]
		for x := 0; x < len(row); x += 4 {
			hist[0][row[x]]++
			hist[1][row[x+1]]++
			hist[2][row[x+2]]++
		}
	}
}

// meanLuma is the BT.601 mean luma (0–1) of an image whose channel
// histograms are hist, after mapping every channel through lut.
func meanLuma(hist *[3][256]int, n int, lut [256]float64) float64 {
	var s [3]float64
	for ch := range 3 {
		for v, k := range hist[ch] {
			s[ch] += float64(k) * lut[v]
		}
	}
	return (0.299*s[0] + 0.587*s[1] + 0.114*s[2]) / float64(n) / 255
}

func identityLUT() [256]float64 {
	var l [256]float64
	for v := range l {
		l[v] = float64(v)
	}
	return l
}

func applyLUT(img *image.RGBA, lut *[256]uint8) {
	for y := range img.Rect.Dy() {
		row := img.Pix[y*img.Stride : y*img.Stride+4*img.Rect.Dx()]
		for x := 0; x < len(row); x += 4 {
			row[x] = lut[row[x]]
			row[x+1] = lut[row[x+1]]
			row[x+2] = lut[row[x+2]]
		}
	}
}

func smooth(t float32) float32 { return t * t * (3 - 2*t) }

func clamp01(v float32) float32 { return min(max(v, 0), 1) }

func clampInt(v, lo, hi int) int { return min(max(v, lo), hi) }

func quant(v float32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}
