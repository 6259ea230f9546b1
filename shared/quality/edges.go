package quality

import "slices"

// edgeAcc measures how steep the strong edges are, at native resolution,
// tile by tile, in both directions (see edgeStats). It is fed the
// full-size rows while the working plane is built, like noiseAcc.
//
// For a window of edgeSpan pixels whose ends differ by at least
// edgeContrast levels (an edge inside it), the steepness is the largest
// one-pixel step in the window over the window's contrast: ≈ 1 for a crisp
// edge, 1/w for an edge blurred over w pixels. A Gaussian blur of σ = 2 px
// brings it to ≈ 0.25, a ×4 soft upscale to ≈ 0.25, while a downscaled
// photograph's edges sit at 0.45–1. The Laplacian variance of the working
// plane cannot tell these apart: a downscale sharpens a blur away and a
// soft upscale keeps enough mid-frequency energy to pass.
//
// Tiles rather than the whole frame: a shallow depth of field has a sharp
// subject on a soft background, so only the sharpest tiles are judged.
// Directions apart: a motion blur softens one direction only.
type edgeAcc struct {
	w, y  int
	ring  [edgeSpan + 1][]uint8 // the last edgeSpan+1 rows, for vertical windows
	tiles [2][]edgeTile         // per direction, tile row by tile column, for the current band
	done  [2][]float64          // mean steepness of every finished tile with enough windows
}

// edgeTile sums the steepness of the windows in one tile.
type edgeTile struct {
	sum float64
	n   int
}

const (
	edgeSpan     = 8   // window length, native px
	edgeContrast = 40  // levels between the window's ends for it to hold an edge
	edgeTileSide = 64  // native px
	edgeMinN     = 24  // windows a tile needs to count
	edgeTop      = 0.1 // share of the counted tiles judged (the sharpest)
)

func (a *edgeAcc) reset(w int) {
	a.w, a.y = w, 0
	for i := range a.ring {
		a.ring[i] = grow(a.ring[i], w)
	}
	cols := (w + edgeTileSide - 1) / edgeTileSide
	for d := range a.tiles {
		a.tiles[d] = grow(a.tiles[d], cols)
		clear(a.tiles[d])
		a.done[d] = a.done[d][:0]
	}
}

// row takes the next full-size row. Horizontal windows are read on every
// other row, vertical ones on every other row and column: a quarter and
// an eighth of the pixels are plenty for tile means.
func (a *edgeAcc) row(r []uint8) {
	y := a.y
	a.y++
	w := a.w
	if w <= edgeSpan {
		return
	}
	copy(a.ring[y%len(a.ring)], r)
	if y%2 == 0 {
		a.horizontal(r)
		if y >= edgeSpan {
			a.vertical(a.ring[(y-edgeSpan)%len(a.ring)], y)
		}
	}
	if (y+1)%edgeTileSide == 0 {
		a.flush()
	}
}

func (a *edgeAcc) horizontal(r []uint8) {
	t := a.tiles[0]
	for x := 0; x+edgeSpan < len(r); x++ {
		span := int(r[x+edgeSpan]) - int(r[x])
		if span < 0 {
			span = -span
		}
		if span < edgeContrast {
			continue
		}
		steep := 0
		for k := x; k < x+edgeSpan; k++ {
			d := int(r[k+1]) - int(r[k])
			if d < 0 {
				d = -d
			}
			steep = max(steep, d)
		}
		c := &t[x/edgeTileSide]
		c.sum += float64(steep) / float64(span)
		c.n++
	}
}

// vertical reads the windows from row top (edgeSpan rows up) to row y.
func (a *edgeAcc) vertical(top []uint8, y int) {
	bottom := a.ring[y%len(a.ring)]
	t := a.tiles[1]
	n := len(a.ring)
	for x := 0; x < a.w; x += 2 {
		span := int(bottom[x]) - int(top[x])
		if span < 0 {
			span = -span
		}
		if span < edgeContrast {
			continue
		}
		steep := 0
		for k := y - edgeSpan; k < y; k++ {
			d := int(a.ring[(k+1)%n][x]) - int(a.ring[k%n][x])
			if d < 0 {
				d = -d
			}
			steep = max(steep, d)
		}
		c := &t[x/edgeTileSide]
		c.sum += float64(steep) / float64(span)
		c.n++
	}
}

// flush closes the current band of tiles.
func (a *edgeAcc) flush() {
	for d := range a.tiles {
		for i, c := range a.tiles[d] {
			if c.n >= edgeMinN {
				a.done[d] = append(a.done[d], c.sum/float64(c.n))
			}
			a.tiles[d][i] = edgeTile{}
		}
	}
}

// edgeStats are the steepness of the sharpest tiles in each direction
// (0 when no tile has enough edges) and how many tiles counted.
type edgeStats struct {
	steep [2]float64
	tiles [2]int
}

// sharpest is the steepness along the sharper direction.
func (e edgeStats) sharpest() float64 { return max(e.steep[0], e.steep[1]) }

// balance is the softer direction's steepness over the sharper one's, 1
// when either direction has too few tiles to tell (a motion blur makes it
// small).
func (e edgeStats) balance() float64 {
	if min(e.tiles[0], e.tiles[1]) < edgeBalanceTiles || e.sharpest() == 0 {
		return 1
	}
	return min(e.steep[0], e.steep[1]) / e.sharpest()
}

const edgeBalanceTiles = 4

func (a *edgeAcc) stats() edgeStats {
	a.flush() // the last, partial band (a no-op after a whole one)
	var st edgeStats
	for d, vs := range a.done {
		st.tiles[d] = len(vs)
		if len(vs) == 0 {
			continue
		}
		slices.Sort(vs)
		k := max(2, int(float64(len(vs))*edgeTop+0.999))
		k = min(k, len(vs))
		var s float64
		for _, v := range vs[len(vs)-k:] {
			s += v
		}
		st.steep[d] = s / float64(k)
	}
	return st
}
