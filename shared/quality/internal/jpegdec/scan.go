package jpegdec

import "fmt"

// unzig maps a zigzag scan index (the order coefficients are coded in) to
// the natural row-major index within an 8x8 block (T.81 figure A.6).
var unzig = func() (z [64]uint8) {
	// Walk the anti-diagonals row+col = s, alternating direction: odd
	// diagonals run down-left (row increasing), even ones up-right.
	i := 0
	for s := 0; s <= 14; s++ {
		lo, hi := max(0, s-7), min(s, 7)
		for j := lo; j <= hi; j++ {
			row := j
			if s%2 == 0 {
				row = lo + hi - j
			}
			z[i] = uint8(row*8 + s - row)
			i++
		}
	}
	return z
}()

// scanComp is the per-component state of the scan being decoded.
type scanComp struct {
	ci     int // Index into decoder.comp.
	h, v   int // Blocks per MCU, horizontally and vertically.
	dc, ac *huffTable
	q      *[64]int32
	pred   int32 // DC predictor (T.81 F.2.1.3.1).
	pix    []byte
	stride int
}

// decodeScan decodes one interleaved scan covering every component, writing
// each block straight into its plane.
func (d *decoder) decodeScan(sc []scanComp, mxx, myy int) error {
	d.resetBits()
	expectedRST := byte(markerRST0)
	mcu := 0
	for my := 0; my < myy; my++ {
		for mx := 0; mx < mxx; mx++ {
			if d.ri > 0 && mcu > 0 && mcu%d.ri == 0 {
				if err := d.restart(expectedRST); err != nil {
					return err
				}
				expectedRST = markerRST0 + (expectedRST+1)&7
				for i := range sc {
					sc[i].pred = 0
				}
			}
			mcu++
			for i := range sc {
				c := &sc[i]
				for by := 0; by < c.v; by++ {
					off := (my*c.v+by)*8*c.stride + mx*c.h*8
					for bx := 0; bx < c.h; bx++ {
						last, err := d.decodeBlock(c)
						if err != nil {
							return err
						}
						idct(&d.coef, last, c.pix[off+bx*8:], c.stride)
					}
				}
			}
		}
	}
	if d.overrun() {
		return errShortData
	}
	// Leave pos at the first byte not loaded into the bit buffer; the
	// marker loop skips whatever padding remains before the next marker.
	return nil
}

// restart handles the RSTn marker expected after every d.ri MCUs: the
// entropy coder state restarts at the byte boundary after the marker.
func (d *decoder) restart(expected byte) error {
	if d.overrun() {
		return errShortData
	}
	d.resetBits()
	data := d.data
	start := d.pos
	for d.pos < len(data) && data[d.pos] == 0xff {
		d.pos++
	}
	if d.pos >= len(data) {
		return errShortData
	}
	// Exactly the expected marker must follow (fill bytes aside); data
	// before it would mean the previous interval did not decode cleanly.
	if m := data[d.pos]; d.pos == start || m != expected {
		return formatError(fmt.Sprintf("bad restart marker 0x%02x, want 0x%02x", m, expected))
	}
	d.pos++
	return nil
}

// decodeBlock entropy-decodes one block into d.coef, dequantized and in
// natural order (T.81 F.2.2), and returns the zigzag index of the last
// nonzero coefficient so the IDCT can skip work for sparse blocks.
//
// The bit buffer lives in local variables for the duration of the block so
// the compiler keeps it in registers. Every coefficient needs at most 31
// bits (a 16-bit code and 15 magnitude bits), so one check for 32 bits per
// coefficient makes all reads within it safe.
func (d *decoder) decodeBlock(c *scanComp) (int, error) {
	acc, n := d.acc, d.nbits
	coef := &d.coef
	q := c.q

	// DC coefficient: a magnitude category, then that many bits of the
	// difference from the previous block's DC.
	if n < 32 {
		acc, n = d.fill(acc, n)
	}
	var size uint
	if e := c.dc.lut[acc>>(64-lutBits)]; e != 0 {
		l := uint(e >> 8)
		acc <<= l
		n -= l
		size = uint(e & 0xff)
	} else {
		sym, l := c.dc.slowDecode(acc)
		if l == 0 {
			return 0, formatError("bad Huffman code")
		}
		acc <<= l
		n -= l
		size = uint(sym)
	}
	if size != 0 {
		if size > 11 {
			return 0, formatError("bad DC magnitude category")
		}
		diff := extend(int32(acc>>(64-size)), size)
		acc <<= size
		n -= size
		c.pred += diff
	}
	coef[0] = c.pred * q[0]

	// AC coefficients: each symbol is a run of zeros (high nibble) and the
	// magnitude category of the next nonzero coefficient (low nibble).
	tab := c.ac
	last := 0
	for k := 1; k < 64; {
		if n < 32 {
			acc, n = d.fill(acc, n)
		}
		if e := tab.fastAC[acc>>(64-lutBits)]; e != 0 {
			// Code and magnitude resolved by the lookup.
			k += int(e>>4) & 15
			l := uint(e & 15)
			acc <<= l
			n -= l
			if k > 63 {
				return 0, formatError("AC run past end of block")
			}
			coef[unzig[k]] = (e >> 8) * q[k]
			last = k
			k++
			continue
		}
		var rs uint8
		if e := tab.lut[acc>>(64-lutBits)]; e != 0 {
			l := uint(e >> 8)
			acc <<= l
			n -= l
			rs = uint8(e)
		} else {
			sym, l := tab.slowDecode(acc)
			if l == 0 {
				return 0, formatError("bad Huffman code")
			}
			acc <<= l
			n -= l
			rs = sym
		}
		run, size := int(rs>>4), uint(rs&15)
		if size == 0 {
			if run != 15 {
				// EOB. Runs 1-14 with size 0 are reserved in sequential
				// mode (they mean EOB runs in progressive scans); like
				// libjpeg, treat them as a plain EOB.
				break
			}
			k += 16 // ZRL: sixteen zeros.
			continue
		}
		k += run
		if k > 63 {
			return 0, formatError("AC run past end of block")
		}
		v := extend(int32(acc>>(64-size)), size)
		acc <<= size
		n -= size
		coef[unzig[k]] = v * q[k]
		last = k
		k++
	}

	d.acc, d.nbits = acc, n
	return last, nil
}
