package quality

import (
	"context"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// gaussianPlane is a flat plane of level 128 plus N(0, sigma²) noise.
func gaussianPlane(w, h int, sigma float64) []uint8 {
	rng := rand.New(rand.NewPCG(3, 3))
	out := make([]uint8, w*h)
	for i := range out {
		out[i] = clamp8(128 + sigma*rng.NormFloat64())
	}
	return out
}

func TestImmerkaerSigma(t *testing.T) {
	t.Parallel()
	ramp := make([]uint8, 64*64)
	for i := range ramp {
		ramp[i] = uint8(i%64 + i/64)
	}
	tests := []struct {
		name      string
		luma      []uint8
		w, h      int
		want, tol float64
	}{
		{name: "flat", luma: make([]uint8, 100), w: 10, h: 10, want: 0, tol: 1e-9},
		{name: "planar ramp has no curvature", luma: ramp, w: 64, h: 64, want: 0, tol: 1e-9},
		{name: "sigma 6 noise", luma: gaussianPlane(256, 256, 6), w: 256, h: 256, want: 6, tol: 0.3},
		{name: "sigma 20 noise", luma: gaussianPlane(256, 256, 20), w: 256, h: 256, want: 20, tol: 1},
		{name: "too thin", luma: []uint8{1, 2, 3, 4}, w: 2, h: 2, want: 0, tol: 1e-9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tt.want, immerkaerSigma(tt.luma, tt.w, tt.h), tt.tol)
		})
	}
}

func TestBlockiness(t *testing.T) {
	t.Parallel()
	blocks := make([]uint8, 64*64) // flat 8×8 blocks of different levels
	for y := range 64 {
		for x := range 64 {
			blocks[y*64+x] = uint8(40 + 20*((x/8+y/8)%5))
		}
	}
	noise := gaussianPlane(64, 64, 10)
	tests := []struct {
		name     string
		y        []uint8
		min, max float64
	}{
		{name: "flat", y: make([]uint8, 64*64), min: 1, max: 1},
		{name: "noise has no grid", y: noise, min: 0.9, max: 1.1},
		{name: "flat 8x8 blocks", y: blocks, min: 10, max: math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := blockiness(tt.y, 64, 64, 64)
			require.GreaterOrEqual(t, got, tt.min)
			require.LessOrEqual(t, got, tt.max)
		})
	}
}

func TestDHash(t *testing.T) {
	t.Parallel()
	base, w, h := workingLuma(scene(), new(scratch))
	base = append([]uint8(nil), base...)
	brighter := make([]uint8, len(base))
	for i, v := range base {
		brighter[i] = uint8(min(255, int(v)+10))
	}
	other, ow, oh := workingLuma(photoLike(512, 384, 77), new(scratch))
	hb := dHash(base, w, h)
	tests := []struct {
		name    string
		luma    []uint8
		w, h    int
		maxDist int
		minDist int
	}{
		{name: "itself", luma: base, w: w, h: h, maxDist: 0},
		{name: "brighter copy", luma: brighter, w: w, h: h, maxDist: 3},
		{name: "another scene", luma: other, w: ow, h: oh, minDist: DuplicateDistance + 1, maxDist: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := popcount(hb ^ dHash(tt.luma, tt.w, tt.h))
			require.GreaterOrEqual(t, d, tt.minDist)
			require.LessOrEqual(t, d, tt.maxDist)
		})
	}
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func TestSameImage(t *testing.T) {
	t.Parallel()
	v := New(0)
	ctx := context.Background()
	judge := func(data []byte) generation.Verdict {
		got, err := v.Validate(ctx, data, generation.ValidationSpec{})
		require.NoError(t, err)
		return got
	}
	png := judge(cached(t, scenePNG))
	tests := []struct {
		name string
		a, b generation.Verdict
		want bool
	}{
		{name: "the same scene as PNG and JPEG", a: png, b: judge(encodeJPEG(t, scene(), 70)), want: true},
		{name: "a different scene", a: png, b: judge(encodePNG(t, photoLike(512, 384, 99))), want: false},
		{name: "undecodable has no fingerprint", a: judge(nil), b: judge(nil), want: false},
		{name: "malformed fingerprint", a: generation.Verdict{Fingerprint: "dhash:xyz"}, b: png, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, v.SameImage(tt.a, tt.b))
			require.Equal(t, tt.want, v.SameImage(tt.b, tt.a))
		})
	}
}

func TestPaletteDistance(t *testing.T) {
	t.Parallel()
	navy := color.NRGBA{20, 30, 90, 255}
	cream := color.NRGBA{230, 220, 200, 255}
	twoTone := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			c := navy
			if x >= 40 {
				c = cream
			}
			twoTone.SetNRGBA(x, y, c)
		}
	}
	ref := []generation.Color{{R: 20, G: 30, B: 90, Weight: 0.6}, {R: 230, G: 220, B: 200, Weight: 0.4}}
	tests := []struct {
		name     string
		img      image.Image
		min, max float64
	}{
		{name: "the reference colours", img: twoTone, min: 0, max: 3},
		{name: "complementary colours", img: solid(64, 64, color.NRGBA{200, 170, 40, 255}, 0), min: 60, max: 200},
		{name: "grey", img: solid(64, 64, color.NRGBA{128, 128, 128, 255}, 0), min: 30, max: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			coverage, use := paletteDistance(colourThumb(tt.img, nil), ref)
			d := (coverage + use) / 2
			require.GreaterOrEqual(t, d, tt.min)
			require.LessOrEqual(t, d, tt.max)
		})
	}
	c, u := paletteDistance(colourThumb(twoTone, nil), nil)
	require.Zero(t, c+u, "no reference, no distance")
}

func TestColourfulness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		img      image.Image
		min, max float64
	}{
		{name: "grey", img: solid(32, 32, color.NRGBA{90, 90, 90, 255}, 0), min: 0, max: 0.5},
		{name: "saturated red", img: solid(32, 32, color.NRGBA{230, 20, 20, 255}, 0), min: 60, max: 200},
		{name: "scene", img: scene(), min: 15, max: 109},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := colourfulness(colourThumb(tt.img, nil))
			require.GreaterOrEqual(t, got, tt.min)
			require.LessOrEqual(t, got, tt.max)
		})
	}
}

// The new reasons, end to end through Validate.
func TestValidateNewDefects(t *testing.T) {
	t.Parallel()
	ref := generation.ReferenceFeatures{Palette: Palette(scene())}
	tests := []struct {
		name       string
		data       func(t *testing.T) []byte
		spec       generation.ValidationSpec
		wantReason string
		wantPassed bool
	}{
		{name: "clean with its own reference", data: func(t *testing.T) []byte { return cached(t, scenePNG) },
			spec: generation.ValidationSpec{Reference: ref}, wantPassed: true},
		{name: "noise sigma 30", data: func(t *testing.T) []byte {
			rng := rand.New(rand.NewPCG(1, 2))
			return encodePNG(t, mapRGB(scene(), func(v float64) float64 { return v + 30*rng.NormFloat64() }))
		}, wantReason: ReasonNoisy},
		{name: "jpeg quality 5", data: func(t *testing.T) []byte { return encodeJPEG(t, scene(), 5) }, wantReason: ReasonBlocky},
		{name: "recoloured", data: func(t *testing.T) []byte {
			img := image.NewNRGBA(scene().Rect)
			src := scene()
			for i := 0; i < len(img.Pix); i += 4 { // swap red and blue
				img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = src.Pix[i+2], src.Pix[i+1], src.Pix[i], 255
			}
			return encodePNG(t, img)
		}, spec: generation.ValidationSpec{Reference: ref}, wantReason: ReasonOffPalette},
	}
	v := New(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.Validate(context.Background(), tt.data(t), tt.spec)
			require.NoError(t, err)
			require.Equal(t, tt.wantPassed, got.Passed, "score %.2f reasons %v metrics %v", got.Score, got.Reasons, got.Metrics)
			if tt.wantReason != "" {
				require.Contains(t, got.Reasons, tt.wantReason, "metrics %v", got.Metrics)
			} else {
				require.Empty(t, got.Reasons)
			}
			require.Regexp(t, `^dhash:[0-9a-f]{16}:[0-9a-f]{16}$`, got.Fingerprint)
			for _, k := range []string{MetricNoiseSigma, MetricColourfulness, "score_sharpness", "score_noise", "score_exposure", "score_contrast"} {
				require.Contains(t, got.Metrics, k)
			}
		})
	}
}

// The JPEG fast path of the colour thumbnail must sample the same pixels as
// the generic path, for every subsample ratio and for sub-images whose
// origin is odd (chroma shared across the edge).
func TestColourThumbYCbCrMatchesGeneric(t *testing.T) {
	t.Parallel()
	src := photoLike(301, 203, 9)
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		t.Run(ratio.String(), func(t *testing.T) {
			t.Parallel()
			img := toYCbCr(src, ratio).SubImage(image.Rect(3, 5, 298, 200))
			got := colourThumb(img, nil)
			want := colourThumb(struct{ image.Image }{img}, nil) // hides *image.YCbCr: the generic path
			require.Equal(t, [2]int{want.w, want.h}, [2]int{got.w, got.h})
			for i := range want.pix {
				require.InDelta(t, int(want.pix[i]), int(got.pix[i]), 1, "byte %d", i)
			}
		})
	}
}

// immerkaerSigma is noiseAcc over a whole plane (the validator feeds it
// sampled bands of rows; the tests measure whole synthetic planes).
func immerkaerSigma(luma []uint8, w, h int) float64 {
	var a noiseAcc
	a.reset(w)
	for y := range h {
		a.row(luma[y*w : (y+1)*w])
	}
	return a.sigma()
}
