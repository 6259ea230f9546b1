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

	thumb []uint8   // colour thumbnail, 3 bytes a pixel
	noise noiseAcc  // full-size noise estimate, fed by workingLuma
	inv   []float32 // 1 / source columns per destination column
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
// long side, into s.luma. It reads the source once, row by row, and feeds
// every full-size row to s.noise on the way.
func workingLuma(img image.Image, s *scratch) (luma []uint8, w, h int) {
	b := img.Bounds()
	bs := newBoxScaler(b.Dx(), b.Dy(), WorkingSide)
	s.luma = grow(s.luma, bs.dw*bs.dh)
	s.sums = grow(s.sums, bs.dw)
	s.row = grow(s.row, bs.sw)
	clear(s.sums)
	s.noise.reset(bs.sw)
	// Destination rows are filled in order, so one row of sums suffices:
	// flush it whenever the source moves on to the next destination row.
	// Reciprocals instead of a division per cell: the divisions were a
	// third of the whole plane's cost.
	s.inv = grow(s.inv, bs.dw)
	for dx, n := range bs.colN {
		s.inv[dx] = 1 / float32(n)
	}
	flush := func(dy int) {
		out := s.luma[dy*bs.dw : (dy+1)*bs.dw]
		invRow := 1 / float32(bs.rowN[dy])
		for dx, sum := range s.sums {
			out[dx] = uint8(float32(sum)*s.inv[dx]*invRow + 0.5)
		}
		clear(s.sums)
	}
	cur := 0
	for y := range bs.sh {
		if dy := bs.row(y); dy != cur {
			flush(cur)
			cur = dy
		}
		row := s.row
		if ycc, ok := img.(*image.YCbCr); ok {
			// A JPEG's Y plane is the luma: read it in place.
			i := ycc.YOffset(b.Min.X, b.Min.Y+y)
			row = ycc.Y[i : i+bs.sw]
		} else {
			lumaRow(img, y, row)
		}
		s.noise.row(row)
		if k := bs.sw / bs.dw; k == 2 && 2*bs.dw == bs.sw {
			for dx := range s.sums {
				s.sums[dx] += uint32(row[2*dx]) + uint32(row[2*dx+1])
			}
		} else if k*bs.dw == bs.sw {
			// Whole cells of k pixels: add runs, no per-pixel lookup.
			for dx := range s.sums {
				var sum uint32
				for _, v := range row[dx*k : dx*k+k] {
					sum += uint32(v)
				}
				s.sums[dx] += sum
			}
		} else {
			for x, v := range row {
				s.sums[bs.xmap[x]] += uint32(v)
			}
		}
	}
	flush(cur)
	return s.luma, bs.dw, bs.dh
}
