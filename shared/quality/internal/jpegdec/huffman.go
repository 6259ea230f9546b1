package jpegdec

// lutBits is the number of leading bits resolved by a single table lookup.
// With typical tables (image/jpeg's, libjpeg's defaults and optimized ones)
// almost every code is at most 9 bits long, and the tables stay small enough
// (3 KiB per AC table) to live in L1 cache.
const lutBits = 9

// huffTable is a decoding table for one DHT destination.
//
// JPEG Huffman codes are canonical (T.81 annex C): codes of each length are
// consecutive integers, and the codes of length L+1 start at twice the value
// following the last code of length L. That makes two decoding structures
// cheap to build:
//   - lut maps every lutBits-bit prefix to the code it starts with, if that
//     code is at most lutBits long;
//   - maxCode/valOffset resolve longer codes one length at a time
//     (the procedure of T.81 F.2.2.3).
type huffTable struct {
	// lut[p] is codeLength<<8 | symbol for the code starting prefix p,
	// or 0 when the code is longer than lutBits (or p starts no code).
	lut [1 << lutBits]uint16

	// fastAC is only filled for AC tables. When the code and the magnitude
	// bits that follow it both fit in lutBits, fastAC[p] is
	// value<<8 | run<<4 | totalLength, with value already sign-extended,
	// so the coefficient needs no further bit reading. Otherwise it is 0.
	// EOB and ZRL (zero magnitude) are never in fastAC.
	fastAC [1 << lutBits]int32

	// maxCode[l] is the largest code of length l, as a left-aligned
	// comparison value; see slowDecode. It is -1 when no code of length l
	// or longer can match, and for l > 16 it is unused.
	maxCode [17]int32
	// valOffset[l] turns a code of length l into an index into vals.
	valOffset [17]int32
	vals      [256]uint8
}

// build fills t from a DHT segment's 16 code-length counts and its symbols.
func (t *huffTable) build(counts *[16]int, symbols []byte, isAC bool) error {
	*t = huffTable{}
	copy(t.vals[:], symbols)

	code, k := int32(0), int32(0) // Next code value and next symbol index.
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		// valOffset is chosen so that vals[code+valOffset] is the symbol.
		t.valOffset[l] = k - code
		if code+n > 1<<l {
			return formatError("bad Huffman table (over-subscribed code lengths)")
		}
		// For lengths without codes this is code-1, which no l-bit value
		// that reached this length can be at or below (see slowDecode).
		t.maxCode[l] = code + n - 1
		if l <= lutBits {
			// Each code of length l owns 2^(lutBits-l) consecutive prefixes.
			span := int32(1) << (lutBits - l)
			for i := int32(0); i < n; i++ {
				sym := symbols[k+i]
				first := (code + i) * span
				for p := first; p < first+span; p++ {
					t.lut[p] = uint16(l)<<8 | uint16(sym)
				}
			}
		}
		code = (code + n) << 1
		k += n
	}
	if isAC {
		t.buildFastAC()
	}
	return nil
}

// buildFastAC precomputes, for each prefix, the (run, value) pair of an AC
// coefficient whose Huffman code and magnitude bits fit together in lutBits.
func (t *huffTable) buildFastAC() {
	for p := range t.lut {
		e := t.lut[p]
		if e == 0 {
			continue
		}
		l := int(e >> 8)
		run, size := int(e&0xff)>>4, int(e&0x0f)
		if size == 0 || l+size > lutBits {
			continue
		}
		// The magnitude bits are the size bits after the code.
		bits := int32(p>>(lutBits-l-size)) & (1<<size - 1)
		v := extend(bits, uint(size))
		t.fastAC[p] = v<<8 | int32(run)<<4 | int32(l+size)
	}
}

// extend converts a size-bit magnitude category value into the signed
// coefficient it encodes (T.81 F.2.2.1, procedure EXTEND): values whose top
// bit is clear are negative. It is branch-free because the sign of AC
// coefficients is effectively random and a branch would mispredict often.
func extend(v int32, size uint) int32 {
	// (v >> (size-1)) - 1 is all ones exactly when the top bit is clear.
	return v - ((v>>(size-1) - 1) & (1<<size - 1))
}

// slowDecode decodes a code longer than lutBits from the left-aligned bits
// in acc. It returns the symbol and the code length, or length 0 if the bits
// are not a valid code.
//
// It relies on the lut miss: canonical codes of length <= lutBits occupy
// exactly the lowest prefixes, so a missed prefix is at or above the first
// code of length lutBits+1, and for each longer length l the l-bit value is
// then at or above the first code of length l unless it exceeded maxCode at
// a shorter length. Hence "value <= maxCode[l]" identifies the length.
func (t *huffTable) slowDecode(acc uint64) (sym uint8, length uint) {
	for l := uint(lutBits + 1); l <= 16; l++ {
		v := int32(acc >> (64 - l))
		if v <= t.maxCode[l] {
			return t.vals[uint8(v+t.valOffset[l])], l
		}
	}
	return 0, 0
}
