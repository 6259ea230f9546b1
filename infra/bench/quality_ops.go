package main

import (
	"image"
	"math"
	"math/rand/v2"

	xdraw "golang.org/x/image/draw"
)

// Image operations of the calibration set: each degradation and each
// derived clean image is one of these, applied to 8-bit sRGB NRGBA images.

func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok {
		return n
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	xdraw.Draw(out, out.Rect, img, b.Min, xdraw.Src)
	return out
}

func clampByte(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

func mapChannels(img *image.NRGBA, f func(float64) float64) *image.NRGBA {
	var lut [256]uint8
	for v := range lut {
		lut[v] = clampByte(f(float64(v)))
	}
	out := image.NewNRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = lut[img.Pix[i]], lut[img.Pix[i+1]], lut[img.Pix[i+2]], img.Pix[i+3]
	}
	return out
}

func gammaOf(g float64) func(float64) float64 {
	return func(v float64) float64 { return 255 * math.Pow(v/255, g) }
}

func addNoise(img *image.NRGBA, sigma float64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(uint64(len(img.Pix)), 99))
	out := image.NewNRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		for ch := range 3 {
			out.Pix[i+ch] = clampByte(float64(img.Pix[i+ch]) + sigma*rng.NormFloat64())
		}
		out.Pix[i+3] = img.Pix[i+3]
	}
	return out
}

func blanked(img *image.NRGBA) *image.NRGBA {
	var sum [3]float64
	n := float64(len(img.Pix) / 4)
	for i := 0; i < len(img.Pix); i += 4 {
		for ch := range 3 {
			sum[ch] += float64(img.Pix[i+ch])
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	out := image.NewNRGBA(img.Rect)
	for i := 0; i < len(out.Pix); i += 4 {
		j := float64(rng.IntN(3) - 1)
		for ch := range 3 {
			out.Pix[i+ch] = clampByte(sum[ch]/n + j)
		}
		out.Pix[i+3] = 255
	}
	return out
}

// hueFlip moves every pixel's chroma towards its opposite in YCbCr (k = 1:
// Cb and Cr negated, a 180° hue rotation at the same luma).
func hueFlip(img *image.NRGBA, k float64) *image.NRGBA {
	out := image.NewNRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		r, g, b := float64(img.Pix[i]), float64(img.Pix[i+1]), float64(img.Pix[i+2])
		y := 0.299*r + 0.587*g + 0.114*b
		cb, cr := -0.168736*r-0.331264*g+0.5*b, 0.5*r-0.418688*g-0.081312*b
		s := 1 - 2*k
		cb, cr = cb*s, cr*s
		out.Pix[i] = clampByte(y + 1.402*cr)
		out.Pix[i+1] = clampByte(y - 0.344136*cb - 0.714136*cr)
		out.Pix[i+2] = clampByte(y + 1.772*cb)
		out.Pix[i+3] = img.Pix[i+3]
	}
	return out
}

// nearCopy is what a provider returns twice: 2 % cropped off each side and
// scaled back, 6 levels brighter (re-encoded as JPEG q80 by the caller).
func nearCopy(img *image.NRGBA) *image.NRGBA {
	b := img.Rect
	dx, dy := b.Dx()/50, b.Dy()/50
	out := image.NewNRGBA(b)
	xdraw.ApproxBiLinear.Scale(out, b, img, image.Rect(dx, dy, b.Dx()-dx, b.Dy()-dy), xdraw.Src, nil)
	return mapChannels(out, func(v float64) float64 { return v + 6 })
}

// gaussianBlur blurs R, G and B with a separable Gaussian of sigma px.
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
	tmp := make([]float64, 4*w*h)
	for y := range h {
		for x := range w {
			var acc [3]float64
			for j, kv := range k {
				xx := min(w-1, max(0, x+j-r))
				p := img.Pix[y*img.Stride+4*xx:]
				acc[0], acc[1], acc[2] = acc[0]+kv*float64(p[0]), acc[1]+kv*float64(p[1]), acc[2]+kv*float64(p[2])
			}
			copy(tmp[4*(y*w+x):], acc[:])
		}
	}
	out := image.NewNRGBA(img.Rect)
	for y := range h {
		for x := range w {
			var acc [3]float64
			for j, kv := range k {
				yy := min(h-1, max(0, y+j-r))
				p := tmp[4*(yy*w+x):]
				acc[0], acc[1], acc[2] = acc[0]+kv*p[0], acc[1]+kv*p[1], acc[2]+kv*p[2]
			}
			o := out.Pix[y*out.Stride+4*x:]
			o[0], o[1], o[2], o[3] = clampByte(acc[0]), clampByte(acc[1]), clampByte(acc[2]), img.Pix[y*img.Stride+4*x+3]
		}
	}
	return out
}

// motionBlur averages each pixel with its n−1 horizontal neighbours (a
// linear camera shake of n px).
func motionBlur(img *image.NRGBA, n int) *image.NRGBA {
	n = max(1, n)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewNRGBA(img.Rect)
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			var acc [3]int
			for k := range n {
				xx := min(w-1, max(0, x+k-n/2))
				acc[0], acc[1], acc[2] = acc[0]+int(row[4*xx]), acc[1]+int(row[4*xx+1]), acc[2]+int(row[4*xx+2])
			}
			o := out.Pix[y*out.Stride+4*x:]
			o[0], o[1], o[2], o[3] = uint8((acc[0]+n/2)/n), uint8((acc[1]+n/2)/n), uint8((acc[2]+n/2)/n), 255
		}
	}
	return out
}

// softUpscale is what a cheap upscaler does: the image at 1/f of its size
// (box-filtered), scaled back up bilinearly.
func softUpscale(img *image.NRGBA, f float64) *image.NRGBA {
	b := img.Rect
	small := image.NewNRGBA(image.Rect(0, 0, max(1, int(float64(b.Dx())/f)), max(1, int(float64(b.Dy())/f))))
	xdraw.CatmullRom.Scale(small, small.Rect, img, b, xdraw.Src, nil)
	out := image.NewNRGBA(b)
	xdraw.BiLinear.Scale(out, b, small, small.Rect, xdraw.Src, nil)
	return out
}

// srgbToLinear and linearToSRGB are the sRGB transfer functions on 0–1.
func srgbToLinear(v float64) float64 {
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

func linearToSRGB(v float64) float64 {
	if v <= 0.0031308 {
		return 12.92 * v
	}
	return 1.055*math.Pow(v, 1/2.4) - 0.055
}

// exposure scales linear light by 2^ev, clipping at white.
func exposure(img *image.NRGBA, ev float64) *image.NRGBA {
	k := math.Exp2(ev)
	return mapChannels(img, func(v float64) float64 { return 255 * linearToSRGB(min(1, k*srgbToLinear(v/255))) })
}

// linearMap is v' = offset + gain·v on every channel.
func linearMap(img *image.NRGBA, offset, gain float64) *image.NRGBA {
	return mapChannels(img, func(v float64) float64 { return offset + gain*v })
}

// posterise rounds every channel to one of n evenly spaced levels.
func posterise(img *image.NRGBA, n int) *image.NRGBA {
	step := 255 / float64(n-1)
	return mapChannels(img, func(v float64) float64 { return math.Round(v/step) * step })
}

// tiled blends the image's 2×2 repeat (the half-size image four times)
// over it with opacity a.
func tiled(img *image.NRGBA, a float64) *image.NRGBA {
	b := img.Rect
	hw, hh := b.Dx()/2, b.Dy()/2
	half := image.NewNRGBA(image.Rect(0, 0, hw, hh))
	xdraw.CatmullRom.Scale(half, half.Rect, img, b, xdraw.Src, nil)
	out := image.NewNRGBA(b)
	for y := range b.Dy() {
		for x := range b.Dx() {
			i := y*img.Stride + 4*x
			t := half.Pix[(y%hh)*half.Stride+4*(x%hw):]
			if x >= 2*hw || y >= 2*hh {
				t = img.Pix[i:]
			}
			for c := range 3 {
				out.Pix[i+c] = clampByte(a*float64(t[c]) + (1-a)*float64(img.Pix[i+c]))
			}
			out.Pix[i+3] = 255
		}
	}
	return out
}

// flatRegion fills the part of the frame right of fx and below fy
// (fractions of the size) with the image's mean colour, exactly flat: a
// render stopped half way.
func flatRegion(img *image.NRGBA, fx, fy float64) *image.NRGBA {
	var sum [3]float64
	n := float64(len(img.Pix) / 4)
	for i := 0; i < len(img.Pix); i += 4 {
		for c := range 3 {
			sum[c] += float64(img.Pix[i+c])
		}
	}
	out := image.NewNRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := int(fy * float64(h)); y < h; y++ {
		for x := int(fx * float64(w)); x < w; x++ {
			o := out.Pix[y*out.Stride+4*x:]
			for c := range 3 {
				o[c] = clampByte(sum[c] / n)
			}
		}
	}
	return out
}

// colourCast scales red and blue in linear light (a white-balance error).
func colourCast(img *image.NRGBA, r, b float64) *image.NRGBA {
	var lr, lb [256]uint8
	for v := range 256 {
		l := srgbToLinear(float64(v) / 255)
		lr[v] = clampByte(255 * linearToSRGB(min(1, l*r)))
		lb[v] = clampByte(255 * linearToSRGB(min(1, l*b)))
	}
	out := image.NewNRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = lr[img.Pix[i]], img.Pix[i+1], lb[img.Pix[i+2]], img.Pix[i+3]
	}
	return out
}
