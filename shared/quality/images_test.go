package quality

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// photoLike draws a deterministic, photo-like scene: a vertical sky gradient,
// a ground plane, overlapping soft and hard shapes, a striped awning, fine
// texture and sensor-like noise. It is what the validator should accept.
func photoLike(w, h int, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 42))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	type shape struct {
		cx, cy, r float64
		c         [3]float64
		square    bool
	}
	shapes := make([]shape, 14)
	for i := range shapes {
		shapes[i] = shape{
			cx: rng.Float64() * float64(w), cy: rng.Float64() * float64(h),
			r:      (0.05 + 0.15*rng.Float64()) * float64(min(w, h)),
			c:      [3]float64{40 + 180*rng.Float64(), 40 + 180*rng.Float64(), 40 + 180*rng.Float64()},
			square: i%3 == 0,
		}
	}
	horizon := 0.55 * float64(h)
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			var c [3]float64
			if fy < horizon {
				t := fy / horizon
				c = [3]float64{90 + 80*t, 140 + 60*t, 220 - 20*t}
			} else {
				t := (fy - horizon) / (float64(h) - horizon)
				grain := 20 * math.Sin(fx*0.9+fy*0.3) * math.Sin(fy*1.3)
				c = [3]float64{110 - 50*t + grain, 90 - 40*t + grain, 60 - 30*t + grain}
			}
			for _, s := range shapes {
				dx, dy := fx-s.cx, fy-s.cy
				inside := dx*dx+dy*dy < s.r*s.r
				if s.square {
					inside = math.Abs(dx) < s.r && math.Abs(dy) < s.r*0.7
				}
				if inside {
					shade := 0.75 + 0.25*math.Cos(dx/s.r*1.5)
					c = [3]float64{s.c[0] * shade, s.c[1] * shade, s.c[2] * shade}
				}
			}
			// A striped awning across the upper third.
			if fy > 0.2*float64(h) && fy < 0.28*float64(h) && int(fx/6)%2 == 0 {
				c = [3]float64{200, 40, 40}
			}
			n := rng.NormFloat64() * 4
			i := img.PixOffset(x, y)
			img.Pix[i] = clamp8(c[0] + n)
			img.Pix[i+1] = clamp8(c[1] + n)
			img.Pix[i+2] = clamp8(c[2] + n)
			img.Pix[i+3] = 0xff
		}
	}
	return img
}

func clamp8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

// gaussianBlur returns img blurred with a separable Gaussian of sigma px
// (kernel radius 3σ, edges clamped). Alpha is kept as is.
func gaussianBlur(img *image.NRGBA, sigma float64) *image.NRGBA {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	tmp := make([]float64, w*h)
	// conv convolves n samples read by at(i) with k, edges clamped, via a
	// padded line so the inner loop has no bounds logic.
	pad := make([]float64, max(w, h)+2*r)
	conv := func(n int, at func(int) float64, set func(int, float64)) {
		for i := range n + 2*r {
			pad[i] = at(min(n-1, max(0, i-r)))
		}
		for i := range n {
			win := pad[i : i+len(k)]
			var v float64
			for j, kv := range k {
				v += kv * win[j]
			}
			set(i, v)
		}
	}
	for ch := range 3 {
		for y := range h {
			row := img.Pix[y*img.Stride:]
			conv(w, func(x int) float64 { return float64(row[4*x+ch]) }, func(x int, v float64) { tmp[y*w+x] = v })
		}
		for x := range w {
			conv(h, func(y int) float64 { return tmp[y*w+x] }, func(y int, v float64) { out.Pix[y*out.Stride+4*x+ch] = clamp8(v) })
		}
	}
	for y := range h {
		for x := range w {
			out.Pix[y*out.Stride+4*x+3] = img.Pix[y*img.Stride+4*x+3]
		}
	}
	return out
}

// mapRGB applies f to every colour channel value (0–255).
func mapRGB(img *image.NRGBA, f func(float64) float64) *image.NRGBA {
	out := image.NewNRGBA(img.Bounds())
	for i := 0; i < len(img.Pix); i += 4 {
		for ch := range 3 {
			out.Pix[i+ch] = clamp8(f(float64(img.Pix[i+ch])))
		}
		out.Pix[i+3] = img.Pix[i+3]
	}
	return out
}

// solid is a flat colour with ±noise levels of uniform noise.
func solid(w, h int, c color.NRGBA, noise int) *image.NRGBA {
	rng := rand.New(rand.NewPCG(7, 7))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		d := 0
		if noise > 0 {
			d = rng.IntN(2*noise+1) - noise
		}
		img.Pix[i] = clamp8(float64(int(c.R) + d))
		img.Pix[i+1] = clamp8(float64(int(c.G) + d))
		img.Pix[i+2] = clamp8(float64(int(c.B) + d))
		img.Pix[i+3] = c.A
	}
	return img
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	b, err := pngBytes(img)
	require.NoError(tb, err)
	return b
}

func pngBytes(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}

func encodeJPEG(tb testing.TB, img image.Image, quality int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	require.NoError(tb, jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}))
	return buf.Bytes()
}

func encodeGIF(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	require.NoError(tb, gif.Encode(&buf, img, nil))
	return buf.Bytes()
}

// hugePNG is a valid PNG signature and IHDR declaring w×h, with no pixel
// data: a decompression bomb's header.
func hugePNG(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	writePNGChunk(&buf, "IHDR", ihdr)
	writePNGChunk(&buf, "IEND", nil)
	return buf.Bytes()
}

func writePNGChunk(buf *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	buf.Write(n[:])
	buf.WriteString(typ)
	buf.Write(data)
	crc := crc32IEEE(append([]byte(typ), data...))
	binary.BigEndian.PutUint32(n[:], crc)
	buf.Write(n[:])
}

func crc32IEEE(b []byte) uint32 {
	c := ^uint32(0)
	for _, v := range b {
		c ^= uint32(v)
		for range 8 {
			c = c>>1 ^ 0xedb88320&-(c&1)
		}
	}
	return ^c
}

// encodeWebPLossless writes img as a minimal VP8L (lossless WebP) file: no
// transforms, no colour cache, one group of prefix codes in which green, red
// and blue are flat 8-bit codes and alpha is a constant 255. x/image has no
// WebP encoder; this is enough to produce real WebP bytes for the decoder.
func encodeWebPLossless(img *image.NRGBA) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var bw bitWriter
	bw.write(0x2f, 8) // VP8L signature
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1) // alpha not used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	flat := func(alphabet int) {
		// Normal prefix code whose code-length code has two 1-bit symbols,
		// 0 and 8: symbols 0–255 get length 8, the rest length 0.
		bw.write(0, 1)
		bw.write(12-4, 4) // 12 code-length code lengths, up to symbol 8 in kCodeLengthCodeOrder
		order := []int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8}
		for _, s := range order {
			l := uint32(0)
			if s == 0 || s == 8 {
				l = 1
			}
			bw.write(l, 3)
		}
		bw.write(0, 1) // max_symbol = alphabet size
		for s := range alphabet {
			if s < 256 {
				bw.write(1, 1) // code for length 8
			} else {
				bw.write(0, 1) // code for length 0
			}
		}
	}
	single := func(sym uint32) {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(sym, 8)
	}
	flat(256 + 24)                                                  // green + length prefixes
	flat(256)                                                       // red
	flat(256)                                                       // blue
	single(255)                                                     // alpha
	single(0)                                                       // distance
	code := func(v uint8) { bw.write(uint32(bits.Reverse8(v)), 8) } // prefix codes are sent MSB first
	for y := range h {
		for x := range w {
			p := img.Pix[img.PixOffset(x, y):]
			code(p[1])
			code(p[0])
			code(p[2])
		}
	}
	data := bw.bytes()
	var out bytes.Buffer
	chunk := len(data)
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+chunk+chunk%2))
	out.WriteString("WEBPVP8L")
	binary.Write(&out, binary.LittleEndian, uint32(chunk))
	out.Write(data)
	if chunk%2 == 1 {
		out.WriteByte(0)
	}
	return out.Bytes()
}

// bitWriter packs bits least-significant first, as VP8L reads them.
type bitWriter struct {
	buf   []byte
	acc   uint64
	nbits uint
}

func (b *bitWriter) write(v uint32, n uint) {
	b.acc |= uint64(v) << b.nbits
	b.nbits += n
	for b.nbits >= 8 {
		b.buf = append(b.buf, byte(b.acc))
		b.acc >>= 8
		b.nbits -= 8
	}
}

func (b *bitWriter) bytes() []byte {
	if b.nbits > 0 {
		return append(b.buf, byte(b.acc))
	}
	return b.buf
}

// tiled2x2 is img's half-size copy repeated twice across and down.
func tiled2x2(img *image.NRGBA) *image.NRGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	half := image.NewNRGBA(image.Rect(0, 0, w/2, h/2))
	for y := range h / 2 {
		for x := range w / 2 {
			half.SetNRGBA(x, y, img.NRGBAAt(2*x, 2*y))
		}
	}
	out := image.NewNRGBA(img.Rect)
	for y := range h {
		for x := range w {
			out.SetNRGBA(x, y, half.NRGBAAt(x%(w/2), y%(h/2)))
		}
	}
	return out
}

// onWhite places img in the middle of a white canvas twice its size: a
// product shot.
func onWhite(img *image.NRGBA) *image.NRGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, 2*w, 2*h))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	for y := range h {
		copy(out.Pix[(y+h/2)*out.Stride+4*(w/2):], img.Pix[y*img.Stride:y*img.Stride+4*w])
	}
	return out
}
