package quality

import (
	"image"
	"sync"
)

// WorkingSide is the long side, in pixels, of the luma plane every metric is
// computed on. Images are box-downscaled to it (never upscaled), so
// scale-dependent metrics such as the Laplacian variance mean the same for
// any provider size. Changing it changes every threshold: bump Version.
const WorkingSide = 512

// scratch holds the per-call buffers of the working plane; they are pooled
// because Validate runs for every candidate and the plane is the one sizeable
// allocation besides the decoder's own.
type scratch struct {
	luma []uint8  // working plane, w×h
	sums []uint32 // one destination row of source sums
	row  []uint8  // one source row of luma
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// grow returns s[:n], reallocating only when the capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// workingLuma box-downscales img's BT.601 luma to at most WorkingSide on the
// long side, into s.luma. It reads the source once, row by row.
func workingLuma(img image.Image, s *scratch) (luma []uint8, w, h int) {
	b := img.Bounds()
	bs := newBoxScaler(b.Dx(), b.Dy(), WorkingSide)
	s.luma = grow(s.luma, bs.dw*bs.dh)
	s.sums = grow(s.sums, bs.dw)
	s.row = grow(s.row, bs.sw)
	clear(s.sums)
	// Destination rows are filled in order, so one row of sums suffices:
	// flush it whenever the source moves on to the next destination row.
	flush := func(dy int) {
		out := s.luma[dy*bs.dw : (dy+1)*bs.dw]
		for dx, sum := range s.sums {
			n := bs.colN[dx] * bs.rowN[dy]
			out[dx] = uint8((sum + n/2) / n)
		}
		clear(s.sums)
	}
	cur := 0
	for y := range bs.sh {
		if dy := bs.row(y); dy != cur {
			flush(cur)
			cur = dy
		}
		lumaRow(img, y, s.row)
		for x, v := range s.row {
			s.sums[bs.xmap[x]] += uint32(v)
		}
	}
	flush(cur)
	return s.luma, bs.dw, bs.dh
}
