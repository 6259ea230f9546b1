package quality

import (
	"math"
	"slices"
)

// Metric keys in Verdict.Metrics. They are stored with every verdict and read
// by analytics, so they never change meaning; add new keys instead.
const (
	MetricWidth        = "width"         // decoded width, px
	MetricHeight       = "height"        // decoded height, px
	MetricLaplacianVar = "laplacian_var" // variance of the 4-neighbour Laplacian of working luma (0–255), flat white left out (q3)
	MetricClipLow      = "clip_low"      // fraction of working luma ≤ clipLowLevel
	MetricClipHigh     = "clip_high"     // fraction of working luma ≥ clipHighLevel
	MetricMeanLuma     = "mean_luma"     // mean working luma, 0–1
	MetricLumaStd      = "luma_std"      // standard deviation of working luma, 0–255
	MetricEntropy      = "entropy"       // Shannon entropy of the 256-bin luma histogram, bits
	MetricBytes        = "bytes"         // size of the encoded image

	MetricNoiseSigma      = "noise_sigma"      // Immerkær σ̂ of full-size luma, levels
	MetricBlockiness      = "blockiness"       // JPEG only: B/A across 8×8 boundaries of the Y plane, ≈ 1 clean
	MetricColourfulness   = "colourfulness"    // Hasler–Süsstrunk M of the colour thumbnail
	MetricPaletteCoverage = "palette_coverage" // with a reference: mean ΔE76 of the image's pixels to the nearest reference colour
	MetricPaletteUse      = "palette_use"      // with a reference: weighted ΔE76 of each reference colour to the image's palette
	MetricPaletteDistance = "palette_distance" // with a reference: mean of coverage and use
	MetricLumaLow         = "luma_p0_5"        // 0.5th percentile of working luma, levels
	MetricLumaHigh        = "luma_p99_5"       // 99.5th percentile of working luma, levels
	MetricLumaFloor       = "luma_p0_1"        // 0.1th percentile of working luma, levels (a dark accent: washed_out)
	MetricSurroundClipped = "surround_clipped" // share of the frame's outer ring clipped to white (a product shot's surround ≈ 1)
	MetricLumaSpan        = "luma_span"        // luma_p99_5 − luma_p0_5, levels
	MetricTiledness       = "tiledness"        // smallest self-difference at a quarter to half-frame shift over the median (a repeated tile ≈ 0)
	MetricEdgeSteepness   = "edge_steepness"   // steepest 1-px step over an 8-px edge's contrast, sharpest tiles, native size (absent: no strong edge)
	MetricRelativeDetail  = "relative_detail"  // with a reference image: log10 of (Laplacian variance / luma variance) over the reference's (blurred: low)
	MetricLumaGaps        = "luma_gaps"        // with a reference image: share of nearly empty levels in the luma range, less the reference's (posterised: high)
	MetricGrainTurn       = "grain_turn"       // with a reference image: |log10 horizontal/vertical fine-detail energy − the reference's| (motion blur: high)
	MetricExposureShift   = "exposure_shift"   // with a reference image: log2 of the linear-light mean over the reference's, EV
	MetricColourCast      = "colour_cast"      // with a reference image: log-chromaticity distance from grey of what the reference's grey became (same composition), else, where the reference's greys are grey, of the greys from the reference's
	MetricLayoutGain      = "layout_gain"      // keeping the reference's composition: gain of the cells' luma map from the reference's (compressed range: low)
	MetricLayoutLift      = "layout_lift"      // keeping the reference's composition: what the reference's black maps to, levels (lifted blacks: high)
	MetricLayoutChroma    = "layout_chroma"    // keeping the reference's composition: factor of the cells' colour from the reference's (1 kept, < 0 turned to other hues)
	MetricLayoutStops     = "layout_stops"     // keeping the reference's composition: what the reference's mean grey became, EV
	MetricLayoutResidual  = "layout_residual"  // with a reference image's layout: RMS error, 8-bit levels, of the region-by-region colour fit (≤ 4: the composition is kept)
	MetricBanding         = "banding"          // share of the full-size contour steps between flat plateaus (posterised: high)
	MetricFlatRegion      = "flat_region"      // share of the frame in the commonest flat mid-tone colour (unfinished: high)
	MetricEdgeBalance     = "edge_balance"     // the softer direction's edge_steepness over the sharper's (motion blur: low)
	MetricNSSDistance     = "nss_distance"     // NIQE distance of the working plane's textured patches from the clean calibration images' natural-scene statistics (absent: under 4 textured patches)
)

// Clipping levels on 8-bit luma: a few levels inside the range so that JPEG
// ringing around pure black/white still counts as clipped.
const (
	clipLowLevel  = 5
	clipHighLevel = 250
)

// lumaStats are the histogram statistics of a luma plane.
type lumaStats struct {
	mean, std         float64 // 0–255
	clipLow, clipHigh float64 // fractions
	entropy           float64 // bits
	low, high         float64 // the 0.5th and 99.5th percentiles, levels
	floor             float64 // the 0.1th percentile, levels
	midMean           float64 // mean of the unclipped pixels, 0–255 (mean when all are clipped)
	linMean           float64 // mean in linear light, 0–1 (luma decoded as sRGB)
	gaps              float64 // share of the levels within p0.5–p99.5 nearly empty
}

// histogramStats reads the plane once into a 256-bin histogram and derives
// everything else from the histogram.
func histogramStats(luma []uint8) lumaStats {
	var hist [256]uint32
	for _, v := range luma {
		hist[v]++
	}
	n := float64(len(luma))
	var sum, sumSq float64
	var low, high uint32
	var entropy float64
	for v, c := range hist {
		if c == 0 {
			continue
		}
		f := float64(c)
		sum += f * float64(v)
		sumSq += f * float64(v) * float64(v)
		if v <= clipLowLevel {
			low += c
		}
		if v >= clipHighLevel {
			high += c
		}
		p := f / n
		entropy -= p * math.Log2(p)
	}
	mean := sum / n
	// Percentiles and the unclipped mean from the same histogram.
	pct := func(q float64) float64 {
		target, seen := q*n, 0.0
		for v, c := range hist {
			seen += float64(c)
			if seen >= target {
				return float64(v)
			}
		}
		return 255
	}
	midMean := mean
	if mid := n - float64(low) - float64(high); mid > 0 {
		var midSum float64
		for v := clipLowLevel + 1; v < clipHighLevel; v++ {
			midSum += float64(hist[v]) * float64(v)
		}
		midMean = midSum / mid
	}
	var lin float64
	for v, c := range hist {
		lin += float64(c) * srgbLinear[v]
	}
	// Gaps: the share of the levels between p0.5 and p99.5 holding under a
	// tenth of the mean count (posterised tones leave combs).
	lo, hi := int(pct(0.005)), int(pct(0.995))
	gaps := 0.0
	if hi > lo {
		var inside uint32
		for v := lo; v <= hi; v++ {
			inside += hist[v]
		}
		thin := 0.1 * float64(inside) / float64(hi-lo+1)
		empty := 0
		for v := lo; v <= hi; v++ {
			if float64(hist[v]) < thin {
				empty++
			}
		}
		gaps = float64(empty) / float64(hi-lo+1)
	}
	return lumaStats{
		gaps:     gaps,
		linMean:  lin / n,
		low:      pct(0.005),
		floor:    pct(0.001),
		high:     pct(0.995),
		midMean:  midMean,
		mean:     mean,
		std:      math.Sqrt(max(0, sumSq/n-mean*mean)),
		clipLow:  float64(low) / n,
		clipHigh: float64(high) / n,
		entropy:  max(0, entropy), // -0 for a single bin
	}
}

// laplacianVar is Var(I ∗ [[0,1,0],[1,−4,1],[0,1,0]]) over the interior
// pixels (cv2.Laplacian with ksize 1, Pech-Pacheco et al. 2000), in one pass
// with integer sums, leaving out flat white pixels (clipped, Laplacian 0):
// a product shot's studio surround says nothing about the subject's
// sharpness and would dilute it. Planes thinner than 3 px, or all flat
// white, have no interior: 0.
func laplacianVar(luma []uint8, w, h int) float64 {
	if w < 3 || h < 3 {
		return 0
	}
	var sum, sumSq, n int64
	for y := 1; y < h-1; y++ {
		up, mid, down := luma[(y-1)*w:y*w], luma[y*w:(y+1)*w], luma[(y+1)*w:(y+2)*w]
		up, down = up[:len(mid)], down[:len(mid)]
		// One row's sums fit 32 bits (|l| ≤ 1020, l² ≤ 1 040 400, so up to
		// 4 128 columns for the unsigned square sum; the plane is at most
		// WorkingSide wide), and 32-bit adds are the cheaper inner loop.
		var rowSum int32
		var rowSq uint32
		var skipped int64
		for x := 1; x < len(mid)-1; x++ {
			l := int32(up[x]) + int32(down[x]) + int32(mid[x-1]) + int32(mid[x+1]) - 4*int32(mid[x])
			if l == 0 && mid[x] >= clipHighLevel {
				skipped++
				continue
			}
			rowSum += l
			rowSq += uint32(l * l)
		}
		sum += int64(rowSum)
		sumSq += int64(rowSq)
		n += int64(w-2) - skipped
	}
	if n == 0 {
		return 0
	}
	mean := float64(sum) / float64(n)
	return max(0, float64(sumSq)/float64(n)-mean*mean)
}

// noiseAcc streams Immerkær's fast noise estimate (CVIU 1996) over the rows
// of a luma plane: σ̂ = √(π/2)/(6·n) · Σ|I ∗ N| over n interior pixels, with
// N = [1,−2,1]ᵀ·[1,−2,1]. N is separable, so it runs as a horizontal second
// difference kept for three rows and a vertical second difference of those,
// in integers. It is fed the full-size rows while the working plane is
// built: a downscale averages noise away (÷2 per halving) and makes texture
// look like noise. Only one band of noiseBand rows in every noiseEvery
// bands is read: a quarter of a megapixel is plenty for a mean of absolute
// values over the whole height, at a quarter of the cost.
type noiseAcc struct {
	rows    [3][]int32
	w       int   // row width
	y       int   // rows offered
	run     int   // consecutive rows taken in the current band
	sum     int64 // Σ|I ∗ N|
	outputs int   // rows of I ∗ N summed
}

const (
	noiseBand  = 8
	noiseEvery = 4
)

func (a *noiseAcc) reset(w int) {
	a.w, a.y, a.run, a.sum, a.outputs = w, 0, 0, 0, 0
	for i := range a.rows {
		a.rows[i] = grow(a.rows[i], w)
	}
}

func (a *noiseAcc) row(r []uint8) {
	y := a.y
	a.y++
	w := a.w
	if w < 3 {
		return
	}
	if (y/noiseBand)%noiseEvery != 0 {
		a.run = 0
		return
	}
	c := a.rows[y%3]
	for x := 1; x < w-1; x++ {
		c[x] = int32(r[x-1]) - 2*int32(r[x]) + int32(r[x+1])
	}
	a.run++
	if a.run < 3 {
		return
	}
	p, q := a.rows[(y-2)%3], a.rows[(y-1)%3]
	var s int64
	for x := 1; x < w-1; x++ {
		v := p[x] - 2*q[x] + c[x]
		if v < 0 {
			v = -v
		}
		s += int64(v)
	}
	a.sum += s
	a.outputs++
}

// sigma is the estimate over the rows seen; planes thinner than 3 px: 0.
func (a *noiseAcc) sigma() float64 {
	if a.w < 3 || a.outputs == 0 {
		return 0
	}
	return math.Sqrt(math.Pi/2) * float64(a.sum) / (6 * float64(a.w-2) * float64(a.outputs))
}

// blockiness is the Wang–Sheikh–Bovik ratio of a full-resolution luma plane
// (a JPEG's Y plane, where the 8×8 grid is): B, the mean absolute
// difference across block boundaries, over A, the mean within blocks,
// averaged over the horizontal and vertical directions, with half a level
// added to both means so that flat areas read 1 and a heavily compressed
// image, whose blocks are flat inside, reads far above 1. ≈ 1 without
// blocking. Planes under 16 px a side: 1 (nothing to measure).
//
// A is sampled, not summed over every pixel: within-block differences at
// offsets 1, 3 and 5 of each block (the boundary is at 7), and B and A both
// on every fourth row (horizontal) or column (vertical). That reads an
// eighth of the differences, unbiased, and keeps the check at a fraction of
// a pass; a megapixel still gives ~30 000 boundary differences.
func blockiness(y []uint8, stride, w, h int) float64 {
	if w < 16 || h < 16 {
		return 1
	}
	abs := func(d int32) int64 { m := d >> 31; return int64((d ^ m) - m) } // branch-free: the signs are random
	var bh, ah, nbh, nah int64
	blocks := (w - 1) / 8 // blocks with a right-hand boundary inside the row
	for r := 0; r < h; r += 4 {
		row := y[r*stride : r*stride+w]
		for bx := 0; bx < blocks; bx++ {
			p := row[8*bx : 8*bx+9 : 8*bx+9]
			ah += abs(int32(p[2])-int32(p[1])) + abs(int32(p[4])-int32(p[3])) + abs(int32(p[6])-int32(p[5]))
			bh += abs(int32(p[8]) - int32(p[7]))
		}
		nah += 3 * int64(blocks)
		nbh += int64(blocks)
	}
	var bv, av, nbv, nav int64
	for r := 0; r+1 < h; r++ {
		switch r % 8 {
		case 1, 3, 5:
			up, down := y[r*stride:r*stride+w], y[(r+1)*stride:(r+1)*stride+w]
			for x := 0; x < w; x += 4 {
				av += abs(int32(down[x]) - int32(up[x]))
			}
			nav += int64((w + 3) / 4)
		case 7:
			up, down := y[r*stride:r*stride+w], y[(r+1)*stride:(r+1)*stride+w]
			for x := 0; x < w; x += 4 {
				bv += abs(int32(down[x]) - int32(up[x]))
			}
			nbv += int64((w + 3) / 4)
		}
	}
	ratio := func(b, nb, a, na int64) float64 {
		return (float64(b)/float64(nb) + 0.5) / (float64(a)/float64(na) + 0.5)
	}
	return (ratio(bh, nbh, ah, nah) + ratio(bv, nbv, av, nav)) / 2
}

// dHash is Krawetz's 64-bit difference hash of a luma plane: box-shrink to
// 9×8, then one bit per pair of horizontal neighbours, set when the left one
// is darker. Near-identical images differ in a few bits.
func dHash(luma []uint8, w, h int) uint64 {
	const hw, hh = 9, 8
	var sums [hh][hw]uint32
	var counts [hh][hw]uint32
	// Column ranges of the 9 cells, so the inner loop only adds.
	var colEnd [hw]int
	for cx := range hw {
		colEnd[cx] = (cx + 1) * w / hw
	}
	for y := range h {
		cy := y * hh / h
		row := luma[y*w : (y+1)*w]
		x := 0
		for cx := range hw {
			var s uint32
			for _, v := range row[x:colEnd[cx]] {
				s += uint32(v)
			}
			sums[cy][cx] += s
			counts[cy][cx] += uint32(colEnd[cx] - x)
			x = colEnd[cx]
		}
	}
	var hash uint64
	for y := range hh {
		for x := range hw - 1 {
			// Compare means without dividing: a/na < b/nb ⇔ a·nb < b·na.
			l := uint64(sums[y][x]) * uint64(max(1, counts[y][x+1]))
			r := uint64(sums[y][x+1]) * uint64(max(1, counts[y][x]))
			hash <<= 1
			if l < r {
				hash |= 1
			}
		}
	}
	return hash
}

// surroundClipped is the share of the outer ring of the plane (the outermost
// twentieth on each side) at or above clipHighLevel: ≈ 1 for a subject on a
// white studio surround, whatever the subject's size.
func surroundClipped(luma []uint8, w, h int) float64 {
	bw, bh := max(1, w/20), max(1, h/20)
	var n, clipped int
	for y := range h {
		row := luma[y*w : (y+1)*w]
		if y >= bh && y < h-bh {
			// Inside rows: only the left and right bands.
			for _, v := range row[:bw] {
				if v >= clipHighLevel {
					clipped++
				}
			}
			for _, v := range row[w-bw:] {
				if v >= clipHighLevel {
					clipped++
				}
			}
			n += 2 * bw
			continue
		}
		for _, v := range row {
			if v >= clipHighLevel {
				clipped++
			}
		}
		n += w
	}
	if n == 0 {
		return 0
	}
	return float64(clipped) / float64(n)
}

// dHashV is dHash turned a quarter: box-shrink to 8×9, one bit per pair of
// vertical neighbours, set when the upper one is darker. Scenes that are
// nearly uniform along their rows (a horizon, vertical stripes) leave the
// horizontal hash's bits to chance; the pair of hashes tells them apart.
func dHashV(luma []uint8, w, h int) uint64 {
	const hw, hh = 8, 9
	var sums [hh][hw]uint64
	var counts [hh][hw]uint64
	for y := range h {
		cy := y * hh / h
		row := luma[y*w : (y+1)*w]
		for x, v := range row {
			cx := x * hw / w
			sums[cy][cx] += uint64(v)
			counts[cy][cx]++
		}
	}
	var hash uint64
	for y := range hh - 1 {
		for x := range hw {
			u := sums[y][x] * max(1, counts[y+1][x])
			d := sums[y+1][x] * max(1, counts[y][x])
			hash <<= 1
			if u < d {
				hash |= 1
			}
		}
	}
	return hash
}

// tiledness is how exactly the frame repeats itself: on a box-shrunk copy
// of the plane (tileSide px on its long side), the smallest mean absolute difference
// between the plane and itself shifted by a quarter to a half of its width
// (height), over the median at those shifts; the smaller of the horizontal
// and vertical ratios. A 2×2 repeat of one picture reads ≈ 0 (0.004 at
// most on the calibration set), a real scene 0.06 and up, even with
// stripes. Planes under 16 px a side, or without texture: 1.
func tiledness(luma []uint8, w, h int, s *scratch) float64 {
	bs := newBoxScaler(w, h, tileSide)
	tw, th := bs.dw, bs.dh
	if tw < 16 || th < 16 {
		return 1
	}
	s.tile = grow(s.tile, tw*th)
	s.tileSums = grow(s.tileSums, tw*th)
	small, sums := s.tile, s.tileSums
	clear(sums)
	for y := range h {
		dy := bs.row(y)
		for x, v := range luma[y*w : (y+1)*w] {
			sums[dy*tw+int(bs.xmap[x])] += uint32(v)
		}
	}
	for i := range small {
		small[i] = uint8(sums[i] / (bs.colN[i%tw] * bs.rowN[i/tw]))
	}
	ratio := func(n int, mad func(k int) float64) float64 {
		var ds []float64
		for k := n / 4; k <= n/2; k++ {
			ds = append(ds, mad(k))
		}
		slices.Sort(ds)
		if med := ds[len(ds)/2]; med >= 1 {
			return ds[0] / med
		}
		return 1
	}
	abs := func(a, b uint8) int {
		if a > b {
			return int(a - b)
		}
		return int(b - a)
	}
	horizontal := ratio(tw, func(k int) float64 {
		var sum int
		for y := range th {
			row := small[y*tw : (y+1)*tw]
			for x := 0; x+k < tw; x++ {
				sum += abs(row[x], row[x+k])
			}
		}
		return float64(sum) / float64(th*(tw-k))
	})
	vertical := ratio(th, func(k int) float64 {
		var sum int
		for y := 0; y+k < th; y++ {
			a, b := small[y*tw:(y+1)*tw], small[(y+k)*tw:(y+k+1)*tw]
			for x := range tw {
				sum += abs(a[x], b[x])
			}
		}
		return float64(sum) / float64(tw*(th-k))
	})
	// Either direction: a side that is not a whole number of plane
	// pixels per tile blurs its own match.
	return min(horizontal, vertical)
}

const tileSide = 128
