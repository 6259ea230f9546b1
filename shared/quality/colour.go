package quality

import (
	"image"
	"image/color"
	"math"

	"github.com/designerbff/pipeline/shared/generation"
)

// Colour thumbnail constants. Colour statistics need far fewer pixels than
// sharpness or noise: they are read from a thumbnail whose cells average a
// sparse grid of source pixels, so a 1 MP JPEG costs ~37k colour conversions
// instead of a million.
const (
	thumbSide    = 64 // long side of the colour thumbnail
	thumbSamples = 3  // samples per cell side (thumbSamples² per cell)
)

// thumb is an sRGB thumbnail, 3 bytes a pixel, transparent areas composited
// over white (as lumaRow does).
type thumb struct {
	pix  []uint8
	w, h int
}

// colourThumb samples img onto a thumbnail of at most thumbSide a side.
func colourThumb(img image.Image, dst []uint8) thumb {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	bs := newBoxScaler(sw, sh, thumbSide)
	t := thumb{pix: grow(dst, 3*bs.dw*bs.dh), w: bs.dw, h: bs.dh}
	// Sample coordinates per destination column/row: thumbSamples points
	// spread evenly over the source span of the cell.
	coords := func(src, dstN int) []int {
		out := make([]int, 0, dstN*thumbSamples)
		for d := range dstN {
			lo, hi := d*src/dstN, (d+1)*src/dstN
			for k := range thumbSamples {
				out = append(out, lo+(2*k+1)*(hi-lo)/(2*thumbSamples))
			}
		}
		return out
	}
	xs, ys := coords(sw, bs.dw), coords(sh, bs.dh)
	if ycc, ok := img.(*image.YCbCr); ok {
		ycbcrThumb(ycc, xs, ys, t)
		return t
	}
	for dy := range bs.dh {
		for dx := range bs.dw {
			var r, g, bl uint32
			for _, sy := range ys[dy*thumbSamples : (dy+1)*thumbSamples] {
				for _, sx := range xs[dx*thumbSamples : (dx+1)*thumbSamples] {
					cr, cg, cb := pixelOverWhite(img, b.Min.X+sx, b.Min.Y+sy)
					r, g, bl = r+uint32(cr), g+uint32(cg), bl+uint32(cb)
				}
			}
			const n = thumbSamples * thumbSamples
			i := 3 * (dy*bs.dw + dx)
			t.pix[i], t.pix[i+1], t.pix[i+2] = uint8((r+n/2)/n), uint8((g+n/2)/n), uint8((bl+n/2)/n)
		}
	}
	return t
}

// ycbcrThumb is colourThumb's loop for a JPEG's planes. The plane offsets
// of every sample column and row are worked out once, so the inner loop
// only adds and converts (COffset per sample was most of its cost).
func ycbcrThumb(m *image.YCbCr, xs, ys []int, t thumb) {
	// Chroma coordinates: which axes the subsample ratio halves or quarters.
	cx, cy := func(x int) int { return x }, func(y int) int { return y }
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		cx = func(x int) int { return x / 2 }
	case image.YCbCrSubsampleRatio420:
		cx, cy = func(x int) int { return x / 2 }, func(y int) int { return y / 2 }
	case image.YCbCrSubsampleRatio440:
		cy = func(y int) int { return y / 2 }
	case image.YCbCrSubsampleRatio411:
		cx = func(x int) int { return x / 4 }
	case image.YCbCrSubsampleRatio410:
		cx, cy = func(x int) int { return x / 4 }, func(y int) int { return y / 2 }
	}
	b := m.Rect
	yCol, cCol := make([]int, len(xs)), make([]int, len(xs))
	for i, sx := range xs {
		x := b.Min.X + sx
		yCol[i] = x - b.Min.X
		cCol[i] = cx(x) - cx(b.Min.X)
	}
	yRow, cRow := make([]int, len(ys)), make([]int, len(ys))
	for i, sy := range ys {
		y := b.Min.Y + sy
		yRow[i] = (y - b.Min.Y) * m.YStride
		cRow[i] = (cy(y) - cy(b.Min.Y)) * m.CStride
	}
	for dy := range t.h {
		for dx := range t.w {
			var r, g, bl uint32
			for k := range thumbSamples {
				yr, crow := yRow[dy*thumbSamples+k], cRow[dy*thumbSamples+k]
				for j := range thumbSamples {
					yi := yr + yCol[dx*thumbSamples+j]
					ci := crow + cCol[dx*thumbSamples+j]
					pr, pg, pb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
					r, g, bl = r+uint32(pr), g+uint32(pg), bl+uint32(pb)
				}
			}
			const n = thumbSamples * thumbSamples
			i := 3 * (dy*t.w + dx)
			t.pix[i], t.pix[i+1], t.pix[i+2] = uint8((r+n/2)/n), uint8((g+n/2)/n), uint8((bl+n/2)/n)
		}
	}
}

// pixelOverWhite is one pixel's 8-bit sRGB, composited over white, with
// fast paths for the decoders' own image types.
func pixelOverWhite(img image.Image, x, y int) (r, g, b uint8) {
	switch m := img.(type) {
	case *image.YCbCr:
		return color.YCbCrToRGB(m.Y[m.YOffset(x, y)], m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)])
	case *image.NRGBA:
		p := m.Pix[m.PixOffset(x, y):]
		a := uint32(p[3])
		over := func(c uint8) uint8 { return uint8((uint32(c)*a + 255*(255-a) + 127) / 255) }
		return over(p[0]), over(p[1]), over(p[2])
	case *image.RGBA:
		p := m.Pix[m.PixOffset(x, y):]
		add := 0xff - p[3]
		return p[0] + add, p[1] + add, p[2] + add
	}
	cr, cg, cb, ca := img.At(x, y).RGBA()
	add := uint8((0xffff - ca) >> 8)
	return uint8(cr>>8) + add, uint8(cg>>8) + add, uint8(cb>>8) + add
}

// colourfulness is Hasler and Süsstrunk's M = σ_rgyb + 0.3·μ_rgyb (2003) on
// the thumbnail: 0 for grey, ~15 slightly, ~33 moderately, ~59 quite, ≥ 82
// highly colourful. The thumbnail averages away fine chroma texture, so M
// reads a little lower than on full-size pixels.
func colourfulness(t thumb) float64 {
	n := float64(t.w * t.h)
	var srg, srg2, syb, syb2 float64
	for i := 0; i < len(t.pix); i += 3 {
		r, g, b := float64(t.pix[i]), float64(t.pix[i+1]), float64(t.pix[i+2])
		rg := r - g
		yb := (r+g)/2 - b
		srg, srg2 = srg+rg, srg2+rg*rg
		syb, syb2 = syb+yb, syb2+yb*yb
	}
	mrg, myb := srg/n, syb/n
	vrg, vyb := max(0, srg2/n-mrg*mrg), max(0, syb2/n-myb*myb)
	return math.Sqrt(vrg+vyb) + 0.3*math.Sqrt(mrg*mrg+myb*myb)
}

// lab is a CIE L*a*b* colour (D65).
type lab struct{ l, a, b float64 }

// srgbLinear maps 8-bit sRGB to linear light.
var srgbLinear = func() (t [256]float64) {
	for i := range t {
		c := float64(i) / 255
		if c <= 0.04045 {
			t[i] = c / 12.92
		} else {
			t[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return t
}()

func toLab(r, g, b uint8) lab {
	lr, lg, lb := srgbLinear[r], srgbLinear[g], srgbLinear[b]
	x := (0.4124*lr + 0.3576*lg + 0.1805*lb) / 0.95047
	y := 0.2126*lr + 0.7152*lg + 0.0722*lb
	z := (0.0193*lr + 0.1192*lg + 0.9505*lb) / 1.08883
	f := func(t float64) float64 {
		if t > 216.0/24389 {
			return math.Cbrt(t)
		}
		return (24389.0/27*t + 16) / 116
	}
	fx, fy, fz := f(x), f(y), f(z)
	return lab{116*fy - 16, 500 * (fx - fy), 200 * (fy - fz)}
}

func deltaE(p, q lab) float64 {
	dl, da, db := p.l-q.l, p.a-q.a, p.b-q.b
	return math.Sqrt(dl*dl + da*da + db*db)
}

// paletteDistance measures, in CIE ΔE76, how far the thumbnail's colours are
// from a reference palette, both ways, and returns the mean of:
//
//   - coverage: the mean over thumbnail pixels of the distance to the
//     nearest reference colour (does the image stay within the palette?);
//   - use: the weight-averaged distance from each reference colour to the
//     nearest of the image's own palette (does the image use the palette?).
//
// A re-coloured image is far both ways; a faithful one with shading and
// background is near on use and moderately near on coverage. An empty
// reference palette: 0.
func paletteDistance(t thumb, ref []generation.Color) (coverage, use float64) {
	if len(ref) == 0 || t.w*t.h == 0 {
		return 0, 0
	}
	refLab := make([]lab, len(ref))
	for i, c := range ref {
		refLab[i] = toLab(c.R, c.G, c.B)
	}
	// A reference that is mostly one backdrop (a product on white, see
	// Palette) is judged on its product: the pixels off that backdrop and
	// the reference's other colours. Measured over the whole frame, a
	// re-coloured product is a few percent of the pixels and of the
	// weight, and passes.
	backdrop := -1
	if productShot(ref) {
		backdrop = 0
	}
	counted := 0
	for i := 0; i < len(t.pix); i += 3 {
		p := toLab(t.pix[i], t.pix[i+1], t.pix[i+2])
		if backdrop >= 0 && deltaE(p, refLab[backdrop]) < backdropNear {
			continue
		}
		best := math.Inf(1)
		for _, q := range refLab {
			best = min(best, deltaE(p, q))
		}
		coverage += best
		counted++
	}
	coverage /= float64(max(counted, 1))

	own := Palette(&image.NRGBA{Pix: rgbToNRGBA(t.pix), Stride: 4 * t.w, Rect: image.Rect(0, 0, t.w, t.h)})
	ownLab := make([]lab, len(own))
	for i, c := range own {
		ownLab[i] = toLab(c.R, c.G, c.B)
	}
	var weights float64
	for i, q := range refLab {
		if i == backdrop {
			continue
		}
		w := ref[i].Weight
		if w <= 0 || math.IsNaN(w) {
			w = 1
		}
		best := math.Inf(1)
		for _, p := range ownLab {
			best = min(best, deltaE(p, q))
		}
		if math.IsInf(best, 1) {
			best = 100 // a fully transparent image has no colours
		}
		use += w * best
		weights += w
	}
	return coverage, use / weights
}

// productShot reports a reference palette that is mostly a white
// backdrop (see Palette), the rest the product's colours.
func productShot(ref []generation.Color) bool {
	return len(ref) > 1 && ref[0].Weight > backdropWeight && isBackdrop(ref[0])
}

// isBackdrop reports a colour a product is shot against: near white.
func isBackdrop(c generation.Color) bool {
	l := toLab(c.R, c.G, c.B)
	return l.l >= backdropL && math.Hypot(l.a, l.b) <= backdropChroma
}

const (
	// backdropWeight: a near-white reference colour (L* ≥ backdropL,
	// chroma ≤ backdropChroma) holding more of the palette's weight than
	// this is a backdrop around a product. (A garment's own colour can
	// hold most of a palette too: a navy coat's 0.6.)
	backdropWeight = 0.5
	backdropL      = 90.0
	backdropChroma = 8.0
	// backdropNear: pixels within this ΔE76 of it are backdrop.
	backdropNear = 10.0
)

// rgbToNRGBA widens 3-byte pixels to opaque NRGBA.
func rgbToNRGBA(pix []uint8) []uint8 {
	out := make([]uint8, 0, len(pix)/3*4)
	for i := 0; i < len(pix); i += 3 {
		out = append(out, pix[i], pix[i+1], pix[i+2], 0xff)
	}
	return out
}

// logChroma is (ln R/G, ln B/G) of a mean linear colour; a floor keeps
// near-black colours, whose ratios are mostly noise, near neutral.
func logChroma(r, g, b float64) [2]float64 {
	const floor = 0.003
	return [2]float64{math.Log((r + floor) / (g + floor)), math.Log((b + floor) / (g + floor))}
}

// neutralPoint is the log chromaticity of the mean linear colour of the
// thumbnail's near-neutral cells (within neutralRadius of grey, neither
// near black nor pure white) and their share of the cells. Greys are where
// a cast shows: a gain on one channel tints them all by the same ln k,
// while a washed-out lift, a desaturation or a new hue of the subject
// leaves them grey, and an exposure change scales all three channels.
func neutralPoint(t thumb) (chroma [2]float64, share float64) {
	var r, g, b float64
	k, n := 0, len(t.pix)/3
	for i := 0; i < len(t.pix); i += 3 {
		pr, pg, pb := srgbLinear[t.pix[i]], srgbLinear[t.pix[i+1]], srgbLinear[t.pix[i+2]]
		if pg < neutralDark || (t.pix[i] >= clipHighLevel && t.pix[i+1] >= clipHighLevel && t.pix[i+2] >= clipHighLevel) {
			continue
		}
		if math.Hypot(math.Log((pr+1e-4)/pg), math.Log((pb+1e-4)/pg)) > neutralRadius {
			continue
		}
		r, g, b, k = r+pr, g+pg, b+pb, k+1
	}
	if k == 0 {
		return [2]float64{}, 0
	}
	return logChroma(r/float64(k), g/float64(k), b/float64(k)), float64(k) / float64(n)
}

const (
	// neutralRadius: a cell within this log-chromaticity distance of grey
	// is near-neutral; a strong warm cast (R × 1.25, B × 0.75: 0.36) keeps
	// a grey inside it, a saturated garment's or sky's colour is outside.
	// Cells near the radius enter or leave the set under a cast, so the
	// measure reads a little under the cast (a median over a wider radius
	// read closer, but moved with a new subject as much as with a cast).
	neutralRadius = 0.45
	// neutralDark: darker cells (linear G, sRGB level ~25) have no
	// reliable colour.
	neutralDark = 0.01
	// neutralMinShare: fewer near-neutral cells than this share say
	// nothing: no cast is judged.
	neutralMinShare = 0.05
	// neutralMuted: a reference with more of its frame near-neutral than
	// this is a muted scheme (grey on grey, or a dusty pink in low-key
	// light: 97 %), whose near-neutral cells are mostly its subject.
	neutralMuted = 0.60
	// neutralGrey and neutralMutedGrey: how far from grey a reference's
	// near-neutral cells may average for them to tell its light (see
	// greysTellTheLight).
	neutralGrey      = 0.15
	neutralMutedGrey = 0.05
)

// greysTellTheLight reports whether the reference's near-neutral cells are
// greys lit by its light, against which a generation's greys show a cast.
// Cream or stone ones are a material's colour (a navy coat's cream lining
// averages 0.22 from grey; against it a clean golden-hour street read as
// a cast of 0.62); in a muted scheme they are its subject, grey only if
// the subject is (all 40 clean renders against a dusty pink scheme, 0.11
// from grey, read as strong casts). The references of the casts the
// quality set catches hold 6–26 % near-neutral cells, 0.04–0.13 from grey.
func greysTellTheLight(t *generation.Tone) bool {
	off := math.Hypot(t.Neutral[0], t.Neutral[1])
	switch {
	case t.NeutralShare < neutralMinShare:
		return false
	case t.NeutralShare > neutralMuted:
		return off <= neutralMutedGrey
	default:
		return off <= neutralGrey
	}
}
