package procedural

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkRender512 measures rendering alone, without defects or encoding.
func BenchmarkRender512(b *testing.B) {
	pal := newPalette(nil)
	seed := uint64(0)
	for b.Loop() {
		seed++
		render(512, 512, rand.New(rand.NewPCG(seed, 1)), pal)
	}
}
