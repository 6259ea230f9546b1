package quality

// bandAcc measures posterisation (banding): a smooth gradient quantised to
// few levels turns into flat plateaus separated by hard steps. It is fed
// the full-size rows while the working plane is built, like noiseAcc, and
// reads every other row.
//
// A step is a one-pixel change of bandStepMin to bandStepMax levels (a
// visible contour, not a real edge); it is flanked when the two pixel
// pairs on either side are flat (within bandFlat). The measure is the
// share of steps that are flanked. Grain, texture and anti-aliased edges
// put something between plateaus and steps: on the calibration set clean
// photographs and renders measure ≤ 0.008 (most 0), posterised to 6
// levels a channel (steps of 15–50 luma levels) a median of 0.03, to 32
// levels (steps under 12) mostly 0 (docs/quality-benchmark.md). JPEG
// ringing next to a step breaks some flanks, so a posterised photograph
// saved as JPEG reads lower than the same image as PNG, and grain dithers
// a contour into a band of flips, which this measure does not see. Flat
// shapes with aliased edges on a smooth ground read as banding too; a
// generator's output has neither, and a dark picture squeezed to a few
// dozen levels (the tests' darkened scene) is banded in fact. A staircase
// test (consecutive steps the same way) was tried and dropped: it halved
// the recall on posterised photographs.
type bandAcc struct {
	y, rows        int
	steps, flanked int
	// Of those, the ones across an 8×8 block edge (x ≡ 7 mod 8): where a
	// JPEG's blocks show, a flat block next to a flat block steps by
	// their DC difference, which is the codec's and not banding.
	edgeSteps, edgeFlanked int
	cols                   []int32 // flanked steps per column
}

const (
	bandStepMin  = 12
	bandStepMax  = 60
	bandLineRows = 8
	bandFlat     = 1
	// bandMinSteps: fewer steps than this in the frame say nothing.
	bandMinSteps = 200
)

func (a *bandAcc) reset(w int) {
	a.cols = grow(a.cols, w)
	clear(a.cols)
	a.y, a.rows, a.steps, a.flanked, a.edgeSteps, a.edgeFlanked = 0, 0, 0, 0, 0, 0
}

func (a *bandAcc) row(r []uint8) {
	y := a.y
	a.y++
	if y%2 == 1 || len(r) < 6 {
		return
	}
	a.rows++
	ad := func(i int) int {
		d := int(r[i+1]) - int(r[i])
		if d < 0 {
			return -d
		}
		return d
	}
	for x := 2; x+3 < len(r); x++ {
		d := ad(x)
		if d < bandStepMin || d > bandStepMax {
			continue
		}
		edge := x%8 == 7
		a.steps++
		if edge {
			a.edgeSteps++
		}
		if ad(x-1) <= bandFlat && ad(x-2) <= bandFlat && ad(x+1) <= bandFlat && ad(x+2) <= bandFlat {
			a.flanked++
			a.cols[x]++
			if edge {
				a.edgeFlanked++
			}
		}
	}
}

// share is the flanked share of the steps, 0 with too few steps; without
// the block-edge steps when blocks shows a JPEG's grid.
func (a *bandAcc) share(blocks bool) float64 {
	steps := a.steps
	if blocks {
		steps -= a.edgeSteps
	}
	if steps < bandMinSteps {
		return 0
	}
	// One straight vertical boundary (the edge of a flat fill: unfinished;
	// a pole against the sky) puts its flanked steps in one column; a
	// contour of posterisation wanders. Columns holding steps on over an
	// eighth of the rows are left out.
	flanked := a.flanked
	for x, n := range a.cols {
		if int(n) > a.rows/bandLineRows && (!blocks || x%8 != 7) {
			flanked -= int(n)
		}
	}
	if blocks {
		flanked -= a.edgeFlanked
	}
	return float64(max(0, flanked)) / float64(steps)
}
