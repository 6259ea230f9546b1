package jpegdec

import "encoding/binary"

// The inverse DCT is the separable 8x8 transform of T.81 A.3.3, computed as
// eight 1-D column transforms followed by eight 1-D row transforms, using
// the Loeffler–Ligtenberg–Moschytz factorization (12 multiplications per
// 1-D transform) in fixed point.
//
// Constants are the factorization's multipliers scaled by 2^constBits. With
// c(k) = cos(k*pi/16), each is sqrt(2) times a combination of cosines:
const (
	constBits = 13
	pass1Bits = 2 // Extra precision kept between the two passes.

	fix0298 = 2446  // sqrt2 * (-c1 + c3 + c5 - c7)
	fix0390 = 3196  // sqrt2 * (c5 - c3), negated
	fix0541 = 4433  // sqrt2 * c6
	fix0765 = 6270  // sqrt2 * (c2 - c6)
	fix0899 = 7373  // sqrt2 * (c7 - c3), negated
	fix1175 = 9633  // sqrt2 * c3
	fix1501 = 12299 // sqrt2 * (c1 + c3 - c5 - c7)
	fix1847 = 15137 // sqrt2 * (c2 + c6)
	fix1961 = 16069 // sqrt2 * (-c3 - c5), negated
	fix2053 = 16819 // sqrt2 * (c1 + c3 - c5 + c7)
	fix2562 = 20995 // sqrt2 * (-c1 - c3), negated
	fix3072 = 25172 // sqrt2 * (c1 + c3 + c5 - c7)

	// The row pass removes constBits+pass1Bits of scaling plus the 1/8
	// normalization of the 2-D transform, rounds to nearest, and adds the
	// +128 level shift (T.81 A.3.1); both offsets are folded into one bias.
	rowShift = constBits + pass1Bits + 3
	rowBias  = 1<<(rowShift-1) + 128<<rowShift
)

// idct transforms the dequantized block c (natural order), writes the 8x8
// samples to dst with the given stride, and leaves c all zero for the next
// block. last is the zigzag index of the last nonzero coefficient.
func idct(c *[64]int32, last int, dst []byte, stride int) {
	if last == 0 {
		// Only DC: every sample is DC/8 + 128. This is the most common
		// block in smooth areas and at low quality.
		v := clamp8((int(c[0])+4)>>3 + 128)
		c[0] = 0
		fill8x8(dst, stride, v*0x0101010101010101)
		return
	}
	if last <= 9 {
		idct4x4(c, dst, stride)
	} else {
		idctFull(c, dst, stride)
	}
	*c = [64]int32{}
}

func clamp8(v int) uint64 { return uint64(min(max(v, 0), 255)) }

func fill8x8(dst []byte, stride int, word uint64) {
	for r := 0; r < 8; r++ {
		binary.LittleEndian.PutUint64(dst[r*stride:], word)
	}
}

// idctFull runs the complete two-pass transform. Columns and rows whose AC
// terms are all zero, which is most of them in typical images, skip the
// arithmetic because their 1-D transform is a constant. The 1-D transform
// is written out in both passes because the compiler will not inline it.
func idctFull(c *[64]int32, dst []byte, stride int) {
	var ws [64]int
	for col := 0; col < 8; col++ {
		s0, s1, s2, s3 := int(c[col]), int(c[col+8]), int(c[col+16]), int(c[col+24])
		s4, s5, s6, s7 := int(c[col+32]), int(c[col+40]), int(c[col+48]), int(c[col+56])
		if s1|s2|s3|s4|s5|s6|s7 == 0 {
			v := s0 << pass1Bits
			ws[col], ws[col+8], ws[col+16], ws[col+24] = v, v, v, v
			ws[col+32], ws[col+40], ws[col+48], ws[col+56] = v, v, v, v
			continue
		}

		// Even part: inputs 0, 2, 4, 6 form a 4-point IDCT; the rotation
		// of (s2, s6) by 3*pi/8 shares one multiplication.
		z1 := (s2 + s6) * fix0541
		e2 := z1 - s6*fix1847
		e3 := z1 + s2*fix0765
		e0 := (s0+s4)<<constBits + 1<<(constBits-pass1Bits-1)
		e1 := (s0-s4)<<constBits + 1<<(constBits-pass1Bits-1)
		a0, a3 := e0+e3, e0-e3
		a1, a2 := e1+e2, e1-e2

		// Odd part: inputs 7, 5, 3, 1 through the butterfly-and-rotation
		// network, sharing the common factor z5.
		y1, y2, y3, y4 := s7+s1, s5+s3, s7+s3, s5+s1
		z5 := (y3 + y4) * fix1175
		y1 *= -fix0899
		y2 *= -fix2562
		y3 = y3*-fix1961 + z5
		y4 = y4*-fix0390 + z5
		p0 := s7*fix0298 + y1 + y3
		p1 := s5*fix2053 + y2 + y4
		p2 := s3*fix3072 + y2 + y3
		p3 := s1*fix1501 + y1 + y4

		const sh = constBits - pass1Bits
		ws[col], ws[col+56] = (a0+p3)>>sh, (a0-p3)>>sh
		ws[col+8], ws[col+48] = (a1+p2)>>sh, (a1-p2)>>sh
		ws[col+16], ws[col+40] = (a2+p1)>>sh, (a2-p1)>>sh
		ws[col+24], ws[col+32] = (a3+p0)>>sh, (a3-p0)>>sh
	}

	for row := 0; row < 8; row++ {
		w := (*[8]int)(ws[row*8 : row*8+8])
		d := dst[row*stride : row*stride+8]
		s0, s1, s2, s3, s4, s5, s6, s7 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
		if s1|s2|s3|s4|s5|s6|s7 == 0 {
			// rowBias>>constBits is exact: both terms are multiples of it.
			v := clamp8((s0 + rowBias>>constBits) >> (pass1Bits + 3))
			binary.LittleEndian.PutUint64(d, v*0x0101010101010101)
			continue
		}

		z1 := (s2 + s6) * fix0541
		e2 := z1 - s6*fix1847
		e3 := z1 + s2*fix0765
		e0 := (s0+s4)<<constBits + rowBias
		e1 := (s0-s4)<<constBits + rowBias
		a0, a3 := e0+e3, e0-e3
		a1, a2 := e1+e2, e1-e2

		y1, y2, y3, y4 := s7+s1, s5+s3, s7+s3, s5+s1
		z5 := (y3 + y4) * fix1175
		y1 *= -fix0899
		y2 *= -fix2562
		y3 = y3*-fix1961 + z5
		y4 = y4*-fix0390 + z5
		p0 := s7*fix0298 + y1 + y3
		p1 := s5*fix2053 + y2 + y4
		p2 := s3*fix3072 + y2 + y3
		p3 := s1*fix1501 + y1 + y4

		binary.LittleEndian.PutUint64(d, pack8(a0+p3, a1+p2, a2+p1, a3+p0, a3-p0, a2-p1, a1-p2, a0-p3))
	}
}

// pack8 descales eight row-pass outputs to clamped samples, packed
// little-endian so a row is stored with one write.
func pack8(v0, v1, v2, v3, v4, v5, v6, v7 int) uint64 {
	return clamp8(v0>>rowShift) | clamp8(v1>>rowShift)<<8 |
		clamp8(v2>>rowShift)<<16 | clamp8(v3>>rowShift)<<24 |
		clamp8(v4>>rowShift)<<32 | clamp8(v5>>rowShift)<<40 |
		clamp8(v6>>rowShift)<<48 | clamp8(v7>>rowShift)<<56
}

// idct4x4 is idctFull specialized for blocks whose nonzero coefficients all
// lie in the top-left 4x4 corner (zigzag index <= 9), which is most
// textured blocks at usual qualities. With inputs 4-7 zero, the 1-D
// transform's products of constants combine ahead of time; the results are
// bit-identical to idctFull's because only exact integer identities are
// used.
func idct4x4(c *[64]int32, dst []byte, stride int) {
	// ws holds the column pass output for columns 0-3, row-major with a
	// row length of 4; columns 4-7 are all zero.
	var ws [32]int
	for col := 0; col < 4; col++ {
		s0, s1, s2, s3 := int(c[col]), int(c[col+8]), int(c[col+16]), int(c[col+24])
		if s1|s2|s3 == 0 {
			v := s0 << pass1Bits
			ws[col], ws[col+4], ws[col+8], ws[col+12] = v, v, v, v
			ws[col+16], ws[col+20], ws[col+24], ws[col+28] = v, v, v, v
			continue
		}
		e0 := s0<<constBits + 1<<(constBits-pass1Bits-1)
		e2 := s2 * fix0541
		e3 := s2 * (fix0541 + fix0765)
		a0, a3 := e0+e3, e0-e3
		a1, a2 := e0+e2, e0-e2

		z5 := (s1 + s3) * fix1175
		p0 := z5 - s1*fix0899 - s3*fix1961
		p1 := z5 - s3*fix2562 - s1*fix0390
		p2 := z5 + s3*(fix3072-fix2562-fix1961)
		p3 := z5 + s1*(fix1501-fix0899-fix0390)

		const sh = constBits - pass1Bits
		ws[col], ws[col+28] = (a0+p3)>>sh, (a0-p3)>>sh
		ws[col+4], ws[col+24] = (a1+p2)>>sh, (a1-p2)>>sh
		ws[col+8], ws[col+20] = (a2+p1)>>sh, (a2-p1)>>sh
		ws[col+12], ws[col+16] = (a3+p0)>>sh, (a3-p0)>>sh
	}

	for row := 0; row < 8; row++ {
		w := (*[4]int)(ws[row*4 : row*4+4])
		d := dst[row*stride : row*stride+8]
		s0, s1, s2, s3 := w[0], w[1], w[2], w[3]
		if s1|s2|s3 == 0 {
			v := clamp8((s0 + rowBias>>constBits) >> (pass1Bits + 3))
			binary.LittleEndian.PutUint64(d, v*0x0101010101010101)
			continue
		}
		e0 := s0<<constBits + rowBias
		e2 := s2 * fix0541
		e3 := s2 * (fix0541 + fix0765)
		a0, a3 := e0+e3, e0-e3
		a1, a2 := e0+e2, e0-e2

		z5 := (s1 + s3) * fix1175
		p0 := z5 - s1*fix0899 - s3*fix1961
		p1 := z5 - s3*fix2562 - s1*fix0390
		p2 := z5 + s3*(fix3072-fix2562-fix1961)
		p3 := z5 + s1*(fix1501-fix0899-fix0390)

		binary.LittleEndian.PutUint64(d, pack8(a0+p3, a1+p2, a2+p1, a3+p0, a3-p0, a2-p1, a1-p2, a0-p3))
	}
}
