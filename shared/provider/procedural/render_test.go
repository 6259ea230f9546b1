package procedural

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkRender512 measures rendering alone, without defects or encoding.
func BenchmarkRender512(b *testing.B) { benchmarkRender(b, 512) }

// BenchmarkRender1024 is the size the quality benchmark validates.
func BenchmarkRender1024(b *testing.B) { benchmarkRender(b, 1024) }

func benchmarkRender(b *testing.B, side int) {
	pal := newPalette(nil)
	sc := parseScene("linen summer dress, product photo")
	seed := uint64(0)
	for b.Loop() {
		seed++
		render(side, side, rand.New(rand.NewPCG(seed, 1)), pal, sc)
	}
}
