package procedural

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
)

// applyDefect damages a rendered image in place. Duplicate is not applied
// here: it changes what is rendered, not the pixels afterwards.
func applyDefect(img *image.RGBA, d Defect, rng *rand.Rand, pal palette) {
	switch d {
	case Underexposed:
		underexpose(img)
	case Overexposed:
		overexpose(img)
	case Blurry:
		// Three box passes approximate a Gaussian with σ² = (w²−1)/4: σ ≈ 5.5 px
		// for radius 5 at 512 px, scaled with the image so a validator that
		// works on a downscale still sees it.
		r := max(5, 5*max(img.Rect.Dx(), img.Rect.Dy())/512)
		for range 3 {
			boxBlur(img, r)
		}
	case Blank:
		blank(img, pal.cols[0], rng)
	case Noisy:
		addNoise(img, 40, rng)
	}
}

// underexpose applies gamma 3 and then scales so mean luma is at most 0.08.
func underexpose(img *image.RGBA) {
	var hist [3][256]int
	histograms(img, &hist)
	var curve [256]float64
	for v := range curve {
		curve[v] = 255 * math.Pow(float64(v)/255, 3)
	}
	m := meanLuma(&hist, img.Rect.Dx()*img.Rect.Dy(), curve)
	k := 1.0
	if m > 0.08 {
		k = 0.08 / m
	}
	var lut [256]uint8
	for v := range lut {
		lut[v] = uint8(math.Round(curve[v] * k))
	}
	applyLUT(img, &lut)
}

// overexpose applies gain and offset so that the 30th percentile of each
// pixel's darkest channel maps to white: at least 70 % of pixels clip to
// (255, 255, 255).
func overexpose(img *image.RGBA) {
	var hist [256]int
	n := 0
	for y := range img.Rect.Dy() {
		row := img.Pix[y*img.Stride : y*img.Stride+4*img.Rect.Dx()]
		for x := 0; x < len(row); x += 4 {
			hist[min(row[x], row[x+1], row[x+2])]++
			n++
		}
	}
	p30, seen := 0, 0
	for v, k := range hist {
		seen += k
		if seen*10 >= n*3 {
			p30 = v
			break
		}
	}
	const offset = 90
	gain := max(float64(255-offset)/float64(max(p30, 1)), 1.5)
	var lut [256]uint8
	for v := range lut {
		lut[v] = uint8(min(math.Round(float64(v)*gain+offset), 255))
	}
	applyLUT(img, &lut)
}

// boxBlur blurs R, G and B with a (2r+1)-wide box, rows then columns, with
// edge pixels repeated. Running sums make it O(pixels) whatever r is, and
// the column pass walks rows (one running sum per column) to stay in cache.
func boxBlur(img *image.RGBA, r int) {
	w, h, stride := img.Rect.Dx(), img.Rect.Dy(), img.Stride
	div := int32(2*r + 1)
	// Dividing by div is a multiply and shift: the divisions dominated.
	inv := uint64(1<<32)/uint64(div) + 1
	avg := func(sum int32) uint8 { return uint8((uint64(sum+div/2) * inv) >> 32) }

	pad := make([]int32, 3*(w+2*r))
	for y := range h {
		row := img.Pix[y*stride : y*stride+4*w]
		for i := range w + 2*r {
			x := 4 * min(max(i-r, 0), w-1)
			pad[3*i], pad[3*i+1], pad[3*i+2] = int32(row[x]), int32(row[x+1]), int32(row[x+2])
		}
		var s0, s1, s2 int32
		for i := range int(div) {
			s0, s1, s2 = s0+pad[3*i], s1+pad[3*i+1], s2+pad[3*i+2]
		}
		for x := range w {
			row[4*x], row[4*x+1], row[4*x+2] = avg(s0), avg(s1), avg(s2)
			if in := 3 * (x + int(div)); in < len(pad) {
				out := 3 * x
				s0 += pad[in] - pad[out]
				s1 += pad[in+1] - pad[out+1]
				s2 += pad[in+2] - pad[out+2]
			}
		}
	}

	src := slices.Clone(img.Pix)
	rowAt := func(y int) []uint8 {
		y = min(max(y, 0), h-1)
		return src[y*stride : y*stride+4*w]
	}
	sums := make([]int32, 4*w)
	for k := -r; k <= r; k++ {
		for i, v := range rowAt(k) {
			sums[i] += int32(v)
		}
	}
	for y := range h {
		out := img.Pix[y*stride : y*stride+4*w]
		for i := range out {
			out[i] = avg(sums[i]) // alpha sums to 255·div, so it stays 255
		}
		add, sub := rowAt(y+r+1), rowAt(y-r)
		for i := range sums {
			sums[i] += int32(add[i]) - int32(sub[i])
		}
	}
}

// blank replaces the image with one flat colour and ±1 level of jitter,
// like a placeholder a provider returns instead of a picture.
func blank(img *image.RGBA, col rgb, rng *rand.Rand) {
	for y := range img.Rect.Dy() {
		row := img.Pix[y*img.Stride : y*img.Stride+4*img.Rect.Dx()]
		for x := 0; x < len(row); x += 4 {
			j := float32(rng.IntN(3) - 1)
			row[x] = quant(col[0] + j)
			row[x+1] = quant(col[1] + j)
			row[x+2] = quant(col[2] + j)
		}
	}
}

// addNoise adds independent Gaussian noise of sigma levels to every channel.
func addNoise(img *image.RGBA, sigma float32, rng *rand.Rand) {
	for y := range img.Rect.Dy() {
		row := img.Pix[y*img.Stride : y*img.Stride+4*img.Rect.Dx()]
		for x := 0; x < len(row); x += 4 {
			for ch := range 3 {
				row[x+ch] = quant(float32(row[x+ch]) + sigma*float32(rng.NormFloat64()))
			}
		}
	}
}
