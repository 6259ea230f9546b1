package quality

// Featureless regions: a generator that stopped early or failed on part of
// its canvas leaves a large region of one flat colour (the "unfinished"
// defect). Measured on the working plane in flatTileSide tiles: a tile is
// flat when its levels span at most flatTileSpan. A 2× box downscale
// halves a camera's grain, and real grain of σ ≈ 1.5 levels still spans
// ~4 levels over a tile, so only synthetic fills (and flat art) count.
//
// Tiles near white or black are left out: a studio surround (a product
// shot) and crushed shadows are flat by nature, and over/underexposure has
// its own reasons. Flat art (an illustration drawn in a few flat colours)
// has many flat tiles too, but they come in several colours; an unfinished
// image has one flat colour and ordinary detail elsewhere. So the measure
// is the share of the frame in the commonest flat colour, and an image
// whose other flat colours also cover much of the frame is flat art, not
// judged.
const (
	flatTileSide  = 16
	flatTileSpan  = 2   // levels: max − min within a flat tile
	flatDark      = 12  // mean luma at or below: a shadow, not a fill
	flatLight     = 243 // mean luma at or above: a white surround, not a fill
	flatColourTol = 3   // levels: flat tiles within it of each other are one colour
	// flatArtOther: flat tiles of other colours beyond this share of the
	// frame make the picture flat art (not judged).
	flatArtOther = 0.15
	// flatSideShare: a flat colour on this share of each of the four
	// sides' tiles is a backdrop.
	flatSideShare = 0.25
)

// flatRegion is the share of the frame's tiles in the commonest flat mid
// colour and the share of flat mid tiles in any other colour. A colour
// found along all four sides of the frame is a backdrop around a subject
// (a grey seamless, a flat illustrated ground, a white surround after an
// exposure change), not a fill, and is not counted as the commonest: a
// half-frame fill reaches three sides, a quarter two.
func flatRegion(luma []uint8, w, h int) (largest, other float64) {
	var byLevel [256]int
	var onSide [4][256]int // top, bottom, left, right
	cols, rows := w/flatTileSide, h/flatTileSide
	tiles, flat := 0, 0
	for ty := range rows {
		for tx := range cols {
			tiles++
			// Every other row and column: a textured tile shows its
			// spread on a quarter of its pixels, at a quarter of the cost.
			lo, hi, sum := uint8(255), uint8(0), 0
			for y := ty * flatTileSide; y < (ty+1)*flatTileSide; y += 2 {
				row := luma[y*w+tx*flatTileSide : y*w+(tx+1)*flatTileSide]
				for x := 0; x < len(row); x += 2 {
					v := row[x]
					lo, hi, sum = min(lo, v), max(hi, v), sum+int(v)
				}
			}
			mean := sum / (flatTileSide * flatTileSide / 4)
			if int(hi)-int(lo) > flatTileSpan || mean <= flatDark || mean >= flatLight {
				continue
			}
			byLevel[mean]++
			flat++
			for side, on := range [4]bool{ty == 0, ty == rows-1, tx == 0, tx == cols-1} {
				if on {
					onSide[side][mean]++
				}
			}
		}
	}
	if tiles == 0 || flat == 0 {
		return 0, 0
	}
	best := 0
	for v := range byLevel {
		n := 0
		var sides [4]int
		for u := max(0, v-flatColourTol); u <= min(255, v+flatColourTol); u++ {
			n += byLevel[u]
			for side := range sides {
				sides[side] += onSide[side][u]
			}
		}
		backdrop := true
		for side, k := range sides {
			length := cols
			if side >= 2 {
				length = rows
			}
			backdrop = backdrop && float64(k) >= flatSideShare*float64(length)
		}
		if !backdrop {
			best = max(best, n)
		}
	}
	return float64(best) / float64(tiles), float64(flat-best) / float64(tiles)
}
