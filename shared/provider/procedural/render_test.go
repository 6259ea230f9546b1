package procedural

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkRender512 measures rendering alone, without defects or encoding.
func BenchmarkRender512(b *testing.B) { benchmarkRender(b, 512) }

// BenchmarkRender1024 is the size the quality benchmark validates.
func BenchmarkRender1024(b *testing.B) { benchmarkRender(b, 1024) }

// benchmarkRender reports CPU time per op next to wall time (cpu-ms/op):
// on a shared machine other processes stretch wall time, not CPU time. Run
// with -cpu 1 so it is one core's work.
func benchmarkRender(b *testing.B, side int) {
	pal := newPalette(nil)
	sc := parseScene("linen summer dress, product photo")
	seed := uint64(0)
	start := processCPU()
	for b.Loop() {
		seed++
		render(side, side, rand.New(rand.NewPCG(seed, 1)), pal, sc)
	}
	b.ReportMetric(float64(processCPU()-start)/1e6/float64(b.N), "cpu-ms/op")
}
