package quality

import "math"

// Metric keys in Verdict.Metrics. They are stored with every verdict and read
// by analytics, so they never change meaning; add new keys instead.
const (
	MetricWidth        = "width"         // decoded width, px
	MetricHeight       = "height"        // decoded height, px
	MetricLaplacianVar = "laplacian_var" // variance of the 4-neighbour Laplacian of working luma (0–255)
	MetricClipLow      = "clip_low"      // fraction of working luma ≤ clipLowLevel
	MetricClipHigh     = "clip_high"     // fraction of working luma ≥ clipHighLevel
	MetricMeanLuma     = "mean_luma"     // mean working luma, 0–1
	MetricLumaStd      = "luma_std"      // standard deviation of working luma, 0–255
	MetricEntropy      = "entropy"       // Shannon entropy of the 256-bin luma histogram, bits
	MetricBytes        = "bytes"         // size of the encoded image
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
	return lumaStats{
		mean:     mean,
		std:      math.Sqrt(max(0, sumSq/n-mean*mean)),
		clipLow:  float64(low) / n,
		clipHigh: float64(high) / n,
		entropy:  max(0, entropy), // -0 for a single bin
	}
}

// laplacianVar is Var(I ∗ [[0,1,0],[1,−4,1],[0,1,0]]) over the interior
// pixels (cv2.Laplacian with ksize 1, Pech-Pacheco et al. 2000), in one pass
// with integer sums. Planes thinner than 3 px have no interior: 0.
func laplacianVar(luma []uint8, w, h int) float64 {
	if w < 3 || h < 3 {
		return 0
	}
	var sum, sumSq int64
	for y := 1; y < h-1; y++ {
		up, mid, down := luma[(y-1)*w:y*w], luma[y*w:(y+1)*w], luma[(y+1)*w:(y+2)*w]
		for x := 1; x < w-1; x++ {
			l := int64(up[x]) + int64(down[x]) + int64(mid[x-1]) + int64(mid[x+1]) - 4*int64(mid[x])
			sum += l
			sumSq += l * l
		}
	}
	n := float64((w - 2) * (h - 2))
	mean := float64(sum) / n
	return max(0, float64(sumSq)/n-mean*mean)
}
