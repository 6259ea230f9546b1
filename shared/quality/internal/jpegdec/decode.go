// Package jpegdec is a fast decoder for baseline sequential Huffman JPEG
// (ITU-T T.81), the flavour produced by image/jpeg.Encode and most encoders at
// default settings.
//
// It exists because the quality validator decodes every generated image and
// image/jpeg spends most of its time in bit-at-a-time Huffman decoding and in
// a full IDCT for every block. This decoder reads the entropy-coded data
// several bytes at a time, decodes most coefficients with a single table
// lookup, and skips IDCT work for blocks whose coefficients are mostly zero.
//
// Anything outside the common baseline subset (progressive, arithmetic, 12-bit,
// CMYK, RGB, multi-scan baseline, ...) is reported as ErrUnsupported so the
// caller can fall back to image/jpeg. The output is laid out exactly like
// image/jpeg's: an *image.Gray or *image.YCbCr whose planes are padded to whole
// MCUs and whose Rect is the frame size.
package jpegdec

import (
	"errors"
	"fmt"
	"image"
)

// ErrUnsupported is returned (possibly wrapped) for valid JPEG features this
// decoder does not handle; callers should then fall back to image/jpeg.
var ErrUnsupported = errors.New("jpegdec: unsupported JPEG feature")

// errShortData mirrors image/jpeg, which fails on truncated files (including
// a missing EOI marker and entropy-coded data that ends early).
var errShortData = errors.New("jpegdec: invalid JPEG: unexpected end of data")

func unsupported(what string) error { return fmt.Errorf("%w: %s", ErrUnsupported, what) }

func formatError(what string) error { return errors.New("jpegdec: invalid JPEG: " + what) }

// maxDim bounds each side of the frame. The caller already limits images far
// below this; the check keeps hostile headers from requesting huge planes.
const maxDim = 16384

// Marker codes (T.81 table B.1) that the decoder handles explicitly.
const (
	markerSOF0  = 0xc0 // Baseline DCT.
	markerSOF1  = 0xc1 // Extended sequential DCT, Huffman.
	markerSOF2  = 0xc2 // Progressive DCT, Huffman.
	markerDHT   = 0xc4
	markerRST0  = 0xd0
	markerRST7  = 0xd7
	markerSOI   = 0xd8
	markerEOI   = 0xd9
	markerSOS   = 0xda
	markerDQT   = 0xdb
	markerDRI   = 0xdd
	markerAPP0  = 0xe0
	markerAPP14 = 0xee
	markerAPP15 = 0xef
	markerCOM   = 0xfe
)

type component struct {
	id   byte
	h, v int // Sampling factors; forced to 1x1 for single-component frames.
	tq   int // Quantization table selector.
}

type decoder struct {
	data []byte
	pos  int // Next unread byte of data.

	// Bit reader state for entropy-coded data; see bits.go.
	acc      uint64 // Unconsumed bits, left-aligned (next bit is bit 63).
	nbits    uint   // Number of valid bits in acc, including padding.
	pad      uint   // Total zero bits appended after the data ran out.
	atMarker bool   // The reader reached a marker or the end of data.

	baseline      bool
	width, height int
	nComp         int
	comp          [3]component

	quant    [4][64]int32 // Zigzag order, as stored in DQT.
	quantSet [4]bool
	huff     [2][4]*huffTable // [class: 0 = DC, 1 = AC][destination]

	ri int // Restart interval in MCUs; 0 means no restart markers.

	jfif           bool
	adobeValid     bool
	adobeTransform byte

	scanned bool
	img1    *image.Gray
	img3    *image.YCbCr

	// coef holds one block of dequantized coefficients in natural order. It
	// is kept all-zero between blocks so the entropy decoder only writes the
	// nonzero entries.
	coef [64]int32
}

// Decode decodes a baseline JPEG into an *image.YCbCr (three components,
// JFIF/YCbCr) or an *image.Gray (one component).
func Decode(data []byte) (image.Image, error) {
	d := &decoder{data: data}
	return d.decode()
}

func (d *decoder) decode() (image.Image, error) {
	if len(d.data) < 2 || d.data[0] != 0xff || d.data[1] != markerSOI {
		return nil, formatError("missing SOI marker")
	}
	d.pos = 2
	for {
		marker, err := d.nextMarker()
		if err != nil {
			return nil, err
		}
		if marker == markerEOI {
			break
		}
		if markerRST0 <= marker && marker <= markerRST7 {
			// A stray restart marker after the last entropy-coded segment
			// carries no data; image/jpeg ignores it too.
			continue
		}
		if d.pos+2 > len(d.data) {
			return nil, errShortData
		}
		n := int(d.data[d.pos])<<8 | int(d.data[d.pos+1]) - 2
		d.pos += 2
		if n < 0 {
			return nil, formatError("short segment length")
		}
		if d.pos+n > len(d.data) {
			return nil, errShortData
		}
		seg := d.data[d.pos : d.pos+n]
		d.pos += n

		switch {
		case marker == markerSOF0 || marker == markerSOF1:
			d.baseline = marker == markerSOF0
			err = d.processSOF(seg)
		case marker == markerSOF2:
			err = unsupported("progressive JPEG")
		case marker == markerDHT:
			err = d.processDHT(seg)
		case marker == markerDQT:
			err = d.processDQT(seg)
		case marker == markerDRI:
			err = d.processDRI(seg)
		case marker == markerSOS:
			// The entropy-coded data follows the SOS header directly.
			err = d.processSOS(seg)
		case marker == markerAPP0:
			d.jfif = len(seg) >= 5 && string(seg[:5]) == "JFIF\x00"
		case marker == markerAPP14:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobeValid = true
				d.adobeTransform = seg[11]
			}
		case markerAPP0 <= marker && marker <= markerAPP15, marker == markerCOM:
			// Metadata we have no use for.
		case marker < 0xc0:
			err = formatError(fmt.Sprintf("unknown marker 0x%02x", marker))
		default:
			// Other SOFn (lossless, arithmetic, hierarchical), DAC, DNL, ...
			err = unsupported(fmt.Sprintf("marker 0x%02x", marker))
		}
		if err != nil {
			return nil, err
		}
	}

	if !d.scanned {
		return nil, formatError("missing SOS marker")
	}
	if d.isRGB() {
		// Only detectable for certain once all APPn segments were seen.
		return nil, unsupported("RGB color space")
	}
	if d.img1 != nil {
		return d.img1, nil
	}
	return d.img3, nil
}

// nextMarker skips to the next marker and returns its code. Like image/jpeg
// (and libjpeg) it silently ignores extraneous bytes before a marker, fill
// bytes (0xff) and stuffed zero bytes outside entropy-coded data.
func (d *decoder) nextMarker() (byte, error) {
	data := d.data
	for {
		for d.pos < len(data) && data[d.pos] != 0xff {
			d.pos++
		}
		for d.pos < len(data) && data[d.pos] == 0xff {
			d.pos++
		}
		if d.pos >= len(data) {
			return 0, errShortData
		}
		m := data[d.pos]
		d.pos++
		if m != 0 {
			return m, nil
		}
	}
}

// isRGB reports whether a three-component image stores RGB rather than
// YCbCr, using the same heuristics as image/jpeg.
func (d *decoder) isRGB() bool {
	if d.nComp != 3 || d.jfif {
		return false
	}
	if d.adobeValid && d.adobeTransform == 0 {
		return true
	}
	return d.comp[0].id == 'R' && d.comp[1].id == 'G' && d.comp[2].id == 'B'
}

// processSOF parses a frame header (T.81 B.2.2).
func (d *decoder) processSOF(seg []byte) error {
	if d.nComp != 0 {
		return formatError("multiple SOF markers")
	}
	if len(seg) < 6 {
		return formatError("SOF too short")
	}
	nc := int(seg[5])
	if nc != 1 && nc != 3 {
		return unsupported(fmt.Sprintf("%d components", nc))
	}
	if len(seg) != 6+3*nc {
		return formatError("SOF has wrong length")
	}
	if seg[0] != 8 {
		return unsupported(fmt.Sprintf("%d-bit precision", seg[0]))
	}
	d.height = int(seg[1])<<8 | int(seg[2])
	d.width = int(seg[3])<<8 | int(seg[4])
	if d.height == 0 {
		// The height would be defined by a DNL marker after the first scan.
		return unsupported("DNL (zero height in SOF)")
	}
	if d.width == 0 {
		return formatError("zero width")
	}
	if d.width > maxDim || d.height > maxDim {
		return formatError(fmt.Sprintf("image too large (%dx%d)", d.width, d.height))
	}

	for i := 0; i < nc; i++ {
		c := &d.comp[i]
		c.id = seg[6+3*i]
		for j := 0; j < i; j++ {
			if d.comp[j].id == c.id {
				return formatError("repeated component identifier")
			}
		}
		c.tq = int(seg[8+3*i])
		if c.tq > 3 {
			return formatError("bad Tq value")
		}
		h, v := int(seg[7+3*i]>>4), int(seg[7+3*i]&0x0f)
		if h < 1 || h > 4 || v < 1 || v > 4 {
			return formatError("bad sampling factors")
		}
		if nc == 1 {
			// A single-component scan is non-interleaved, so its MCU is
			// one block whatever the nominal sampling factors (A.2).
			h, v = 1, 1
		} else {
			// image.YCbCr can only represent chroma planes subsampled by
			// 1, 2 or 4 horizontally and 1 or 2 vertically, both chroma
			// planes alike (the same rule image/jpeg applies).
			if h == 3 || v == 3 {
				return unsupported("sampling factor 3")
			}
			switch i {
			case 0:
				if v == 4 {
					return unsupported("luma vertical sampling factor 4")
				}
			case 1:
				if d.comp[0].h%h != 0 || d.comp[0].v%v != 0 {
					return unsupported("chroma sampling not a divisor of luma sampling")
				}
			case 2:
				if d.comp[1].h != h || d.comp[1].v != v {
					return unsupported("Cb and Cr sampled differently")
				}
			}
		}
		c.h, c.v = h, v
	}
	d.nComp = nc
	return nil
}

// processDQT parses quantization tables (T.81 B.2.4.1).
func (d *decoder) processDQT(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&0x0f
		seg = seg[1:]
		if tq > 3 {
			return formatError("bad Tq value")
		}
		q := &d.quant[tq]
		switch pq {
		case 0:
			if len(seg) < 64 {
				return formatError("DQT has wrong length")
			}
			for i := range q {
				q[i] = int32(seg[i])
			}
			seg = seg[64:]
		case 1:
			if len(seg) < 128 {
				return formatError("DQT has wrong length")
			}
			for i := range q {
				q[i] = int32(seg[2*i])<<8 | int32(seg[2*i+1])
			}
			seg = seg[128:]
		default:
			return formatError("bad Pq value")
		}
		d.quantSet[tq] = true
	}
	return nil
}

// processDRI parses a restart interval definition (T.81 B.2.4.4).
func (d *decoder) processDRI(seg []byte) error {
	if len(seg) != 2 {
		return formatError("DRI has wrong length")
	}
	d.ri = int(seg[0])<<8 | int(seg[1])
	return nil
}

// processDHT parses Huffman table definitions (T.81 B.2.4.2).
func (d *decoder) processDHT(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return formatError("DHT has wrong length")
		}
		tc, th := seg[0]>>4, seg[0]&0x0f
		if tc > 1 || th > 3 {
			return formatError("bad DHT class or destination")
		}
		var counts [16]int
		total := 0
		for i := range counts {
			counts[i] = int(seg[1+i])
			total += counts[i]
		}
		seg = seg[17:]
		if total == 0 || total > 256 || len(seg) < total {
			return formatError("DHT has wrong length")
		}
		t := d.huff[tc][th]
		if t == nil {
			t = new(huffTable)
			d.huff[tc][th] = t
		}
		if err := t.build(&counts, seg[:total], tc == 1); err != nil {
			return err
		}
		seg = seg[total:]
	}
	return nil
}

// processSOS parses a scan header (T.81 B.2.3), allocates the image and
// decodes the entropy-coded data that follows.
func (d *decoder) processSOS(seg []byte) error {
	if d.nComp == 0 {
		return formatError("missing SOF marker")
	}
	if d.scanned {
		return unsupported("multiple scans")
	}
	if len(seg) < 1 || len(seg) != 4+2*int(seg[0]) {
		return formatError("SOS has wrong length")
	}
	ns := int(seg[0])
	if ns == 0 || ns > d.nComp {
		return formatError("bad number of scan components")
	}
	if ns != d.nComp {
		// The frame is split over several non-interleaved scans.
		return unsupported("non-interleaved baseline scans")
	}
	if d.isRGB() {
		return unsupported("RGB color space")
	}
	maxTable := byte(3)
	if d.baseline {
		maxTable = 1 // Table B.3.
	}

	var sc [3]scanComp
	var used [3]bool
	for i := 0; i < ns; i++ {
		id, tables := seg[1+2*i], seg[2+2*i]
		ci := -1
		for j := 0; j < d.nComp; j++ {
			if d.comp[j].id == id {
				ci = j
			}
		}
		if ci < 0 {
			return formatError("unknown component selector")
		}
		if used[ci] {
			return formatError("repeated component selector")
		}
		used[ci] = true
		td, ta := tables>>4, tables&0x0f
		if td > maxTable || ta > maxTable {
			return formatError("bad Huffman table selector")
		}
		c := &d.comp[ci]
		s := &sc[i]
		s.ci, s.h, s.v = ci, c.h, c.v
		s.dc, s.ac = d.huff[0][td], d.huff[1][ta]
		if s.dc == nil || s.ac == nil {
			return formatError("missing Huffman table")
		}
		if !d.quantSet[c.tq] {
			return formatError("missing quantization table")
		}
		s.q = &d.quant[c.tq]
	}

	h0, v0 := d.comp[0].h, d.comp[0].v
	mxx := (d.width + 8*h0 - 1) / (8 * h0)
	myy := (d.height + 8*v0 - 1) / (8 * v0)

	// Every block costs at least two bits (a DC code and an EOB code), and
	// truncated data is an error, so data too short for the frame can be
	// rejected before allocating planes for it.
	blocksPerMCU := 0
	for i := 0; i < ns; i++ {
		blocksPerMCU += sc[i].h * sc[i].v
	}
	if blocksPerMCU > 10 {
		return formatError("too many blocks per MCU")
	}
	if minBytes := mxx * myy * blocksPerMCU / 4; len(d.data)-d.pos < minBytes {
		return errShortData
	}

	d.makeImg(mxx, myy)
	for i := 0; i < ns; i++ {
		s := &sc[i]
		switch {
		case d.img1 != nil:
			s.pix, s.stride = d.img1.Pix, d.img1.Stride
		case s.ci == 0:
			s.pix, s.stride = d.img3.Y, d.img3.YStride
		case s.ci == 1:
			s.pix, s.stride = d.img3.Cb, d.img3.CStride
		default:
			s.pix, s.stride = d.img3.Cr, d.img3.CStride
		}
	}
	if err := d.decodeScan(sc[:ns], mxx, myy); err != nil {
		return err
	}
	d.scanned = true
	return nil
}

// makeImg allocates the output with planes padded to whole MCUs, matching
// image/jpeg's layout so strides and offsets are identical.
func (d *decoder) makeImg(mxx, myy int) {
	if d.nComp == 1 {
		m := image.NewGray(image.Rect(0, 0, 8*mxx, 8*myy))
		d.img1 = m.SubImage(image.Rect(0, 0, d.width, d.height)).(*image.Gray)
		return
	}
	h0, v0 := d.comp[0].h, d.comp[0].v
	var ratio image.YCbCrSubsampleRatio
	switch (h0/d.comp[1].h)<<4 | v0/d.comp[1].v {
	case 0x11:
		ratio = image.YCbCrSubsampleRatio444
	case 0x12:
		ratio = image.YCbCrSubsampleRatio440
	case 0x21:
		ratio = image.YCbCrSubsampleRatio422
	case 0x22:
		ratio = image.YCbCrSubsampleRatio420
	case 0x41:
		ratio = image.YCbCrSubsampleRatio411
	case 0x42:
		ratio = image.YCbCrSubsampleRatio410
	}
	// processSOF only admits the ratios listed above.
	m := image.NewYCbCr(image.Rect(0, 0, 8*h0*mxx, 8*v0*myy), ratio)
	d.img3 = m.SubImage(image.Rect(0, 0, d.width, d.height)).(*image.YCbCr)
}
