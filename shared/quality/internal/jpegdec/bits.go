package jpegdec

import "encoding/binary"

// The entropy-coded data is read into a 64-bit accumulator, most significant
// bit first, so the next bits to decode are always acc's top bits and a
// Huffman lookup is a single shift. Bits below the valid ones are zero.
//
// Inside entropy-coded data a 0xff data byte is followed by a stuffed 0x00,
// and 0xff followed by anything else is a marker (RSTn at a restart boundary,
// otherwise the end of the scan). When the reader reaches a marker or the end
// of the input it stays there and appends zero bits, counting them in pad, so
// the decoder never has to check for the end in its inner loop; consuming
// any of those padding bits means the data was truncated (see overrun).

// hasFF reports whether any byte of x is 0xff, using the classic "has zero
// byte" bit trick on ^x.
func hasFF(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	y := ^x
	return (y-lo)&^y&hi != 0
}

// fill tops up acc to at least 57 valid bits (or exactly 64 at the end of
// the data). The common case takes up to 8 bytes at once when none of them
// is 0xff, so byte stuffing and markers only cost time where they occur.
func (d *decoder) fill(acc uint64, n uint) (uint64, uint) {
	if p := d.pos; p+8 <= len(d.data) {
		x := binary.BigEndian.Uint64(d.data[p:])
		if !hasFF(x) {
			k := (64 - n) >> 3 // Whole bytes that fit.
			// Keep only the k leading bytes of x, placed right after the
			// n valid bits.
			acc |= x >> (64 - 8*k) << (64 - 8*k - n)
			d.pos = p + int(k)
			return acc, n + 8*k
		}
	}
	return d.fillSlow(acc, n)
}

// fillSlow adds one byte at a time, removing stuffed zeros and stopping at
// markers and at the end of the data.
func (d *decoder) fillSlow(acc uint64, n uint) (uint64, uint) {
	data := d.data
	for n <= 56 && !d.atMarker {
		p := d.pos
		if p >= len(data) {
			d.atMarker = true
			break
		}
		b := data[p]
		if b == 0xff {
			if p+1 >= len(data) || data[p+1] != 0 {
				// A marker (possibly preceded by fill bytes), or a lone
				// 0xff at the end of the data. Leave pos on it.
				d.atMarker = true
				break
			}
			p++ // Skip the stuffed zero.
		}
		acc |= uint64(b) << (56 - n)
		n += 8
		d.pos = p + 1
	}
	if d.atMarker {
		d.pad += 64 - n
		n = 64
	}
	return acc, n
}

// overrun reports whether decoding consumed padding bits, i.e. ran past the
// end of the entropy-coded segment.
func (d *decoder) overrun() bool { return d.nbits < d.pad }

// resetBits discards buffered bits, as at a restart marker where the encoder
// pads the data to a byte boundary.
func (d *decoder) resetBits() {
	d.acc, d.nbits, d.pad, d.atMarker = 0, 0, 0, false
}
