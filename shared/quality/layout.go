package quality

import (
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// The layout: a reference's composition in colour, for judging a generation
// that keeps it region by region.
//
// A generation made from a reference often keeps its composition (an edit,
// a variation, an upscale): then each region of it can be compared with the
// same region of the reference, which tells a white-balance error from the
// new light or backdrop of a new scene. The layout is a layoutSide ×
// layoutSide grid of the mean colour of each cell of the frame (averaged in
// linear light, stored as 8-bit sRGB: 768 bytes). fitLayout fits, for each
// output channel, an affine map of the reference cell's three channels to
// the generation's: a white-balance error is a gain on one channel, a lift
// of the blacks or an exposure change moves all three alike, a
// desaturation mixes them. What the fitted map makes of a reference grey
// is the cast: a desaturated, washed-out or re-exposed picture keeps its
// greys grey, a cast tints them. When the map does not explain the
// generation (a new scene, a repeated tile, a region left flat), the
// generation does not keep the reference's composition and no region is
// compared.
const (
	layoutSide = 16
	layoutLen  = 3 * layoutSide * layoutSide

	// layoutDark and layoutBright bound the cells the fit reads (8-bit
	// sRGB, every channel, in both pictures): near black a cell's colour
	// is mostly noise, and a channel near clipping no longer scales (with
	// cells up to 245, six of 42 pictures at +0.7 EV read as casts over
	// 0.2; up to 230, three, saturated illustrations and a yellow flower).
	layoutDark   = 8
	layoutBright = 230
	// layoutMinCells: fewer usable cells in common do not say what a grey
	// becomes.
	layoutMinCells = 12
	// layoutMinVariance: a reference whose cells vary by less than two
	// levels (standard deviation) in a channel is one colour there.
	layoutMinVariance = 4.0
	// layoutMinChroma: a reference whose cells' colours vary by less than
	// this (mean square, levels²) has no hues to turn.
	layoutMinChroma = 25.0
	// layoutSameScene is the largest RMS residual, in 8-bit levels, of a
	// fit that still explains the generation: on the calibration set a
	// picture against its own clean version reads at most 3.4 after any
	// blur, noise, compression, exposure, lift or cast; a 2×2 tiled repeat
	// or a half-frame left flat reads 3–65 (median 15–26).
	layoutSameScene = 4.0
	// layoutRidge pulls each channel's map toward the shared gain, in
	// units of the cells' count × variance: a reference whose cells are
	// nearly one colour does not determine the cross terms, and a free fit
	// would make up a cast. 0.05 let a desaturation by half read as a cast
	// of up to 0.16; 0.002 let the cross terms wander (strong casts
	// 0.05–0.26 on the same scale).
	layoutRidge = 0.01
)

// layoutOf is the layout of a colour thumbnail: every cell the mean of its
// thumbnail pixels in linear light, encoded as sRGB.
func layoutOf(t thumb) []uint8 {
	var sum [layoutSide * layoutSide][3]float64
	var n [layoutSide * layoutSide]int
	for y := range t.h {
		row := y * layoutSide / t.h * layoutSide
		for x := range t.w {
			c, i := row+x*layoutSide/t.w, 3*(y*t.w+x)
			sum[c][0] += srgbLinear[t.pix[i]]
			sum[c][1] += srgbLinear[t.pix[i+1]]
			sum[c][2] += srgbLinear[t.pix[i+2]]
			n[c]++
		}
	}
	out := make([]uint8, layoutLen)
	for c := range sum {
		if n[c] == 0 {
			continue // a thumbnail under layoutSide px: the cell stays black, which the fit skips
		}
		for k := range 3 {
			out[3*c+k] = linearToSRGB(sum[c][k] / float64(n[c]))
		}
	}
	return out
}

// linearToSRGB encodes a linear-light value (0–1) as an 8-bit sRGB level.
func linearToSRGB(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 1:
		return 255
	case v <= 0.0031308:
		return uint8(math.Round(255 * 12.92 * v))
	default:
		return uint8(math.Round(255 * (1.055*math.Pow(v, 1/2.4) - 0.055)))
	}
}

// layoutFit is what fitLayout found: grey is what the reference's mean
// grey becomes (8-bit sRGB per channel), residual the fit's RMS error in
// levels over cells usable cells.
type layoutFit struct {
	grey     [3]float64
	residual float64
	cells    int
	// level is the reference's mean grey (8-bit sRGB); gain and lift are
	// the least-squares map of the cells' luma, v ↦ gain·v + lift (a
	// desaturation keeps it, a compressed range lowers the gain and lifts
	// the blacks).
	level, gain, lift float64
	// chroma is the least-squares factor of the cells' colour (R − G,
	// B − G about their means) from the reference's: 1 kept, ½ half
	// desaturated, below 0 turned toward the opposite hues. NaN when the
	// reference's cells hardly vary in colour.
	chroma float64
}

// sameScene reports whether the fit explains the generation: it keeps the
// reference's composition.
func (f layoutFit) sameScene() bool {
	return f.cells >= layoutMinCells && f.residual <= layoutSameScene
}

// cast is the log-chromaticity distance from grey of what the reference's
// grey becomes, in the units of neutralPoint's (R × 1.25 with B × 0.75
// reads 0.36).
func (f layoutFit) cast() float64 {
	var lin [3]float64
	for k, v := range f.grey {
		lin[k] = srgbLinear[uint8(math.Round(min(255, max(0, v))))]
	}
	c := logChroma(lin[0], lin[1], lin[2])
	return math.Hypot(c[0], c[1])
}

// stops is how far the reference's mean grey moved in exposure, in EV.
func (f layoutFit) stops() float64 {
	lin := func(v float64) float64 { return srgbLinear[uint8(math.Round(min(255, max(1, v))))] }
	return math.Log2(lin((f.grey[0]+f.grey[1]+f.grey[2])/3) / lin(f.level))
}

// fitLayout fits img's layout as an affine map of ref's (see the layout's
// doc); false when either is not a layout or too few cells are usable.
func fitLayout(ref, img []uint8) (layoutFit, bool) {
	if len(ref) != layoutLen || len(img) != layoutLen {
		return layoutFit{}, false
	}
	usable := func(p []uint8) bool {
		return min(p[0], p[1], p[2]) >= layoutDark && max(p[0], p[1], p[2]) <= layoutBright
	}
	var cells []int
	for i := 0; i < layoutLen; i += 3 {
		if usable(ref[i:i+3]) && usable(img[i:i+3]) {
			cells = append(cells, i)
		}
	}
	if len(cells) < layoutMinCells {
		return layoutFit{cells: len(cells)}, false
	}
	// The shared gain (every channel pooled), and the level the grey is
	// read at: the reference's mean. A channel the reference's cells do
	// not vary in does not determine the map.
	xs, ys := make([]float64, 0, 3*len(cells)), make([]float64, 0, 3*len(cells))
	for k := range 3 {
		from := len(xs)
		for _, i := range cells {
			xs, ys = append(xs, float64(ref[i+k])), append(ys, float64(img[i+k]))
		}
		if _, v := stat.PopMeanVariance(xs[from:], nil); v < layoutMinVariance {
			return layoutFit{cells: len(cells)}, false
		}
	}
	mean, variance := stat.PopMeanVariance(xs, nil)
	_, gain := stat.LinearRegression(xs, ys, nil, false)
	ridge := layoutRidge * float64(len(cells)) * variance
	fit := layoutFit{cells: len(cells), level: mean}
	fit.gain, fit.lift = lumaMap(ref, img, cells)
	fit.chroma = chromaFactor(ref, img, cells)
	squares := 0.0
	for out := range 3 {
		// Regressors centred on the mean grey, so the constant term is
		// what that grey becomes. The ridge makes the normal equations
		// positive definite whenever any cell varies.
		a := mat.NewSymDense(4, nil)
		b := mat.NewVecDense(4, nil)
		for _, i := range cells {
			x := [4]float64{float64(ref[i]) - mean, float64(ref[i+1]) - mean, float64(ref[i+2]) - mean, 1}
			y := float64(img[i+out])
			for r := range 4 {
				for c := r; c < 4; c++ {
					a.SetSym(r, c, a.At(r, c)+x[r]*x[c])
				}
				b.SetVec(r, b.AtVec(r)+x[r]*y)
			}
		}
		for k := range 3 {
			a.SetSym(k, k, a.At(k, k)+ridge)
			if k == out {
				b.SetVec(k, b.AtVec(k)+ridge*gain)
			}
		}
		var chol mat.Cholesky
		if !chol.Factorize(a) {
			return layoutFit{cells: len(cells)}, false
		}
		var sol mat.VecDense
		if err := chol.SolveVecTo(&sol, b); err != nil {
			return layoutFit{cells: len(cells)}, false
		}
		coef := sol.RawVector().Data
		fit.grey[out] = coef[3]
		for _, i := range cells {
			e := coef[3] - float64(img[i+out])
			for k := range 3 {
				e += coef[k] * (float64(ref[i+k]) - mean)
			}
			squares += e * e
		}
	}
	fit.residual = math.Sqrt(squares / float64(3*len(cells)))
	return fit, true
}

// lumaMap is the least-squares affine map of the cells' luma (BT.601, as
// the working plane's) from ref to img; the identity when the reference's
// cells are all one luma.
func lumaMap(ref, img []uint8, cells []int) (gain, lift float64) {
	// Unrounded (luma8 rounds): a cell's luma is a mean, and half a
	// level matters to a fit over a few hundred cells.
	luma := func(p []uint8) float64 { return 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2]) }
	xs, ys := make([]float64, len(cells)), make([]float64, len(cells))
	for j, i := range cells {
		xs[j], ys[j] = luma(ref[i:i+3]), luma(img[i:i+3])
	}
	lift, gain = stat.LinearRegression(xs, ys, nil, false)
	if math.IsNaN(gain) || math.IsInf(gain, 0) {
		return 1, 0
	}
	return gain, lift
}

// chromaFactor is layoutFit.chroma.
func chromaFactor(ref, img []uint8, cells []int) float64 {
	opponent := func(p []uint8) [2]float64 {
		return [2]float64{float64(p[0]) - float64(p[1]), float64(p[2]) - float64(p[1])}
	}
	var mr, mi [2]float64
	for _, i := range cells {
		r, g := opponent(ref[i:i+3]), opponent(img[i:i+3])
		mr[0], mr[1], mi[0], mi[1] = mr[0]+r[0], mr[1]+r[1], mi[0]+g[0], mi[1]+g[1]
	}
	n := float64(len(cells))
	var cross, squares float64
	for _, i := range cells {
		r, g := opponent(ref[i:i+3]), opponent(img[i:i+3])
		for k := range 2 {
			cross += (r[k] - mr[k]/n) * (g[k] - mi[k]/n)
			squares += (r[k] - mr[k]/n) * (r[k] - mr[k]/n)
		}
	}
	if squares < layoutMinChroma*n {
		return math.NaN()
	}
	return cross / squares
}
