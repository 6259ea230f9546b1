package quality

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"slices"

	"github.com/designerbff/pipeline/shared/generation"
)

// Palette extraction constants.
const (
	paletteSide   = 64  // long side of the copy the palette is counted on
	paletteColors = 6   // most colours returned
	paletteAlpha  = 128 // cells more transparent than this are not colours
	// Buckets holding less than this share of the counted cells are dropped
	// (the fullest is always kept): they are mostly cells straddling an edge
	// between two colours, whose mean is a colour nobody painted.
	paletteMinShare = 0.02
)

// Inspect decodes a user's reference image fully and returns its features and
// content type ("image/png", "image/jpeg" or "image/webp"). Errors are
// *generation.Error: EINVALID for empty, truncated or corrupt bytes,
// EUNSUPPORTED when the content is not PNG, JPEG or WebP, ETOOLARGE when the
// header declares more than MaxSide a side or MaxPixels in all, or an image
// whose decoding would need more than ReferenceBudget bytes (refused before
// decoding: the API function has 512 MB).
func Inspect(data []byte) (generation.ReferenceFeatures, string, error) {
	img, format, err := decode(data, ReferenceBudget)
	if err != nil {
		return generation.ReferenceFeatures{}, "", fmt.Errorf("inspect reference image: %w", err)
	}
	b := img.Bounds()
	return generation.ReferenceFeatures{
		Width:   b.Dx(),
		Height:  b.Dy(),
		Format:  format,
		Palette: Palette(img),
		Tone:    ToneOf(img),
	}, ContentType(format), nil
}

// ToneOf measures img's exposure and white balance as Validate measures a
// generated image's, so that the two compare like for like.
func ToneOf(img image.Image) *generation.Tone {
	s := new(scratch)
	luma, w, h := workingLuma(img, s)
	st := histogramStats(luma)
	colours := colourThumb(img, nil)
	neutral, share := neutralPoint(colours)
	return &generation.Tone{
		Detail: detail(laplacianVar(luma, w, h), st.std), Grain: grain(luma, w, h), Gaps: st.gaps,
		Neutral: neutral, NeutralShare: share, Layout: layoutOf(colours),
		MeanLinear: st.linMean, ClipHigh: st.clipHigh,
	}
}

// Palette returns up to six dominant colours of img, most common first. It
// counts a box-downscaled copy of at most 64 px a side in a 4-bit-per-channel
// histogram, keeps the fullest buckets (ignoring ones under 2 % of the image)
// and reports each bucket's mean colour. Weights are the buckets' shares
// among the returned colours, so they sum to 1. (Mostly) transparent areas
// are ignored; a fully transparent image has an empty palette.
func Palette(img image.Image) []generation.Color {
	b := img.Bounds()
	s := newBoxScaler(b.Dx(), b.Dy(), paletteSide)
	sums := make([]uint32, 4*s.dw*s.dh)
	row := make([]uint8, 4*s.sw)
	for y := range s.sh {
		rgbaRow(img, y, row)
		acc := sums[4*s.row(y)*s.dw:]
		for x, d := range s.xmap {
			a := acc[4*d : 4*d+4 : 4*d+4]
			p := row[4*x : 4*x+4 : 4*x+4]
			a[0] += uint32(p[0])
			a[1] += uint32(p[1])
			a[2] += uint32(p[2])
			a[3] += uint32(p[3])
		}
	}

	type bucket struct {
		key      int
		n        int
		r, g, bl int
	}
	var buckets [4096]bucket
	for dy := range s.dh {
		for dx := range s.dw {
			n := s.colN[dx] * s.rowN[dy]
			a := sums[4*(dy*s.dw+dx):]
			alpha := (a[3] + n/2) / n
			if alpha < paletteAlpha {
				continue
			}
			// Un-premultiply the cell's mean colour.
			r := min(255, (a[0]*255+a[3]/2)/a[3])
			g := min(255, (a[1]*255+a[3]/2)/a[3])
			bl := min(255, (a[2]*255+a[3]/2)/a[3])
			k := int(r>>4)<<8 | int(g>>4)<<4 | int(bl>>4)
			bk := &buckets[k]
			bk.key = k
			bk.n++
			bk.r += int(r)
			bk.g += int(g)
			bk.bl += int(bl)
		}
	}
	top := make([]bucket, 0, 64)
	counted := 0
	for _, bk := range buckets {
		if bk.n > 0 {
			top = append(top, bk)
			counted += bk.n
		}
	}
	// Fullest first; the key breaks ties so the palette is deterministic.
	slices.SortFunc(top, func(x, y bucket) int {
		if c := cmp.Compare(y.n, x.n); c != 0 {
			return c
		}
		return cmp.Compare(x.key, y.key)
	})
	// The bucket's mean colour, rounded.
	mean := func(bk bucket) generation.Color {
		return generation.Color{R: uint8((bk.r + bk.n/2) / bk.n), G: uint8((bk.g + bk.n/2) / bk.n), B: uint8((bk.bl + bk.n/2) / bk.n)}
	}
	// A white backdrop holding most of the frame (a product shot): the
	// other colours are counted as shares of what is left, the product.
	counts := counted
	if len(top) > 0 && 2*top[0].n > counted && isBackdrop(mean(top[0])) {
		counts = counted - top[0].n
	}
	top = top[:min(len(top), paletteColors)]
	for i, bk := range top {
		if i > 0 && float64(bk.n) < paletteMinShare*float64(counts) {
			top = top[:i]
			break
		}
	}
	total := 0
	for _, bk := range top {
		total += bk.n
	}
	out := make([]generation.Color, 0, len(top))
	for _, bk := range top {
		c := mean(bk)
		c.Weight = float64(bk.n) / float64(total)
		out = append(out, c)
	}
	return out
}

// detail is the fine detail of a plane for its contrast: log10 of the
// Laplacian variance over the luma variance. A blur, a soft upscale or a
// motion blur lowers it; an exposure change or a washed-out lift scales
// both alike and leaves it.
func detail(laplacianVar, lumaStd float64) float64 {
	return math.Log10(max(laplacianVar, 1e-3) / max(lumaStd*lumaStd, 1))
}

// grain is the direction of a plane's fine detail: log10 of the energy of
// its horizontal second differences over its vertical ones. A scene has
// its own (a striped shirt, a horizon); a motion blur moves it far from
// the scene's, toward the direction it smears.
func grain(luma []uint8, w, h int) float64 {
	var ex, ey float64
	for y := 1; y < h-1; y += 2 {
		up, mid, down := luma[(y-1)*w:y*w], luma[y*w:(y+1)*w], luma[(y+1)*w:(y+2)*w]
		var rx, ry int64
		for x := 1; x < w-1; x++ {
			dx := int64(mid[x-1]) + int64(mid[x+1]) - 2*int64(mid[x])
			dy := int64(up[x]) + int64(down[x]) - 2*int64(mid[x])
			rx += dx * dx
			ry += dy * dy
		}
		ex, ey = ex+float64(rx), ey+float64(ry)
	}
	return math.Log10((ex + 1) / (ey + 1))
}
