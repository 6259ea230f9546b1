package quality

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// The scenes are built once: several tests and the fuzz seeds share them.
var (
	scene      = sync.OnceValue(func() *image.NRGBA { return photoLike(512, 384, 1) })
	sceneLarge = sync.OnceValue(func() *image.NRGBA { return photoLike(1024, 768, 2) })
	sceneBlur3 = sync.OnceValue(func() *image.NRGBA { return gaussianBlur(scene(), 3) })
	sceneSmall = sync.OnceValue(func() *image.NRGBA { return photoLike(96, 64, 5) })
	scenePNG   = sync.OnceValues(func() ([]byte, error) { return pngBytes(scene()) })
)

// Tone curves on 0–255 channel values.
func darken(f float64) func(float64) float64 { return func(v float64) float64 { return v * f } }

func gammaCurve(g float64) func(float64) float64 {
	return func(v float64) float64 { return 255 * math.Pow(v/255, g) }
}

func brightenAdd(d float64) func(float64) float64 { return func(v float64) float64 { return v + d } }

func TestValidate(t *testing.T) {
	t.Parallel()
	lossyWebP, err := os.ReadFile("testdata/video-001.lossy.webp")
	require.NoError(t, err)
	tests := []struct {
		name        string
		data        func(t *testing.T) []byte
		spec        generation.ValidationSpec
		wantPassed  bool
		wantReasons []string
		minScore    float64 // inclusive bounds on the score
		maxScore    float64
	}{
		// Clean images in every format.
		{name: "clean png", data: func(t *testing.T) []byte { return cached(t, scenePNG) },
			wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},
		{name: "clean jpeg q85", data: func(t *testing.T) []byte { return encodeJPEG(t, scene(), 85) },
			wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},
		{name: "clean webp lossless", data: func(t *testing.T) []byte { return encodeWebPLossless(scene()) },
			wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},
		{name: "clean webp lossy photo", data: func(t *testing.T) []byte { return lossyWebP },
			wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},
		{name: "clean noise-free png", data: func(t *testing.T) []byte { return encodePNG(t, gaussianBlur(scene(), 0.7)) },
			wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},
		{name: "clean 1024 jpeg, downscaled", data: func(t *testing.T) []byte { return encodeJPEG(t, sceneLarge(), 85) },
			wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},
		{name: "clean small png, not upscaled", data: func(t *testing.T) []byte { return encodePNG(t, sceneSmall()) },
			wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},

		// Blur.
		{name: "blurred sigma 3 png", data: func(t *testing.T) []byte { return encodePNG(t, sceneBlur3()) },
			wantReasons: []string{ReasonBlurry}, maxScore: 69.99},
		{name: "blurred sigma 3 jpeg", data: func(t *testing.T) []byte { return encodeJPEG(t, sceneBlur3(), 85) },
			wantReasons: []string{ReasonBlurry}, maxScore: 69.99},
		{name: "blurred sigma 3 webp", data: func(t *testing.T) []byte { return encodeWebPLossless(sceneBlur3()) },
			wantReasons: []string{ReasonBlurry}, maxScore: 69.99},
		{name: "1024 blurred sigma 6 is sigma 3 at working size", data: func(t *testing.T) []byte {
			return encodeJPEG(t, gaussianBlur(sceneLarge(), 6), 85)
		}, wantReasons: []string{ReasonBlurry}, maxScore: 69.99},

		// Exposure.
		// Gamma 3 keeps white white: without a reference it is a low-key
		// grade (judged by reach), against the scene's own palette it is
		// far too dark (and its colours too far).
		{name: "darkened gamma 3 against the scene's palette", data: func(t *testing.T) []byte { return encodePNG(t, mapRGB(scene(), gammaCurve(3))) },
			spec:        generation.ValidationSpec{Reference: generation.ReferenceFeatures{Palette: Palette(scene())}},
			wantReasons: []string{ReasonOffPalette, ReasonUnderexposed}, maxScore: 69.99},
		// Squeezed to 38 levels, the scene's flat shapes and smooth sky
		// meet in hard steps between flat plateaus: banded as well.
		{name: "darkened x0.2", data: func(t *testing.T) []byte { return encodeJPEG(t, mapRGB(scene(), darken(0.2)), 85) },
			wantReasons: []string{ReasonBanding, ReasonUnderexposed}, maxScore: 69.99},
		{name: "brightened +150, mostly clipped", data: func(t *testing.T) []byte { return encodePNG(t, mapRGB(scene(), brightenAdd(150))) },
			wantReasons: []string{ReasonOverexposed}, maxScore: 69.99},
		{name: "brightened x3, mostly clipped", data: func(t *testing.T) []byte { return encodeJPEG(t, mapRGB(scene(), darken(3)), 85) },
			wantReasons: []string{ReasonOverexposed}, maxScore: 69.99},
		{name: "gentle gamma 0.7 still fine", data: func(t *testing.T) []byte { return encodePNG(t, mapRGB(scene(), gammaCurve(0.7))) },
			wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},

		// Blank.
		{name: "solid mid grey with tiny noise", data: func(t *testing.T) []byte {
			return encodePNG(t, solid(512, 384, color.NRGBA{128, 128, 128, 255}, 1))
		}, wantReasons: []string{ReasonBlank, ReasonBlurry}, maxScore: blankCap},
		{name: "solid colour jpeg", data: func(t *testing.T) []byte {
			return encodeJPEG(t, solid(300, 300, color.NRGBA{180, 40, 90, 255}, 0), 85)
		}, wantReasons: []string{ReasonBlank, ReasonBlurry}, maxScore: blankCap},
		{name: "black", data: func(t *testing.T) []byte { return encodePNG(t, solid(64, 64, color.NRGBA{0, 0, 0, 255}, 0)) },
			wantReasons: []string{ReasonBlank, ReasonBlurry, ReasonUnderexposed}, maxScore: blankCap},
		{name: "grain on a flat field is sharp but still blank", data: func(t *testing.T) []byte {
			return encodePNG(t, solid(256, 256, color.NRGBA{90, 90, 90, 255}, 2))
		}, wantReasons: []string{ReasonBlank}, maxScore: blankCap},
		{name: "stronger grain on a flat field is low contrast", data: func(t *testing.T) []byte {
			return encodePNG(t, solid(256, 256, color.NRGBA{90, 90, 90, 255}, 4))
		}, wantReasons: []string{ReasonLowContrast}, maxScore: 69.99},

		// Families of q3.
		{name: "a 2x2 repeat is tiled", data: func(t *testing.T) []byte { return encodePNG(t, tiled2x2(scene())) },
			wantReasons: []string{ReasonTiled}, maxScore: 69.99},
		{name: "lifted blacks are washed out", data: func(t *testing.T) []byte {
			return encodePNG(t, mapRGB(scene(), func(v float64) float64 { return 100 + 0.55*v }))
		}, spec: generation.ValidationSpec{Reference: generation.ReferenceFeatures{Palette: Palette(scene())}},
			wantReasons: []string{ReasonWashedOut}, maxScore: 69.99},
		{name: "a light picture with a small dark trim is not", data: func(t *testing.T) []byte {
			// The same light tones, with a navy trim on 0.3 % of the frame:
			// a small garment's belt in a wide, airy shot.
			img := mapRGB(scene(), func(v float64) float64 { return 100 + 0.55*v })
			draw.Draw(img, image.Rect(100, 100, 124, 124), image.NewUniform(color.NRGBA{34, 48, 96, 255}), image.Point{}, draw.Src)
			return encodePNG(t, img)
		}, spec: generation.ValidationSpec{Reference: generation.ReferenceFeatures{Palette: Palette(scene())}},
			wantPassed: true, wantReasons: []string{}, minScore: 70, maxScore: 100},
		{name: "a product shot on white is not overexposed", data: func(t *testing.T) []byte { return encodePNG(t, onWhite(scene())) },
			wantPassed: true, wantReasons: []string{}, minScore: 70, maxScore: 100},
		{name: "a product shot made brighter is", data: func(t *testing.T) []byte { return encodePNG(t, mapRGB(onWhite(scene()), brightenAdd(120))) },
			wantReasons: []string{ReasonOverexposed}, maxScore: 69.99},

		// Size.
		{name: "requested size matches", data: func(t *testing.T) []byte { return cached(t, scenePNG) },
			spec: generation.ValidationSpec{Width: 512, Height: 384}, wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},
		{name: "within 2 percent", data: func(t *testing.T) []byte { return cached(t, scenePNG) },
			spec: generation.ValidationSpec{Width: 520, Height: 390}, wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},
		{name: "larger with the same aspect", data: func(t *testing.T) []byte { return cached(t, scenePNG) },
			spec: generation.ValidationSpec{Width: 256, Height: 192}, wantPassed: true, wantReasons: []string{}, minScore: 80, maxScore: 100},
		{name: "wrong width", data: func(t *testing.T) []byte { return cached(t, scenePNG) },
			spec: generation.ValidationSpec{Width: 1024}, wantPassed: true, wantReasons: []string{ReasonWrongSize}, minScore: 70, maxScore: 75},
		{name: "uniformly smaller", data: func(t *testing.T) []byte { return cached(t, scenePNG) },
			spec: generation.ValidationSpec{Width: 1024, Height: 768}, wantPassed: true, wantReasons: []string{ReasonWrongSize}, minScore: 70, maxScore: 75},
		{name: "wrong size and blurry", data: func(t *testing.T) []byte { return encodePNG(t, sceneBlur3()) },
			spec: generation.ValidationSpec{Width: 384, Height: 512}, wantReasons: []string{ReasonBlurry, ReasonWrongSize}, maxScore: 50},

		// Threshold override.
		{name: "spec min score overrides", data: func(t *testing.T) []byte { return cached(t, scenePNG) },
			spec: generation.ValidationSpec{MinScore: 100.01}, wantReasons: []string{ReasonLowScore}, minScore: 80, maxScore: 100},

		// Undecodable: failed verdicts, never errors.
		{name: "zero bytes", data: func(t *testing.T) []byte { return nil },
			wantReasons: []string{ReasonUndecodable}},
		{name: "random bytes", data: func(t *testing.T) []byte { return randomBytes(2048) },
			wantReasons: []string{ReasonUndecodable, ReasonUnsupported}},
		{name: "truncated png", data: func(t *testing.T) []byte { return truncate(encodePNG(t, scene()), 0.6) },
			wantReasons: []string{ReasonUndecodable}},
		{name: "truncated jpeg", data: func(t *testing.T) []byte { return truncate(encodeJPEG(t, scene(), 85), 0.6) },
			wantReasons: []string{ReasonUndecodable}},
		{name: "png header 100000x100000", data: func(t *testing.T) []byte { return hugePNG(100000, 100000) },
			wantReasons: []string{ReasonTooLarge}},
		{name: "gif", data: func(t *testing.T) []byte { return encodeGIF(t, sceneSmall()) },
			wantReasons: []string{ReasonUndecodable, ReasonUnsupported}},
	}
	v := New(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := tt.data(t)
			got, err := v.Validate(context.Background(), data, tt.spec)
			require.NoError(t, err)
			require.Equal(t, "q3.3.0", got.ValidatorVersion)
			require.Equal(t, tt.wantPassed, got.Passed, "score %.2f reasons %v metrics %v", got.Score, got.Reasons, got.Metrics)
			require.Equal(t, tt.wantReasons, got.Reasons, "metrics %v", got.Metrics)
			require.GreaterOrEqual(t, got.Score, tt.minScore, "metrics %v", got.Metrics)
			require.LessOrEqual(t, got.Score, tt.maxScore, "metrics %v", got.Metrics)
			require.Equal(t, float64(len(data)), got.Metrics[MetricBytes])
			if _, decoded := got.Metrics[MetricLaplacianVar]; decoded {
				for _, k := range []string{MetricWidth, MetricHeight, MetricLaplacianVar, MetricClipLow, MetricClipHigh, MetricMeanLuma, MetricLumaStd, MetricEntropy} {
					require.Contains(t, got.Metrics, k)
				}
			}
		})
	}
}

// cached returns the bytes of a shared encoding, failing t if it failed.
func cached(t *testing.T, encoded func() ([]byte, error)) []byte {
	t.Helper()
	b, err := encoded()
	require.NoError(t, err)
	return b
}

func TestValidateTooLargeIsFastAndKeepsDeclaredSize(t *testing.T) {
	t.Parallel()
	start := time.Now()
	got, err := New(0).Validate(context.Background(), hugePNG(100000, 100000), generation.ValidationSpec{})
	require.NoError(t, err)
	require.Less(t, time.Since(start), 100*time.Millisecond, "must be rejected from the header")
	require.Equal(t, []string{ReasonTooLarge}, got.Reasons)
	require.Zero(t, got.Score)
	require.False(t, got.Passed)
	require.Equal(t, 100000.0, got.Metrics[MetricWidth])
}

func TestValidateFlagging(t *testing.T) {
	t.Parallel()
	data := cached(t, scenePNG)
	clean, err := New(0).Validate(context.Background(), data, generation.ValidationSpec{})
	require.NoError(t, err)
	tests := []struct {
		name        string
		v           *Validator
		spec        generation.ValidationSpec
		wantPassed  bool
		wantFlagged bool
	}{
		{name: "well above threshold", v: New(0), wantPassed: true},
		{name: "within margin", v: New(clean.Score - 2), wantPassed: true, wantFlagged: true},
		{name: "exactly at threshold passes, flagged", v: New(clean.Score), wantPassed: true, wantFlagged: true},
		{name: "spec threshold wins over validator", v: New(10), spec: generation.ValidationSpec{MinScore: clean.Score - 1}, wantPassed: true, wantFlagged: true},
		{name: "zero value validator: default threshold, no flag band", v: &Validator{}, wantPassed: true},
		{name: "below threshold is not flagged", v: New(clean.Score + 0.5), wantPassed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.v.Validate(context.Background(), data, tt.spec)
			require.NoError(t, err)
			require.Equal(t, clean.Score, got.Score)
			require.Equal(t, tt.wantPassed, got.Passed)
			require.Equal(t, tt.wantFlagged, got.Flagged)
		})
	}
}

func TestValidateCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(0).Validate(ctx, encodePNG(t, sceneSmall()), generation.ValidationSpec{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestValidateIsDeterministic(t *testing.T) {
	t.Parallel()
	data := encodeJPEG(t, scene(), 85)
	v := New(0)
	first, err := v.Validate(context.Background(), data, generation.ValidationSpec{})
	require.NoError(t, err)
	for range 3 { // the pooled buffers must not leak state between calls
		_, err := v.Validate(context.Background(), encodePNG(t, sceneSmall()), generation.ValidationSpec{})
		require.NoError(t, err)
		again, err := v.Validate(context.Background(), data, generation.ValidationSpec{})
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var v generation.Validator = New(70)
	require.Equal(t, "q3.3.0", v.Version())
}

func FuzzValidate(f *testing.F) {
	// Small seeds: the fuzzer mutates and minimises them faster.
	small := photoLike(24, 16, 9)
	png := encodePNG(f, small)
	jpg := encodeJPEG(f, small, 85)
	for _, seed := range [][]byte{
		png, jpg, encodeWebPLossless(small), nil, randomBytes(64),
		truncate(png, 0.5), truncate(jpg, 0.5), hugePNG(100000, 100000), encodeGIF(f, small),
		[]byte("RIFF\x00\x00\x00\x00WEBPVP8 "),
		// Layouts the decode budget reads from the header (budget.go).
		progressiveJPEG(24, 16, 3, 2), withAdobe(progressiveJPEG(24, 16, 4, 1), 2),
		flatPNG(f, 24, 16, 16, 0, true, []byte{0, 7}), flatWebPLossless(24, 16),
	} {
		f.Add(seed)
	}
	v := New(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := v.Validate(context.Background(), data, generation.ValidationSpec{Width: 24, Height: 16,
			Reference: generation.ReferenceFeatures{Palette: []generation.Color{{R: 20, G: 30, B: 90, Weight: 1}}}})
		require.NoError(t, err)
		require.GreaterOrEqual(t, got.Score, 0.0)
		require.LessOrEqual(t, got.Score, 100.0)
		require.False(t, math.IsNaN(got.Score))
		require.NotEmpty(t, got.ValidatorVersion)
		if !got.Passed {
			require.NotEmpty(t, got.Reasons, "every failure has a reason")
		}
		for k, x := range got.Metrics {
			require.False(t, math.IsNaN(x) || math.IsInf(x, 0), "metric %s is %v", k, x)
		}
	})
}

// benchImages1024 are the 1024×1024 benchmark inputs: the files written by
// `go run ./infra/bench quality prepare` (a photograph) when
// QUALITY_BENCH_DIR names their folder, else the procedural scene.
func benchImages1024(b *testing.B) (jpg, png, webp []byte) {
	b.Helper()
	if dir := os.Getenv("QUALITY_BENCH_DIR"); dir != "" {
		var err error
		jpg, err = os.ReadFile(filepath.Join(dir, "bench1024.jpg"))
		require.NoError(b, err)
		png, err = os.ReadFile(filepath.Join(dir, "bench1024.png"))
		require.NoError(b, err)
		img, _, err := decode(png, ProviderBudget)
		require.NoError(b, err)
		nrgba, ok := img.(*image.NRGBA)
		if !ok {
			nrgba = image.NewNRGBA(img.Bounds())
			draw.Draw(nrgba, nrgba.Rect, img, image.Point{}, draw.Src)
		}
		return jpg, png, encodeWebPLossless(nrgba)
	}
	img := photoLike(1024, 1024, 4)
	return encodeJPEG(b, img, 85), encodePNG(b, img), encodeWebPLossless(img)
}

// reportCPU starts measuring process CPU time; the returned func reports it
// per op as cpu-ms/op. Run with -cpu 1 so it is one core's work.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/1e6/float64(b.N), "cpu-ms/op")
		}
	}
}

// benchFile is one encoding of the 1024×1024 benchmark image.
type benchFile struct {
	name string
	data []byte
}

// benchFiles1024 are the benchmark image as JPEG, PNG and WebP.
func benchFiles1024(b *testing.B) []benchFile {
	jpg, png, webp := benchImages1024(b)
	return []benchFile{{"jpeg", jpg}, {"png", png}, {"webp", webp}}
}

// benchSpec is the benchmarks' request: a reference palette and tone, so the
// palette distance is part of the cost, with the layout of the procedural
// benchmark image, so the region-by-region fit and the checks that read it
// run too (against a photograph from QUALITY_BENCH_DIR the fit runs and
// finds another scene).
func benchSpec() generation.ValidationSpec {
	return generation.ValidationSpec{Reference: generation.ReferenceFeatures{
		Palette: []generation.Color{{R: 20, G: 30, B: 90, Weight: 1}},
		// A reference image's tone, so that every check against it runs.
		Tone: &generation.Tone{MeanLinear: 0.2,
			Detail: -1, Grain: 0.05, Gaps: 0.02, Neutral: [2]float64{0.01, -0.02}, NeutralShare: 0.3,
			Layout: layoutOf(colourThumb(photoLike(1024, 1024, 4), nil))},
	}}
}

// BenchmarkFitLayout is the region-by-region comparison alone: the
// generation's layout from its colour thumbnail and the fit.
func BenchmarkFitLayout(b *testing.B) {
	img := photoLike(1024, 1024, 4)
	ref := layoutOf(colourThumb(img, nil))
	t := colourThumb(inLinear(img, 1.1, 1, 0.9), nil)
	defer reportCPU(b)()
	for b.Loop() {
		if _, ok := fitLayout(ref, layoutOf(t)); !ok {
			b.Fatal("no fit")
		}
	}
}

// BenchmarkValidate1024 is decode + every metric, per format.
func BenchmarkValidate1024(b *testing.B) {
	for _, bc := range benchFiles1024(b) {
		b.Run(bc.name, func(b *testing.B) {
			v, spec := New(0), benchSpec()
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := v.Validate(context.Background(), bc.data, spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMetrics1024 is every metric on an already decoded image, per
// format (the decoder's own image type: *image.YCbCr for JPEG, *image.RGBA
// or *image.NRGBA for PNG and WebP), with a reference palette: the
// validator's cost beyond decoding.
func BenchmarkMetrics1024(b *testing.B) {
	for _, bc := range benchFiles1024(b) {
		b.Run(bc.name, func(b *testing.B) {
			img, format, err := decode(bc.data, ProviderBudget)
			require.NoError(b, err)
			v, spec := New(0), benchSpec()
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				v.judge(img, format, len(bc.data), spec)
			}
		})
	}
}

// BenchmarkDecode1024 is decoding alone, for comparison.
func BenchmarkDecode1024(b *testing.B) {
	files := benchFiles1024(b)
	for _, bc := range files {
		b.Run(bc.name, func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if _, _, err := decode(bc.data, ProviderBudget); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Two different subjects on the same white surround are two images: the
// surround is left out of the fingerprint.
func TestProductShotsAreNotDuplicatesOfEachOther(t *testing.T) {
	t.Parallel()
	v := New(0)
	a, err := v.Validate(t.Context(), encodePNG(t, onWhite(scene())), generation.ValidationSpec{})
	require.NoError(t, err)
	b, err := v.Validate(t.Context(), encodePNG(t, onWhite(photoLike(512, 384, 7))), generation.ValidationSpec{})
	require.NoError(t, err)
	again, err := v.Validate(t.Context(), encodeJPEG(t, onWhite(scene()), 80), generation.ValidationSpec{})
	require.NoError(t, err)
	require.False(t, v.SameImage(a, b), "%s vs %s", a.Fingerprint, b.Fingerprint)
	require.True(t, v.SameImage(a, again), "%s vs %s", a.Fingerprint, again.Fingerprint)
}
