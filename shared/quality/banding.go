package quality

// bandAcc measures posterisation (banding): a smooth gradient quantised to
// few levels turns into flat plateaus separated by hard steps. It is fed
// the full-size rows while the working plane is built, like noiseAcc, and
// reads every other row.
//
// A step is a one-pixel change of bandStepMin to bandStepMax levels (a
// visible contour, not a real edge); it is flanked when the two pixel
// pairs on either side are flat (within one level). The measure is the
// share of steps that are flanked. Flat shapes with aliased edges on a
// smooth ground read as banding too; a generator's output has neither, and
// a dark picture squeezed to a few dozen levels (the tests' darkened scene)
// is banded in fact. A staircase test (consecutive steps the same way)
// was tried and dropped: it halved the recall on posterised photographs. Grain, texture and anti-aliased edges
// put something between plateaus and steps, so clean photographs and
// renders measure ≤ 0.008, flat art too (its edges are anti-aliased);
// posterised to 6 levels a channel (steps of 15–50 luma levels) a median
// of 0.025 and up to 0.13; to 32 levels (steps under 12) at most 0.013.
// JPEG ringing next to a step breaks some flanks, so a posterised
// photograph saved as JPEG reads lower than the same image as PNG.
type bandAcc struct {
	y, rows        int
	steps, flanked int
	cols           []int32 // flanked steps per column
}

const (
	bandStepMin  = 12
	bandStepMax  = 60
	bandLineRows = 8
	// bandMinSteps: fewer steps than this in the frame say nothing.
	bandMinSteps = 200
)

func (a *bandAcc) reset(w int) {
	a.cols = grow(a.cols, w)
	clear(a.cols)
	a.y, a.rows, a.steps, a.flanked = 0, 0, 0, 0
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
		a.steps++
		if ad(x-1) <= 1 && ad(x-2) <= 1 && ad(x+1) <= 1 && ad(x+2) <= 1 {
			a.flanked++
			a.cols[x]++
		}
	}
}

// share is the flanked share of the steps, 0 with too few steps.
func (a *bandAcc) share() float64 {
	if a.steps < bandMinSteps {
		return 0
	}
	// One straight vertical boundary (the edge of a flat fill: unfinished;
	// a pole against the sky) puts its flanked steps in one column; a
	// contour of posterisation wanders. Columns holding steps on over an
	// eighth of the rows are left out.
	flanked := a.flanked
	for _, n := range a.cols {
		if int(n) > a.rows/bandLineRows {
			flanked -= int(n)
		}
	}
	return float64(flanked) / float64(a.steps)
}
