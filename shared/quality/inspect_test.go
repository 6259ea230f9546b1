package quality

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

func TestInspect(t *testing.T) {
	t.Parallel()
	scene := photoLike(160, 120, 3)
	lossyWebP, err := os.ReadFile("testdata/video-001.lossy.webp")
	require.NoError(t, err)
	alphaWebP, err := os.ReadFile("testdata/yellow_rose.lossy-with-alpha.webp")
	require.NoError(t, err)
	tests := []struct {
		name        string
		data        []byte
		wantFormat  string
		wantType    string
		wantW       int
		wantH       int
		wantErrCode string
	}{
		{name: "png", data: encodePNG(t, scene), wantFormat: "png", wantType: "image/png", wantW: 160, wantH: 120},
		{name: "jpeg", data: encodeJPEG(t, scene, 85), wantFormat: "jpeg", wantType: "image/jpeg", wantW: 160, wantH: 120},
		{name: "webp lossless (generated)", data: encodeWebPLossless(scene), wantFormat: "webp", wantType: "image/webp", wantW: 160, wantH: 120},
		{name: "webp lossy (fixture)", data: lossyWebP, wantFormat: "webp", wantType: "image/webp", wantW: 150, wantH: 103},
		{name: "webp lossy with alpha (fixture)", data: alphaWebP, wantFormat: "webp", wantType: "image/webp", wantW: 400, wantH: 301},
		{name: "empty", data: nil, wantErrCode: generation.EINVALID},
		{name: "random bytes", data: randomBytes(4096), wantErrCode: generation.EUNSUPPORTED},
		{name: "gif", data: encodeGIF(t, scene), wantErrCode: generation.EUNSUPPORTED},
		{name: "png named nothing but sniffed as text", data: []byte("PNG but not really"), wantErrCode: generation.EUNSUPPORTED},
		{name: "truncated png", data: truncate(encodePNG(t, scene), 0.5), wantErrCode: generation.EINVALID},
		{name: "truncated jpeg", data: truncate(encodeJPEG(t, scene, 85), 0.5), wantErrCode: generation.EINVALID},
		{name: "png signature only", data: []byte("\x89PNG\r\n\x1a\n"), wantErrCode: generation.EINVALID},
		{name: "png header 100000x100000", data: hugePNG(100000, 100000), wantErrCode: generation.ETOOLARGE},
		{name: "png header 8193 wide", data: hugePNG(8193, 10), wantErrCode: generation.ETOOLARGE},
		{name: "png header 7000x7000 (49 MP)", data: hugePNG(7000, 7000), wantErrCode: generation.ETOOLARGE},
		{name: "png header within the budget but no pixels", data: hugePNG(4000, 4000), wantErrCode: generation.EINVALID},
		// Under the pixel caps, but 153 MiB of NRGBA: over ReferenceBudget.
		{name: "png header at the pixel limit", data: hugePNG(8192, 4882), wantErrCode: generation.ETOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			f, ct, err := Inspect(tt.data)
			if tt.wantErrCode != "" {
				require.Error(t, err)
				require.Equal(t, tt.wantErrCode, generation.ErrorCode(err))
				require.Empty(t, ct)
				// Bombs are rejected from the header, without decoding.
				require.Less(t, time.Since(start), time.Second)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantType, ct)
			require.Equal(t, tt.wantFormat, f.Format)
			require.Equal(t, tt.wantW, f.Width)
			require.Equal(t, tt.wantH, f.Height)
			require.NotEmpty(t, f.Palette)
			require.LessOrEqual(t, len(f.Palette), 6)
			var sum float64
			for i, c := range f.Palette {
				sum += c.Weight
				if i > 0 {
					require.LessOrEqual(t, c.Weight, f.Palette[i-1].Weight, "most common first")
				}
			}
			require.InDelta(t, 1, sum, 1e-9)
		})
	}
}

func TestPalette(t *testing.T) {
	t.Parallel()
	red, blue := color.NRGBA{200, 30, 40, 255}, color.NRGBA{20, 60, 210, 255}
	twoTone := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	for y := range 100 {
		for x := range 200 {
			c := red
			if x >= 140 {
				c = blue
			}
			twoTone.SetNRGBA(x, y, c)
		}
	}
	cutout := image.NewNRGBA(image.Rect(0, 0, 100, 100)) // transparent but a green square
	for y := 30; y < 70; y++ {
		for x := 30; x < 70; x++ {
			cutout.SetNRGBA(x, y, color.NRGBA{10, 180, 20, 255})
		}
	}
	tests := []struct {
		name string
		img  image.Image
		want []generation.Color
	}{
		{name: "two tones 70/30", img: twoTone, want: []generation.Color{
			{R: 200, G: 30, B: 40, Weight: 0.7}, {R: 20, G: 60, B: 210, Weight: 0.3}}},
		{name: "two tones as jpeg-like YCbCr", img: toYCbCr(twoTone, image.YCbCrSubsampleRatio420), want: []generation.Color{
			{R: 200, G: 30, B: 40, Weight: 0.7}, {R: 20, G: 60, B: 210, Weight: 0.3}}},
		{name: "transparency is not a colour", img: cutout, want: []generation.Color{{R: 10, G: 180, B: 20, Weight: 1}}},
		{name: "fully transparent", img: image.NewNRGBA(image.Rect(0, 0, 10, 10)), want: []generation.Color{}},
		{name: "gray", img: solidGray(50, 50, 99), want: []generation.Color{{R: 99, G: 99, B: 99, Weight: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Palette(tt.img)
			require.Len(t, got, len(tt.want))
			for i := range tt.want {
				require.InDelta(t, tt.want[i].R, got[i].R, 2, "colour %d", i)
				require.InDelta(t, tt.want[i].G, got[i].G, 2, "colour %d", i)
				require.InDelta(t, tt.want[i].B, got[i].B, 2, "colour %d", i)
				require.InDelta(t, tt.want[i].Weight, got[i].Weight, 0.02, "colour %d", i)
			}
		})
	}
}

func TestPaletteKeepsSixColours(t *testing.T) {
	t.Parallel()
	img := image.NewNRGBA(image.Rect(0, 0, 100, 100))
	for y := range 100 {
		for x := range 100 {
			// Ten vertical bands of distinct colours, wider to the left.
			band := min(9, x*x/1000)
			img.SetNRGBA(x, y, color.NRGBA{uint8(25 * band), uint8(250 - 25*band), uint8(120 + 10*band), 255})
		}
	}
	got := Palette(img)
	require.Len(t, got, 6)
	var sum float64
	for _, c := range got {
		sum += c.Weight
	}
	require.InDelta(t, 1, sum, 1e-9)
}

func randomBytes(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func truncate(b []byte, frac float64) []byte {
	return b[:int(float64(len(b))*frac)]
}

func toYCbCr(src image.Image, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	b := src.Bounds()
	out := image.NewYCbCr(b, ratio)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := src.At(x, y).RGBA()
			yy, cb, cr := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			out.Y[out.YOffset(x, y)] = yy
			ci := out.COffset(x, y)
			out.Cb[ci], out.Cr[ci] = cb, cr
		}
	}
	return out
}

func solidGray(w, h int, v uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

// A product on white: the backdrop is most of the frame, and the product's
// colours, each a small share of the frame, are counted as shares of the
// product, so the palette says what the product looks like.
func TestPaletteOfAProductOnWhite(t *testing.T) {
	t.Parallel()
	// A 60×60 product (9 % of the frame) in six colours of 1.5 % each.
	product := func(ground image.Image) *image.NRGBA {
		img := image.NewNRGBA(image.Rect(0, 0, 200, 200))
		draw.Draw(img, img.Rect, ground, image.Point{}, draw.Src)
		for y := 70; y < 130; y++ {
			for x := 70; x < 130; x++ {
				band := (x - 70) / 10
				img.SetNRGBA(x, y, color.NRGBA{uint8(40 * band), 90, uint8(200 - 30*band), 255})
			}
		}
		return img
	}
	got := Palette(product(image.White))
	require.Len(t, got, 6)
	require.Equal(t, generation.Color{R: 255, G: 255, B: 255, Weight: got[0].Weight}, got[0])
	require.Greater(t, got[0].Weight, 0.8)

	// The same product on a mid-grey ground is one colour of seven with
	// under 2 % of the frame each: only the ground counts.
	require.Len(t, Palette(product(image.NewUniform(color.NRGBA{128, 128, 128, 255}))), 1)
}
