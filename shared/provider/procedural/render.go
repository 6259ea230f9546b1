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

// render draws a product photograph of what the scene names: a backdrop in
// the dominant palette colour that follows the scene's background words, the
// garment's silhouette in the other palette colours with folds, seams and
// the material's texture and sheen, a soft contact shadow, then the scene's
// lighting, value-noise mottle and fine sensor grain. It is auto-exposed so
// that mean luma lands in 0.3–0.8. The layout depends only on rng.
func render(w, h int, rng *rand.Rand, pal palette, sc scene) *image.RGBA {
	c := &canvas{w: w, h: h, pix: make([]float32, 3*w*h)}
	lay := newLayout(w, h, rng, sc)
	cols := garmentColours(pal, rng, sc)
	drawBackdrop(c, rng, pal, sc, lay)
	drawGarment(c, rng, sc, lay, cols)
	expose(c)
	img := finish(c, rng, lay.lighting(sc, pal))
	if sc.fade || sc.contrast > 1 {
		tone(img, sc)
	}
	autoExpose(img)
	return img
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

// lighting is the scene's light over the whole frame: a directional
// falloff along (dx, dy), a vignette and a colour tint. All three are
// separable, so they cost one multiply a pixel.
type lighting struct {
	dx, dy   float32 // falloff per half-frame along x and y
	vignette float32 // darkening at the frame's edge
	tint     rgb     // per-channel gain
}

// finish adds lighting, mottle and grain and quantises to 8 bits.
func finish(c *canvas, rng *rand.Rand, lt lighting) *image.RGBA {
	w, h := c.w, c.h
	// Low-frequency lighting, separable: a soft falloff across the frame.
	lx := make([]float32, w)
	ly := make([]float32, h)
	fx, px := 0.5+rng.Float64(), rng.Float64()*2*math.Pi
	fy, py := 0.5+rng.Float64(), rng.Float64()*2*math.Pi
	for x := range lx {
		t := 2*float32(x)/float32(w) - 1
		lx[x] = (1 + 0.04*float32(math.Sin(2*math.Pi*fx*float64(x)/float64(w)+px))) * (1 + lt.dx*t) * (1 - lt.vignette*t*t)
	}
	for y := range ly {
		t := 2*float32(y)/float32(h) - 1
		ly[y] = (1 + 0.04*float32(math.Sin(2*math.Pi*fy*float64(y)/float64(h)+py))) * (1 + lt.dy*t) * (1 - lt.vignette*t*t)
	}
	octaves := []valueNoise{
		newValueNoise(rng, w, h, 24, 7),
		newValueNoise(rng, w, h, 6, 4),
		// Uneven light over the set at a fifth of the frame: without it a
		// plain backdrop is smooth at the scale of the validator's dHash,
		// and two pictures of one prompt (or a dune photograph) can look
		// like near-copies to it.
		newValueNoise(rng, w, h, max(8, min(w, h)/5), 12),
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
			out[4*x] = quant(r[i]*light*lt.tint[0] + grain)
			out[4*x+1] = quant(g[i]*light*lt.tint[1] + grain)
			out[4*x+2] = quant(b[i]*light*lt.tint[2] + grain)
			out[4*x+3] = 255
		}
	}
	return img
}

// tone applies the style's tone curve: a film look lifts the blacks and
// warms the picture slightly; high contrast steepens the mid-tones.
func tone(img *image.RGBA, sc scene) {
	var lut [3][256]uint8
	for v := range 256 {
		x := float64(v) / 255
		if sc.contrast > 1 {
			x -= 0.2 * math.Sin(2*math.Pi*x) / (2 * math.Pi) // an S-curve: slope 1.2 at mid-grey
		}
		for ch := range 3 {
			y := x
			if sc.fade {
				y = 0.03 + 0.94*x + []float64{0.01, 0, -0.012}[ch]
			}
			lut[ch][v] = uint8(math.Round(255 * min(max(y, 0), 1)))
		}
	}
	for y := range img.Rect.Dy() {
		row := img.Pix[y*img.Stride : y*img.Stride+4*img.Rect.Dx()]
		for x := 0; x < len(row); x += 4 {
			row[x] = lut[0][row[x]]
			row[x+1] = lut[1][row[x+1]]
			row[x+2] = lut[2][row[x+2]]
		}
	}
}

// expose brightens a dark scene (a dark palette, night, low-key light)
// before the sensor grain is added, as a camera's exposure does: lifting the
// finished picture instead would lift its grain with it, into what the
// validator reads as a noisy image. autoExpose then leaves it alone.
func expose(c *canvas) {
	var sum float64
	r, g, b := c.plane(0), c.plane(1), c.plane(2)
	n := 0
	for i := 0; i < len(r); i += 7 {
		sum += float64(0.299*r[i] + 0.587*g[i] + 0.114*b[i])
		n++
	}
	m := sum / float64(n) / 255
	if m >= 0.3 || m <= 0 {
		return
	}
	// Just to 0.31, where the validator's exposure score is full: any
	// further lift moves the colours away from the reference palette.
	gamma := min(max(math.Log(0.31)/math.Log(m), 0.35), 1)
	// A table 4 entries a level, interpolated: a pow per pixel is too slow.
	var lut [1025]float32
	for i := range lut {
		lut[i] = float32(255 * math.Pow(float64(i)/1024, gamma))
	}
	for i, v := range c.pix {
		x := clamp01(v/255) * 1024
		k := min(int(x), 1023)
		c.pix[i] = lut[k] + (lut[k+1]-lut[k])*(x-float32(k))
	}
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
