package quality

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// inLinear applies per-channel gains in linear light (an exposure change
// when all three are equal, a colour cast otherwise).
func inLinear(img *image.NRGBA, r, g, b float64) *image.NRGBA {
	out := image.NewNRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	gains := [3]float64{r, g, b}
	for i := 0; i < len(out.Pix); i += 4 {
		for c := range 3 {
			out.Pix[i+c] = linearToSRGB(srgbLinear[out.Pix[i+c]] * gains[c])
		}
	}
	return out
}

func judgeAgainst(t *testing.T, img image.Image, ref generation.ReferenceFeatures) generation.Verdict {
	t.Helper()
	v, err := New(0).Validate(context.Background(), encodePNG(t, img), generation.ValidationSpec{Reference: ref})
	require.NoError(t, err)
	return v
}

func TestInspectMeasuresTheReferenceTone(t *testing.T) {
	img := photoLike(512, 384, 3)
	features, _, err := Inspect(encodePNG(t, img))
	require.NoError(t, err)
	require.NotNil(t, features.Tone)
	tone := features.Tone
	var code float64 // the mean luma code, 0–1
	for i := 0; i < len(img.Pix); i += 4 {
		code += (0.299*float64(img.Pix[i]) + 0.587*float64(img.Pix[i+1]) + 0.114*float64(img.Pix[i+2])) / 255
	}
	code /= float64(len(img.Pix) / 4)
	require.Greater(t, code, 0.2)
	require.Greater(t, tone.MeanLinear, 0.0)
	require.Less(t, tone.MeanLinear, code, "linear light is darker than its sRGB code")
	require.GreaterOrEqual(t, tone.ClipHigh, 0.0)
	require.Less(t, tone.ClipHigh, 0.05, "a photograph-like frame with highlights but little white")

	// Stored as JSON with the generation; older rows have no tone.
	raw, err := json.Marshal(features)
	require.NoError(t, err)
	var back generation.ReferenceFeatures
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, features, back)
	var old generation.ReferenceFeatures
	require.NoError(t, json.Unmarshal([]byte(`{"width":1,"height":1,"format":"png","palette":[]}`), &old))
	require.Nil(t, old.Tone)
	// Rows stored at q3.1 also carry fields no check reads any more.
	var q31 generation.ReferenceFeatures
	require.NoError(t, json.Unmarshal([]byte(`{"palette":[],"tone":{"lumaLow":3,"lumaHigh":250,"meanLuma":0.5,"clipLow":0,"meanLinear":0.2}}`), &q31))
	require.Equal(t, 0.2, q31.Tone.MeanLinear)
}

func TestJudgedAgainstTheReferenceTone(t *testing.T) {
	img := photoLike(512, 384, 5)
	ref, _, err := Inspect(encodePNG(t, img))
	require.NoError(t, err)

	same := judgeAgainst(t, img, ref)
	require.True(t, same.Passed, "reasons %v metrics %v", same.Reasons, same.Metrics)
	require.InDelta(t, 0, same.Metrics[MetricExposureShift], 1e-9)
	require.InDelta(t, 0, same.Metrics[MetricColourCast], 1e-9)

	dark := judgeAgainst(t, inLinear(img, 1.0/8, 1.0/8, 1.0/8), ref)
	require.Contains(t, dark.Reasons, ReasonUnderexposed)
	require.InDelta(t, -3, dark.Metrics[MetricExposureShift], 0.3)
	mildDark := judgeAgainst(t, inLinear(img, 0.7, 0.7, 0.7), ref)
	require.NotContains(t, mildDark.Reasons, ReasonUnderexposed, "half a stop is a choice of light")

	bright := judgeAgainst(t, inLinear(img, 5.7, 5.7, 5.7), ref)
	require.Contains(t, bright.Reasons, ReasonOverexposed)

	// A muted scene (a grey coat on a grey street) warmed is cast; so is
	// a colourful one that keeps the reference's composition
	// (TestACastIsJudgedRegionByRegion).
	muted := desaturated(img, 0.8)
	mutedRef, _, err := Inspect(encodePNG(t, muted))
	require.NoError(t, err)
	warm := judgeAgainst(t, inLinear(muted, 1.25, 1, 0.75), mutedRef)
	require.Contains(t, warm.Reasons, ReasonColourCast, "metrics %v", warm.Metrics)
	slightlyWarm := judgeAgainst(t, inLinear(muted, 1.05, 1, 0.95), mutedRef)
	require.NotContains(t, slightlyWarm.Reasons, ReasonColourCast, "metrics %v", slightlyWarm.Metrics)

	washed := judgeAgainst(t, mapRGB(img, func(v float64) float64 { return 100 + 0.55*v }), ref)
	require.Contains(t, washed.Reasons, ReasonWashedOut, "metrics %v", washed.Metrics)
}

func TestAHighKeyReferenceMakesWhiteExpected(t *testing.T) {
	// A product shot on white as the reference: another product shot on
	// white is right, however much of it is clipped.
	shot := onWhite(photoLike(512, 512, 9))
	ref, _, err := Inspect(encodePNG(t, shot))
	require.NoError(t, err)
	require.Greater(t, ref.Tone.ClipHigh, 0.3)
	other := onWhite(photoLike(512, 512, 10))
	v := judgeAgainst(t, other, ref)
	require.NotContains(t, v.Reasons, ReasonOverexposed, "metrics %v", v.Metrics)

	// Against a dark, low-key reference, a dark picture is right too.
	lowKey := mapRGB(photoLike(512, 384, 11), func(v float64) float64 { return 255 * math.Pow(v/255, 2.2) })
	lowRef, _, err := Inspect(encodePNG(t, lowKey))
	require.NoError(t, err)
	dim := judgeAgainst(t, mapRGB(photoLike(512, 384, 12), func(v float64) float64 { return 255 * math.Pow(v/255, 2.2) }), lowRef)
	require.NotContains(t, dim.Reasons, ReasonUnderexposed, "metrics %v", dim.Metrics)
}

// desaturated moves every pixel share of the way to its own grey.
func desaturated(img *image.NRGBA, share float64) *image.NRGBA {
	out := image.NewNRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	for i := 0; i < len(out.Pix); i += 4 {
		y := 0.299*float64(out.Pix[i]) + 0.587*float64(out.Pix[i+1]) + 0.114*float64(out.Pix[i+2])
		for c := range 3 {
			out.Pix[i+c] = clamp8(float64(out.Pix[i+c]) + share*(y-float64(out.Pix[i+c])))
		}
	}
	return out
}

func TestSharpnessAgainstTheReference(t *testing.T) {
	img := photoLike(512, 384, 13)
	ref, _, err := Inspect(encodePNG(t, img))
	require.NoError(t, err)
	require.NotZero(t, ref.Tone.Detail)

	blurred := judgeAgainst(t, gaussianBlur(img, 1.5), ref)
	require.Contains(t, blurred.Reasons, ReasonBlurry, "metrics %v", blurred.Metrics)
	require.Less(t, blurred.Metrics[MetricRelativeDetail], relDetailThreshold)

	// A soft-focus reference makes softness the brief: a picture as soft
	// as it is not blurry, though it would be without the reference.
	soft := gaussianBlur(img, 2.5)
	softRef, _, err := Inspect(encodePNG(t, soft))
	require.NoError(t, err)
	alone, err := New(0).Validate(context.Background(), encodePNG(t, soft), generation.ValidationSpec{})
	require.NoError(t, err)
	require.Contains(t, alone.Reasons, ReasonBlurry)
	against := judgeAgainst(t, soft, softRef)
	require.NotContains(t, against.Reasons, ReasonBlurry, "metrics %v", against.Metrics)
}

func TestMotionBlurAgainstTheReference(t *testing.T) {
	img := photoLike(512, 384, 17)
	ref, _, err := Inspect(encodePNG(t, img))
	require.NoError(t, err)
	smeared := image.NewNRGBA(img.Rect)
	const run = 9 // a horizontal box: the camera moved
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			var sum [3]float64
			n := 0
			for k := max(0, x-run/2); k <= min(img.Rect.Dx()-1, x+run/2); k++ {
				p := img.Pix[y*img.Stride+4*k:]
				for c := range 3 {
					sum[c] += float64(p[c])
				}
				n++
			}
			o := smeared.Pix[y*smeared.Stride+4*x:]
			o[0], o[1], o[2], o[3] = clamp8(sum[0]/float64(n)), clamp8(sum[1]/float64(n)), clamp8(sum[2]/float64(n)), 255
		}
	}
	v := judgeAgainst(t, smeared, ref)
	require.Contains(t, v.Reasons, ReasonBlurry, "metrics %v", v.Metrics)
	require.Greater(t, v.Metrics[MetricGrainTurn], grainThreshold)

	// The same scene again: its detail points the same way.
	same := judgeAgainst(t, img, ref)
	require.InDelta(t, 0, same.Metrics[MetricGrainTurn], 1e-9)
}

func TestPosterisedAgainstTheReference(t *testing.T) {
	img := photoLike(512, 384, 19)
	ref, _, err := Inspect(encodePNG(t, img))
	require.NoError(t, err)
	banded := judgeAgainst(t, posterised(img, 6), ref)
	require.Contains(t, banded.Reasons, ReasonBanding, "metrics %v", banded.Metrics)
	require.Greater(t, banded.Metrics[MetricLumaGaps], gapsThreshold)
	same := judgeAgainst(t, img, ref)
	require.InDelta(t, 0, same.Metrics[MetricLumaGaps], 1e-9)
}

// A light posterisation leaves too few clean contour steps to fail on its
// own; with the comb it leaves in the histogram, against the reference's,
// it is banding. Without a reference the steps alone decide.
func TestLightPosterisationAgainstTheReference(t *testing.T) {
	for _, seed := range []uint64{3, 7, 19} {
		img := photoLike(512, 384, seed)
		ref, _, err := Inspect(encodePNG(t, img))
		require.NoError(t, err)
		light := posterised(img, 28)
		banded := judgeAgainst(t, light, ref)
		require.Contains(t, banded.Reasons, ReasonBanding, "seed %d: metrics %v", seed, banded.Metrics)
		require.Less(t, banded.Metrics[MetricBanding], bandThreshold, "seed %d: the steps alone would fail it", seed)
		require.GreaterOrEqual(t, banded.Metrics[MetricBanding], bandTrace)
		require.Less(t, banded.Metrics[MetricLumaGaps], gapsThreshold, "seed %d: the comb alone would fail it", seed)

		alone := judgeAgainst(t, light, generation.ReferenceFeatures{Palette: ref.Palette})
		require.NotContains(t, alone.Reasons, ReasonBanding, "seed %d: metrics %v", seed, alone.Metrics)
		require.NotContains(t, judgeAgainst(t, img, ref).Reasons, ReasonBanding)
	}
}

// A palette's range leaves out a small accent at either end: a cream
// reference with a dark button is a light palette.
func TestPaletteRangeLeavesOutASmallAccent(t *testing.T) {
	cream := generation.Color{R: 225, G: 215, B: 200}
	dark := generation.Color{R: 40, G: 40, B: 45}
	luma := func(c generation.Color) float64 {
		return (0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)) / 255
	}
	cream.Weight, dark.Weight = 0.93, 0.07
	accent := paletteTone([]generation.Color{cream, dark})
	require.InDelta(t, luma(cream), accent.low, 1e-9)
	require.InDelta(t, luma(cream), accent.high, 1e-9)

	cream.Weight, dark.Weight = 0.8, 0.2
	shadowed := paletteTone([]generation.Color{dark, cream})
	require.InDelta(t, luma(dark), shadowed.low, 1e-9)
	require.InDelta(t, luma(cream), shadowed.high, 1e-9)
	require.False(t, paletteTone(nil).known)
}

// The reference's greys tell its light only when they are grey: cream ones
// are a material's colour, and in a muted scheme (a frame nearly all
// near-neutral) they are its subject, grey only if the subject is. Against
// either, no cast is judged; a grey-on-grey reference is judged (see
// TestJudgedAgainstTheReferenceTone). The references are other scenes: a
// picture that keeps a reference's composition is judged region by region
// (TestACastIsJudgedRegionByRegion).
func TestACastIsJudgedOnlyAgainstGreyGreys(t *testing.T) {
	img, scene := photoLike(512, 384, 11), photoLike(512, 384, 12)
	muted := desaturated(img, 0.8)
	creamRef, _, err := Inspect(encodePNG(t, inLinear(desaturated(scene, 0.8), 1.25, 1, 0.75)))
	require.NoError(t, err)
	require.Greater(t, math.Hypot(creamRef.Tone.Neutral[0], creamRef.Tone.Neutral[1]), neutralGrey)
	againstCream := judgeAgainst(t, muted, creamRef)
	require.NotContains(t, againstCream.Metrics, MetricColourCast, "metrics %v", againstCream.Metrics)

	pink := inLinear(desaturated(scene, 0.9), 1.1, 0.95, 1.05)
	pinkRef, _, err := Inspect(encodePNG(t, pink))
	require.NoError(t, err)
	require.Greater(t, pinkRef.Tone.NeutralShare, neutralMuted)
	require.Greater(t, math.Hypot(pinkRef.Tone.Neutral[0], pinkRef.Tone.Neutral[1]), neutralMutedGrey)
	againstPink := judgeAgainst(t, muted, pinkRef)
	require.NotContains(t, againstPink.Metrics, MetricColourCast, "metrics %v", againstPink.Metrics)
}

// A picture that keeps the reference's composition is judged region by
// region: a warm cast is a cast even where the reference has no grey to
// show it (a cream-toned scene), while a slight cast, a desaturation, a lift
// of the blacks or a change of exposure keep the reference's greys grey.
// Another scene is not compared region by region.
func TestACastIsJudgedRegionByRegion(t *testing.T) {
	cream := inLinear(photoLike(512, 384, 11), 1.2, 1, 0.7)
	ref, _, err := Inspect(encodePNG(t, cream))
	require.NoError(t, err)
	require.Len(t, ref.Tone.Layout, layoutLen)
	require.False(t, greysTellTheLight(ref.Tone), "the greys path would not judge it")

	warm := judgeAgainst(t, inLinear(cream, 1.25, 1, 0.75), ref)
	require.Contains(t, warm.Reasons, ReasonColourCast, "metrics %v", warm.Metrics)
	require.LessOrEqual(t, warm.Metrics[MetricLayoutResidual], layoutSameScene)
	require.InDelta(t, 0.36, warm.Metrics[MetricColourCast], 0.08, "R × 1.25, B × 0.75 moves a grey by 0.36")

	for name, img := range map[string]*image.NRGBA{
		"slightly warm": inLinear(cream, 1.05, 1, 0.95),
		"desaturated":   desaturated(cream, 0.5),
		"washed out":    mapRGB(cream, func(v float64) float64 { return 100 + 0.55*v }),
		"a stop darker": inLinear(cream, 0.5, 0.5, 0.5),
	} {
		v := judgeAgainst(t, img, ref)
		require.NotContains(t, v.Reasons, ReasonColourCast, "%s: metrics %v", name, v.Metrics)
		require.Contains(t, v.Metrics, MetricColourCast, "%s is judged region by region", name)
	}

	other := judgeAgainst(t, inLinear(photoLike(512, 384, 12), 1.2, 1, 0.7), ref)
	require.Greater(t, other.Metrics[MetricLayoutResidual], layoutSameScene, "metrics %v", other.Metrics)
	require.NotContains(t, other.Reasons, ReasonColourCast)
}

// Keeping the reference's composition, exposure and contrast are measured
// region by region: three stops darker is underexposed and a compressed
// range with lifted blacks is washed out even on a reference whose own
// palette would not say so; a hue turned 180° is off the palette; a stop
// darker, a mild lift and a desaturation by half pass.
func TestExposureAndColourRegionByRegion(t *testing.T) {
	img := photoLike(512, 384, 21)
	ref, _, err := Inspect(encodePNG(t, img))
	require.NoError(t, err)

	dark := judgeAgainst(t, inLinear(img, 1.0/8, 1.0/8, 1.0/8), ref)
	require.Contains(t, dark.Reasons, ReasonUnderexposed)
	require.InDelta(t, -3, dark.Metrics[MetricLayoutStops], 0.2)

	washed := judgeAgainst(t, mapRGB(img, func(v float64) float64 { return 100 + 0.55*v }), ref)
	require.Contains(t, washed.Reasons, ReasonWashedOut, "metrics %v", washed.Metrics)
	require.InDelta(t, 0.55, washed.Metrics[MetricLayoutGain], 0.05)
	require.InDelta(t, 100, washed.Metrics[MetricLayoutLift], 8)

	flipped := judgeAgainst(t, withChroma(img, -1), ref) // every hue turned 180°
	require.Contains(t, flipped.Reasons, ReasonOffPalette, "metrics %v", flipped.Metrics)
	require.Less(t, flipped.Metrics[MetricLayoutChroma], 0.0)

	for name, mild := range map[string]*image.NRGBA{
		"a stop darker":  inLinear(img, 0.5, 0.5, 0.5),
		"a mild lift":    mapRGB(img, func(v float64) float64 { return 20 + 0.9*v }),
		"half saturated": desaturated(img, 0.5),
	} {
		v := judgeAgainst(t, mild, ref)
		require.True(t, v.Passed, "%s: reasons %v metrics %v", name, v.Reasons, v.Metrics)
		require.Contains(t, v.Metrics, MetricLayoutStops, "%s is judged region by region", name)
	}
}

// fitLayout: a layout against itself is the same scene with no cast; a
// gain on red and blue tints the grey by their logarithms; a layout of one
// colour says nothing.
func TestFitLayout(t *testing.T) {
	ref := layoutOf(colourThumb(photoLike(256, 192, 3), nil))
	fit, ok := fitLayout(ref, ref)
	require.True(t, ok)
	require.True(t, fit.sameScene())
	require.InDelta(t, 0, fit.residual, 1e-9)
	require.InDelta(t, 0, fit.cast(), 0.01)

	warm := layoutOf(colourThumb(inLinear(photoLike(256, 192, 3), 1.25, 1, 0.75), nil))
	fit, ok = fitLayout(ref, warm)
	require.True(t, ok)
	require.InDelta(t, math.Hypot(math.Log(1.25), math.Log(0.75)), fit.cast(), 0.05)

	flat := layoutOf(colourThumb(solid(64, 64, color.NRGBA{R: 120, G: 110, B: 100, A: 255}, 0), nil))
	_, ok = fitLayout(flat, flat)
	require.False(t, ok, "one colour does not determine the map")
	_, ok = fitLayout(ref[:10], ref)
	require.False(t, ok, "not a layout")
}

// Against a product shot on white, the palette check judges the product:
// re-coloured, it is off the palette although the backdrop is most of the
// frame; the same product in its colours passes.
func TestARecolouredProductOnWhiteIsOffPalette(t *testing.T) {
	shot := onWhite(withChroma(photoLike(256, 256, 5), 2)) // a colourful product
	ref, _, err := Inspect(encodePNG(t, shot))
	require.NoError(t, err)
	require.True(t, isBackdrop(ref.Palette[0]))
	require.Greater(t, len(ref.Palette), 1, "the product's colours are in the palette")

	same := judgeAgainst(t, shot, ref)
	require.NotContains(t, same.Reasons, ReasonOffPalette, "metrics %v", same.Metrics)
	recoloured := judgeAgainst(t, withChroma(shot, -1), ref) // the opposite hue: white stays white
	require.Contains(t, recoloured.Reasons, ReasonOffPalette, "metrics %v", recoloured.Metrics)
}

// withChroma scales every pixel's difference from its luma by k: 2 makes
// it twice as colourful, −1 turns it to the opposite hue at the same luma.
func withChroma(img *image.NRGBA, k float64) *image.NRGBA {
	out := image.NewNRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	for i := 0; i < len(out.Pix); i += 4 {
		p := out.Pix[i : i+3 : i+3]
		y := 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
		for c := range p {
			p[c] = clamp8(y + k*(float64(p[c])-y))
		}
	}
	return out
}
