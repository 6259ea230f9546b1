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
	// flatBackdrop: flat tiles on this share of the border make a
	// backdrop. A half-frame fill holds half the border.
	flatBackdrop = 0.6
	// flatBorderMin: a flat colour with less than this share of the border
	// is not part of the backdrop.
	flatBorderMin = 0.1
)

// flatRegion is the share of the frame's tiles in the commonest flat mid
// colour and the share of flat mid tiles in any other colour. A colour
// that holds most of the frame's border tiles is a backdrop around a
// subject (a grey seamless, or a white surround after an exposure change),
// not a fill: when most of the border is flat, the colours found on it are
// not counted as the commonest.
func flatRegion(luma []uint8, w, h int) (largest, other float64) {
	var byLevel, border [256]int
	tiles, flat, ring := 0, 0, 0
	for ty := 0; ty+flatTileSide <= h; ty += flatTileSide {
		for tx := 0; tx+flatTileSide <= w; tx += flatTileSide {
			tiles++
			edge := tx == 0 || ty == 0 || tx+2*flatTileSide > w || ty+2*flatTileSide > h
			if edge {
				ring++
			}
			lo, hi, sum := uint8(255), uint8(0), 0
			for y := ty; y < ty+flatTileSide; y++ {
				for _, v := range luma[y*w+tx : y*w+tx+flatTileSide] {
					lo, hi, sum = min(lo, v), max(hi, v), sum+int(v)
				}
			}
			mean := sum / (flatTileSide * flatTileSide)
			if int(hi)-int(lo) <= flatTileSpan && mean > flatDark && mean < flatLight {
				byLevel[mean]++
				flat++
				if edge {
					border[mean]++
				}
			}
		}
	}
	if tiles == 0 || flat == 0 {
		return 0, 0
	}
	// The border mostly flat (in any mid colours: a backdrop may hold two
	// close shades) makes the flat colours found on it a backdrop.
	flatBorder := 0
	for _, n := range border {
		flatBorder += n
	}
	backdrop := float64(flatBorder) >= flatBackdrop*float64(ring)
	best := 0
	for v := range byLevel {
		n, onBorder := 0, 0
		for u := max(0, v-flatColourTol); u <= min(255, v+flatColourTol); u++ {
			n, onBorder = n+byLevel[u], onBorder+border[u]
		}
		if !backdrop || float64(onBorder) < flatBorderMin*float64(ring) {
			best = max(best, n)
		}
	}
	return float64(best) / float64(tiles), float64(flat-best) / float64(tiles)
}
