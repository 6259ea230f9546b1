package quality

import (
	"image"
	"image/color"
)

// boxScaler maps a sw×sh source onto a dw×dh grid (dw ≤ sw, dh ≤ sh) by area
// averaging: every source pixel lands in exactly one destination cell, cells
// differ in size by at most one source pixel per side. One pass, integer
// sums, no per-pixel interface calls.
type boxScaler struct {
	sw, sh, dw, dh int
	xmap           []int32  // source column → destination column
	colN, rowN     []uint32 // source columns/rows per destination column/row
}

// newBoxScaler fits the source into maxSide on its long side, never
// upscaling, and keeps the aspect ratio (each side at least 1).
func newBoxScaler(sw, sh, maxSide int) boxScaler {
	dw, dh := sw, sh
	if long := max(sw, sh); long > maxSide {
		dw = max(1, (sw*maxSide+long/2)/long)
		dh = max(1, (sh*maxSide+long/2)/long)
	}
	b := boxScaler{sw: sw, sh: sh, dw: dw, dh: dh,
		xmap: make([]int32, sw), colN: make([]uint32, dw), rowN: make([]uint32, dh)}
	for x := range sw {
		d := x * dw / sw
		b.xmap[x] = int32(d)
		b.colN[d]++
	}
	for y := range sh {
		b.rowN[y*dh/sh]++
	}
	return b
}

// row returns the destination row that source row y falls in.
func (b boxScaler) row(y int) int { return y * b.dh / b.sh }

// luma8 is BT.601 luma of 8-bit R′G′B′, rounded (the same weights as
// color.GrayModel).
func luma8(r, g, b uint32) uint8 {
	return uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
}

// overWhite composites non-premultiplied luma l with alpha a over white.
func overWhite(l, a uint32) uint8 {
	return uint8((l*a + 255*(255-a) + 127) / 255)
}

// lumaRow writes the BT.601 luma of source row y (0-based, relative to the
// bounds) into dst, which has the image's width. Transparent pixels are
// composited over white, the way a cut-out is shown on a page; compositing
// over black would make every cut-out look underexposed.
func lumaRow(img image.Image, y int, dst []uint8) {
	r := img.Bounds()
	w := r.Dx()
	switch m := img.(type) {
	case *image.YCbCr:
		// A JPEG's Y plane is already BT.601 luma.
		i := y * m.YStride
		copy(dst, m.Y[i:i+w])
	case *image.NYCbCrA:
		i, j := y*m.YStride, y*m.AStride
		for x := range w {
			dst[x] = overWhite(uint32(m.Y[i+x]), uint32(m.A[j+x]))
		}
	case *image.Gray:
		i := y * m.Stride
		copy(dst, m.Pix[i:i+w])
	case *image.NRGBA:
		// These loops run for every pixel of every PNG and WebP: they walk
		// the row by re-slicing, which lets the compiler drop the bounds
		// checks that indexing p[4*x] costs (about 40 % faster).
		p := m.Pix[y*m.Stride : y*m.Stride+4*w]
		for x := range dst[:w] {
			q := p[:4:4]
			l := luma8(uint32(q[0]), uint32(q[1]), uint32(q[2]))
			if a := q[3]; a != 0xff {
				l = overWhite(uint32(l), uint32(a))
			}
			dst[x] = l
			p = p[4:]
		}
	case *image.RGBA:
		p := m.Pix[y*m.Stride : y*m.Stride+4*w]
		for x := range dst[:w] {
			q := p[:4:4]
			// Premultiplied: adding the missing coverage as white composites.
			dst[x] = luma8(uint32(q[0]), uint32(q[1]), uint32(q[2])) + (0xff - q[3])
			p = p[4:]
		}
	case *image.Paletted:
		var lut [256]uint8
		for k, c := range m.Palette {
			cr, cg, cb, ca := c.RGBA()
			lut[k] = luma8(cr>>8, cg>>8, cb>>8) + uint8((0xffff-ca)>>8)
		}
		p := m.Pix[y*m.Stride : y*m.Stride+w]
		for x, k := range p {
			dst[x] = lut[k]
		}
	default:
		sy := r.Min.Y + y
		for x := range w {
			cr, cg, cb, ca := img.At(r.Min.X+x, sy).RGBA()
			dst[x] = luma8(cr>>8, cg>>8, cb>>8) + uint8((0xffff-ca)>>8)
		}
	}
}

// rgbaRow writes premultiplied 8-bit RGBA of source row y into dst (4 bytes
// a pixel).
func rgbaRow(img image.Image, y int, dst []uint8) {
	r := img.Bounds()
	w := r.Dx()
	switch m := img.(type) {
	case *image.YCbCr:
		for x := range w {
			yi := m.YOffset(r.Min.X+x, r.Min.Y+y)
			ci := m.COffset(r.Min.X+x, r.Min.Y+y)
			cr, cg, cb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = cr, cg, cb, 0xff
		}
	case *image.NRGBA:
		p := m.Pix[y*m.Stride : y*m.Stride+4*w]
		for x := range w {
			a := uint32(p[4*x+3])
			dst[4*x] = uint8((uint32(p[4*x])*a + 127) / 255)
			dst[4*x+1] = uint8((uint32(p[4*x+1])*a + 127) / 255)
			dst[4*x+2] = uint8((uint32(p[4*x+2])*a + 127) / 255)
			dst[4*x+3] = uint8(a)
		}
	case *image.RGBA:
		copy(dst, m.Pix[y*m.Stride:y*m.Stride+4*w])
	case *image.Gray:
		p := m.Pix[y*m.Stride : y*m.Stride+w]
		for x, v := range p {
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = v, v, v, 0xff
		}
	default:
		sy := r.Min.Y + y
		for x := range w {
			cr, cg, cb, ca := img.At(r.Min.X+x, sy).RGBA()
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = uint8(cr>>8), uint8(cg>>8), uint8(cb>>8), uint8(ca>>8)
		}
	}
}
