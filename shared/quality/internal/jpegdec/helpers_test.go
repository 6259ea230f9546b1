package jpegdec

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// photoLike returns a deterministic RGBA image resembling a photograph for
// JPEG purposes: smooth gradients (cheap, mostly DC-only blocks), fine
// texture (many AC coefficients) and mild noise.
func photoLike(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 42))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(max(w, 1)), float64(y)/float64(max(h, 1))
			base := 40 + 150*fx*fy + 40*math.Sin(6*fx+3*fy)
			// Texture only in part of the frame, like a subject on a
			// smooth background.
			tex := 0.0
			if (x/64+y/48)%3 != 0 {
				tex = 25 * math.Sin(float64(x)*0.9) * math.Cos(float64(y)*0.7)
			}
			noise := rng.NormFloat64() * 4
			r := base + tex + noise
			g := base*0.8 + 30*fy + tex*0.7 + noise
			b := 200 - base*0.6 + tex*0.4 + noise
			m.SetRGBA(x, y, color.RGBA{clampF(r), clampF(g), clampF(b), 255})
		}
	}
	return m
}

func clampF(v float64) uint8 {
	return uint8(math.Round(math.Max(0, math.Min(255, v))))
}

// flat returns a single-color image.
func flat(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

// toGray converts to *image.Gray so image/jpeg encodes one component.
func toGray(src image.Image) *image.Gray {
	b := src.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g.Set(x, y, src.At(x, y))
		}
	}
	return g
}

func encode(tb testing.TB, m image.Image, quality int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	require.NoError(tb, jpeg.Encode(&buf, m, &jpeg.Options{Quality: quality}))
	return buf.Bytes()
}

// mustEncode is encode for package-level (sync.OnceValue) inputs, which
// have no testing.TB to report to.
func mustEncode(m image.Image, quality int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: quality}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// diffStats accumulates absolute sample differences.
type diffStats struct {
	max        int
	sum, count int64
}

func (s *diffStats) add(o diffStats) {
	s.max = max(s.max, o.max)
	s.sum += o.sum
	s.count += o.count
}

func (s diffStats) mean() float64 {
	if s.count == 0 {
		return 0
	}
	return float64(s.sum) / float64(s.count)
}

func (s diffStats) String() string {
	return fmt.Sprintf("max %d, mean %.4f over %d samples", s.max, s.mean(), s.count)
}

// comparePlane compares the visible w x h region of two planes.
func comparePlane(a []byte, aStride int, b []byte, bStride int, w, h int) diffStats {
	var s diffStats
	for y := 0; y < h; y++ {
		ra, rb := a[y*aStride:y*aStride+w], b[y*bStride:y*bStride+w]
		for x := range ra {
			d := int(ra[x]) - int(rb[x])
			if d < 0 {
				d = -d
			}
			s.max = max(s.max, d)
			s.sum += int64(d)
		}
		s.count += int64(w)
	}
	return s
}

// compareImages checks that got has exactly the type, geometry and layout
// of want (image/jpeg's output) and returns the sample differences.
func compareImages(t *testing.T, want, got image.Image) diffStats {
	t.Helper()
	require.IsType(t, want, got)
	require.Equal(t, want.Bounds(), got.Bounds())
	switch w := want.(type) {
	case *image.Gray:
		g := got.(*image.Gray)
		require.Equal(t, w.Stride, g.Stride)
		require.Equal(t, len(w.Pix), len(g.Pix))
		b := w.Bounds()
		return comparePlane(w.Pix, w.Stride, g.Pix, g.Stride, b.Dx(), b.Dy())
	case *image.YCbCr:
		g := got.(*image.YCbCr)
		require.Equal(t, w.SubsampleRatio, g.SubsampleRatio)
		require.Equal(t, w.YStride, g.YStride)
		require.Equal(t, w.CStride, g.CStride)
		require.Equal(t, len(w.Y), len(g.Y))
		require.Equal(t, len(w.Cb), len(g.Cb))
		require.Equal(t, len(w.Cr), len(g.Cr))
		b := w.Bounds()
		// Chroma extent of the visible area, as image.YCbCr computes it.
		cb := image.Rect(0, 0, 0, 0)
		if b.Dx() > 0 && b.Dy() > 0 {
			lo := w.COffset(b.Min.X, b.Min.Y)
			hi := w.COffset(b.Max.X-1, b.Max.Y-1)
			cb = image.Rect(0, 0, hi%w.CStride-lo%w.CStride+1, hi/w.CStride-lo/w.CStride+1)
		}
		var s diffStats
		s.add(comparePlane(w.Y, w.YStride, g.Y, g.YStride, b.Dx(), b.Dy()))
		s.add(comparePlane(w.Cb, w.CStride, g.Cb, g.CStride, cb.Dx(), cb.Dy()))
		s.add(comparePlane(w.Cr, w.CStride, g.Cr, g.CStride, cb.Dx(), cb.Dy()))
		return s
	default:
		t.Fatalf("unexpected image type %T", want)
		return diffStats{}
	}
}

// decodeBoth decodes data with image/jpeg and jpegdec, requiring both to
// succeed, and compares the results.
func decodeBoth(t *testing.T, data []byte) diffStats {
	t.Helper()
	want, err := jpeg.Decode(bytes.NewReader(data))
	require.NoError(t, err, "image/jpeg")
	got, err := Decode(data)
	require.NoError(t, err, "jpegdec")
	return compareImages(t, want, got)
}
