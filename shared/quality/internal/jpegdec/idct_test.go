package jpegdec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnzig(t *testing.T) {
	t.Parallel()
	// The start of T.81 figure A.6, and the end.
	require.Equal(t, []uint8{0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5}, unzig[:16])
	require.Equal(t, []uint8{61, 54, 47, 55, 62, 63}, unzig[58:])
	var seen [64]bool
	for _, n := range unzig {
		require.False(t, seen[n], "duplicate %d", n)
		seen[n] = true
	}
	// Zigzag indexes 0-9 are exactly the top-left 4x4 entries that
	// idct4x4 relies on being the only nonzero ones.
	for _, n := range unzig[:10] {
		require.Less(t, n%8, uint8(4))
		require.Less(t, n/8, uint8(4))
	}
}

// referenceIDCT is the textbook 2-D inverse DCT of T.81 A.3.3 in floating
// point, rounded, level-shifted and clamped.
func referenceIDCT(c *[64]int32) (out [64]uint8) {
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			sum := 0.0
			for v := 0; v < 8; v++ {
				for u := 0; u < 8; u++ {
					cu, cv := 1.0, 1.0
					if u == 0 {
						cu = math.Sqrt2 / 2
					}
					if v == 0 {
						cv = math.Sqrt2 / 2
					}
					sum += cu * cv * float64(c[v*8+u]) *
						math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) *
						math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
				}
			}
			out[y*8+x] = uint8(math.Max(0, math.Min(255, math.Round(sum/4+128))))
		}
	}
	return out
}

// randomBlock returns coefficients with magnitudes decaying with frequency,
// limited to zigzag indexes <= last.
func randomBlock(rng *rand.Rand, last int) *[64]int32 {
	var c [64]int32
	for k := 0; k <= last; k++ {
		if k > 0 && rng.IntN(3) == 0 {
			continue
		}
		scale := 600 / (1 + float64(k)/2)
		c[unzig[k]] = int32(rng.NormFloat64() * scale)
	}
	return &c
}

func runIDCT(c *[64]int32, last int) (out [64]uint8) {
	cc := *c
	idct(&cc, last, out[:], 8)
	if cc != ([64]int32{}) {
		panic("idct did not clear its input")
	}
	return out
}

func TestIDCTMatchesReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	worst := 0
	for i := 0; i < 2000; i++ {
		last := []int{0, 5, 9, 20, 63}[i%5]
		c := randomBlock(rng, last)
		got, want := runIDCT(c, last), referenceIDCT(c)
		for j := range got {
			d := int(got[j]) - int(want[j])
			worst = max(worst, max(d, -d))
		}
	}
	require.LessOrEqual(t, worst, 1)
}

func TestIDCT4x4MatchesFull(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 5000; i++ {
		c := randomBlock(rng, 9)
		var full, fast [64]uint8
		c1, c2 := *c, *c
		idctFull(&c1, full[:], 8)
		idct4x4(&c2, fast[:], 8)
		require.Equal(t, full, fast, "coefficients %v", *c)
	}
}

func benchmarkIDCT(b *testing.B, last int) {
	rng := rand.New(rand.NewPCG(5, 6))
	blocks := make([][64]int32, 256)
	for i := range blocks {
		blocks[i] = *randomBlock(rng, last)
	}
	var c [64]int32
	out := make([]byte, 8*64)
	i := 0
	for b.Loop() {
		c = blocks[i&255]
		idct(&c, last, out, 64)
		i++
	}
}

func BenchmarkIDCTFull(b *testing.B) { benchmarkIDCT(b, 63) }
func BenchmarkIDCT4x4(b *testing.B)  { benchmarkIDCT(b, 9) }
