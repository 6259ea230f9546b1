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
	row2 []uint8  // the second source row of a halving

	thumb    []uint8   // colour thumbnail, 3 bytes a pixel
	box      []uint8   // a product shot's subject, for its fingerprint
	tile     []uint8   // the tiledness plane
	tileSums []uint32  // its cell sums
	noise    noiseAcc  // full-size noise estimate, fed by workingLuma
	edges    edgeAcc   // full-size edge steepness, fed by workingLuma
	bands    bandAcc   // full-size posterisation steps, fed by workingLuma
	inv      []float32 // 1 / source columns per destination column

	nss nssScratch // natural-scene statistics rows and patches (nss.go)
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
	s.noise.reset(bs.sw)
	s.edges.reset(bs.sw)
	s.bands.reset(bs.sw)
	if bs.sw == 2*bs.dw && bs.sh == 2*bs.dh {
		halveLuma(img, s, bs.dw, bs.dh)
		return s.luma, bs.dw, bs.dh
	}
	s.sums = grow(s.sums, bs.dw)
	s.row = grow(s.row, bs.sw)
	clear(s.sums)
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
		row := sourceLuma(img, y, s.row)
		s.noise.row(row)
		s.edges.row(row)
		s.bands.row(row)
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

// halveLuma is workingLuma for a source exactly twice the working size
// (the common 1024 → 512): each working pixel is the rounded mean of a 2×2
// cell, read two source rows at a time, the same values as the general
// path without its row of sums.
func halveLuma(img image.Image, s *scratch, dw, dh int) {
	s.row = grow(s.row, 2*dw)
	s.row2 = grow(s.row2, 2*dw)
	for dy := range dh {
		top := sourceLuma(img, 2*dy, s.row)
		bottom := sourceLuma(img, 2*dy+1, s.row2)
		s.noise.row(top)
		s.edges.row(top)
		s.bands.row(top)
		s.noise.row(bottom)
		s.edges.row(bottom)
		s.bands.row(bottom)
		out := s.luma[dy*dw : (dy+1)*dw]
		top, bottom = top[:2*len(out)], bottom[:2*len(out)]
		for dx := range out {
			sum := uint32(top[2*dx]) + uint32(top[2*dx+1]) + uint32(bottom[2*dx]) + uint32(bottom[2*dx+1])
			out[dx] = uint8((sum + 2) >> 2)
		}
	}
}

// sourceLuma returns the luma of source row y (relative to the bounds):
// a JPEG's Y plane row in place, any other image converted into buf.
func sourceLuma(img image.Image, y int, buf []uint8) []uint8 {
	if ycc, ok := img.(*image.YCbCr); ok {
		b := ycc.Rect
		i := ycc.YOffset(b.Min.X, b.Min.Y+y)
		return ycc.Y[i : i+b.Dx()]
	}
	lumaRow(img, y, buf)
	return buf
}
