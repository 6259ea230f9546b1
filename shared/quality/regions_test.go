package quality

import (
	"context"
	"image"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// fillRight paints the right part of img from column x0 on with its mean
// colour: an unfinished canvas.
func fillRight(img *image.NRGBA, share float64) *image.NRGBA {
	out := image.NewNRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	var sum [3]float64
	n := float64(img.Rect.Dx() * img.Rect.Dy())
	for i := 0; i < len(img.Pix); i += 4 {
		for c := range 3 {
			sum[c] += float64(img.Pix[i+c])
		}
	}
	x0 := int(float64(img.Rect.Dx()) * (1 - share))
	for y := range img.Rect.Dy() {
		for x := x0; x < img.Rect.Dx(); x++ {
			p := out.Pix[y*out.Stride+4*x:]
			for c := range 3 {
				p[c] = clamp8(sum[c] / n)
			}
		}
	}
	return out
}

// posterised maps every channel to levels evenly spaced values.
func posterised(img *image.NRGBA, levels int) *image.NRGBA {
	step := 255 / float64(levels-1)
	return mapRGB(img, func(v float64) float64 { return math.Round(v/step) * step })
}

func verdictOf(t *testing.T, data []byte) generation.Verdict {
	t.Helper()
	v, err := New(0).Validate(context.Background(), data, generation.ValidationSpec{})
	require.NoError(t, err)
	return v
}

func TestUnfinishedHalfFrame(t *testing.T) {
	img := photoLike(512, 384, 7)
	clean := verdictOf(t, encodePNG(t, img))
	require.NotContains(t, clean.Reasons, ReasonUnfinished)
	require.Less(t, clean.Metrics[MetricFlatRegion], unfinishedClean)

	half := verdictOf(t, encodePNG(t, fillRight(img, 0.5)))
	require.Contains(t, half.Reasons, ReasonUnfinished, "metrics %v", half.Metrics)
	require.False(t, half.Passed)
	require.InDelta(t, 0.5, half.Metrics[MetricFlatRegion], 0.05)

	// A product shot's white surround and a flat grey backdrop around the
	// subject are backdrops, not fills.
	product := verdictOf(t, encodePNG(t, onWhite(img)))
	require.NotContains(t, product.Reasons, ReasonUnfinished)
	grey := verdictOf(t, encodePNG(t, mapRGB(onWhite(img), func(v float64) float64 { return v * 0.6 })))
	require.NotContains(t, grey.Reasons, ReasonUnfinished, "metrics %v", grey.Metrics)
}

func TestBandingPosterised(t *testing.T) {
	// A smooth radial gradient, as a lit backdrop a generator draws (no
	// grain: grain dithers a contour into a band of flips, which this
	// measure does not see): posterised, its contours are curves.
	img := image.NewNRGBA(image.Rect(0, 0, 512, 384))
	for y := range 384 {
		for x := range 512 {
			d := math.Hypot(float64(x)-150, float64(y)-120)
			p := img.Pix[y*img.Stride+4*x:]
			p[0], p[1], p[2], p[3] = clamp8(230-0.45*d), clamp8(200-0.35*d), clamp8(120+0.2*d), 255
		}
	}
	clean := verdictOf(t, encodePNG(t, img))
	require.NotContains(t, clean.Reasons, ReasonBanding, "metrics %v", clean.Metrics)
	require.Less(t, clean.Metrics[MetricBanding], bandClean)

	banded := verdictOf(t, encodePNG(t, posterised(img, 6)))
	require.Contains(t, banded.Reasons, ReasonBanding, "metrics %v", banded.Metrics)
	require.False(t, banded.Passed)

	// 32 levels a channel: steps under bandStepMin, a mild level that passes.
	mild := verdictOf(t, encodePNG(t, posterised(img, 32)))
	require.NotContains(t, mild.Reasons, ReasonBanding, "metrics %v", mild.Metrics)
}
