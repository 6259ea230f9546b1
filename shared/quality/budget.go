package quality

import (
	"encoding/binary"
	"image"
)

// Decode budgets: the most heap a decoder may need for one image, estimated
// from its header (decodeCost) before any pixel is decoded. The pixel caps
// alone do not bound memory: under 40 MP a 16-bit PNG decodes to 8 bytes a
// pixel and a progressive JPEG keeps every DCT coefficient as an int32. An
// image over its budget is refused as too large, like one over the caps.
//
// The budgets are a quarter of the function's memory, because Go's collector
// lets the heap grow to about twice the live data (GOGC=100) and the previous
// invocation's garbage may not be collected yet.
const (
	// ProviderBudget bounds a generated image in the validate function
	// (1024 MB): a 40 MP 8-bit RGBA PNG (160 MB) fits, a 16-bit one does not.
	ProviderBudget = 256 << 20
	// ReferenceBudget bounds a user's reference image in the API function
	// (512 MB, which also holds the request): a 24 MP baseline JPEG (36 MB)
	// or a 16 MP progressive 4:2:0 one (120 MB) fits.
	ReferenceBudget = 128 << 20
)

// decodeCost estimates, from the header, the peak heap in bytes that
// image/png, image/jpeg or x/image/webp allocates to decode data, whose
// header decodeConfig has already accepted as cfg. It errs on the high side;
// a header it cannot follow gets the format's worst case.
func decodeCost(data []byte, cfg image.Config, format string) int64 {
	// Row buffers, Huffman tables, zlib and bufio state: well under this.
	const overhead = 1 << 20
	px := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case FormatPNG:
		return overhead + pngCost(data, px)
	case FormatJPEG:
		return overhead + jpegCost(data, cfg)
	case FormatWebP:
		return overhead + webpCost(data, cfg)
	}
	return overhead
}

// pngCost: image/png allocates one image of the output type, whose bytes per
// pixel follow the colour type and bit depth (16-bit samples and
// transparency widen it), and for an interlaced (Adam7) file also one image
// per pass, together as large again (the collector may free the earlier
// passes before the later ones, but need not).
func pngCost(data []byte, px int64) int64 {
	if len(data) < 29 {
		return 2 * 8 * px
	}
	depth, colourType, interlaced := data[24], data[25], data[28] != 0
	var bpp int64
	switch {
	case colourType == 3: // paletted
		bpp = 1
	case colourType == 0 && !pngHasTRNS(data): // grey: Gray or Gray16
		bpp = max(1, int64(depth)/8)
	case depth == 16: // NRGBA64 or RGBA64
		bpp = 8
	default: // RGBA or NRGBA
		bpp = 4
	}
	if interlaced {
		return 2 * bpp * px
	}
	return bpp * px
}

// pngHasTRNS reports whether a tRNS chunk precedes the image data.
func pngHasTRNS(data []byte) bool {
	for p := 8; p+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[p:]))
		switch string(data[p+4 : p+8]) {
		case "tRNS":
			return true
		case "IDAT":
			return false
		}
		next := int64(p) + 12 + n
		if next > int64(len(data)) {
			break
		}
		p = int(next)
	}
	return false
}

// jpegCost: image/jpeg allocates one byte per sample for each component's
// plane (padded to whole MCUs), a progressive file also keeps every
// coefficient of every component as an int32 until the end (4 bytes per
// sample), and a CMYK or RGB file is converted to a 4-byte-per-pixel image
// on top.
func jpegCost(data []byte, cfg image.Config) int64 {
	h := jpegHeader(data)
	if h.comps == 0 {
		// Not followed: four components, progressive, converted.
		return (4*(1+4) + 4) * int64(cfg.Width+16) * int64(cfg.Height+16)
	}
	if h.comps == 1 {
		h.h[0], h.v[0] = 1, 1 // one component is never interleaved: one block per MCU
	}
	h0, v0 := int64(h.h[0]), int64(h.v[0])
	mxx := (int64(cfg.Width) + 8*h0 - 1) / (8 * h0)
	myy := (int64(cfg.Height) + 8*v0 - 1) / (8 * v0)
	var blocks int64
	for i := range h.comps {
		blocks += mxx * myy * int64(h.h[i]) * int64(h.v[i])
	}
	cost := 64 * blocks
	if h.progressive {
		cost += 4 * 64 * blocks
	}
	if h.comps == 4 || h.comps == 3 && h.rgb() {
		cost += 4 * (8 * h0 * mxx) * (8 * v0 * myy)
	}
	return cost
}

// jpegInfo is what jpegHeader reads from the markers before the first scan.
type jpegInfo struct {
	comps       int // 0 when no frame header was found
	progressive bool
	h, v        [4]uint8 // sampling factors
	ids         [4]uint8 // component identifiers
	jfif        bool
	adobe       bool // an Adobe APP14 segment with transform 0 (RGB)
}

// rgb mirrors image/jpeg's decision to convert three components to RGBA.
func (j jpegInfo) rgb() bool {
	return !j.jfif && (j.adobe || j.ids[0] == 'R' && j.ids[1] == 'G' && j.ids[2] == 'B')
}

// jpegHeader walks the marker segments up to the first scan.
func jpegHeader(data []byte) jpegInfo {
	var j, none jpegInfo
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xff {
			return none
		}
		m := data[p+1]
		switch {
		case m == 0xff: // fill byte
			p++
			continue
		case m == 0xd8 || m >= 0xd0 && m <= 0xd7 || m == 0x01: // no payload
			p += 2
			continue
		case m == 0xda || m == 0xd9: // start of scan, end of image
			return j
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return none
		}
		seg := data[p+4 : p+2+n]
		switch m {
		case 0xc0, 0xc1, 0xc2: // the frames image/jpeg decodes
			if len(seg) < 6 {
				return none
			}
			c := int(seg[5])
			if c != 1 && c != 3 && c != 4 || len(seg) < 6+3*c {
				return none
			}
			j.comps, j.progressive = c, m == 0xc2
			for i := range c {
				f := seg[6+3*i:]
				j.ids[i], j.h[i], j.v[i] = f[0], max(1, f[1]>>4), max(1, f[1]&15)
			}
		case 0xe0:
			j.jfif = j.jfif || len(seg) >= 5 && string(seg[:5]) == "JFIF\x00"
		case 0xee:
			j.adobe = j.adobe || len(seg) >= 12 && string(seg[:5]) == "Adobe" && seg[11] == 0
		}
		p += 2 + n
	}
	return j
}

// webpCost: a lossy (VP8) frame decodes to 4:2:0 YCbCr padded to 16 px
// macroblocks, 1.5 bytes a pixel; a lossless (VP8L) one to 4 bytes a pixel
// of NRGBA, and its colour-indexing transform expands a packed copy into a
// second buffer as large: 8 bytes a pixel. Lossy alpha (ALPH) is an alpha
// plane, decoded, when compressed, through a lossless NRGBA image: 5 bytes a
// pixel on top.
func webpCost(data []byte, cfg image.Config) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	lossy := (w + 15) / 16 * 16 * ((h + 15) / 16 * 16) * 3 / 2
	var cost int64
	for p := 12; p+8 <= len(data); {
		n := int64(binary.LittleEndian.Uint32(data[p+4:]))
		switch string(data[p : p+4]) {
		case "VP8 ":
			return cost + lossy
		case "VP8L":
			return cost + 8*w*h
		case "ALPH":
			cost = 5 * w * h
		}
		next := int64(p) + 8 + n + n%2
		if next > int64(len(data)) {
			break
		}
		p = int(next)
	}
	return 5*w*h + 8*w*h // not followed: the worst case
}
