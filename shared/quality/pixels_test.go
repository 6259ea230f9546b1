package quality

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// refLuma is the slow, obviously right luma of one pixel: through At(),
// premultiplied, composited over white.
func refLuma(img image.Image, x, y int) int {
	r, g, b, a := img.At(x, y).RGBA()
	return int(luma8(r>>8, g>>8, b>>8)) + int((0xffff-a)>>8)
}

func TestLumaRowMatchesAt(t *testing.T) {
	t.Parallel()
	src := photoLike(40, 30, 11)
	translucent := image.NewNRGBA(src.Bounds())
	copy(translucent.Pix, src.Pix)
	for i := 3; i < len(translucent.Pix); i += 4 {
		translucent.Pix[i] = uint8(i * 7) // every alpha level
	}
	rgba := image.NewRGBA(src.Bounds())
	draw.Draw(rgba, rgba.Bounds(), translucent, image.Point{}, draw.Src)
	gray := image.NewGray(src.Bounds())
	draw.Draw(gray, gray.Bounds(), src, image.Point{}, draw.Src)
	rgba64 := image.NewRGBA64(src.Bounds())
	draw.Draw(rgba64, rgba64.Bounds(), translucent, image.Point{}, draw.Src)
	paletted := image.NewPaletted(src.Bounds(), color.Palette{
		color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 200, 90, 128},
		color.NRGBA{30, 60, 250, 255}, color.NRGBA{255, 255, 255, 0}})
	draw.Draw(paletted, paletted.Bounds(), src, image.Point{}, draw.Src)
	ycc := toYCbCr(src, image.YCbCrSubsampleRatio444) // 4:2:0 would make At() clamp shared chroma
	nycca := &image.NYCbCrA{YCbCr: *toYCbCr(src, image.YCbCrSubsampleRatio444), A: make([]uint8, 40*30), AStride: 40}
	for i := range nycca.A {
		nycca.A[i] = uint8(i * 5)
	}
	tests := []struct {
		name string
		img  image.Image
		tol  int
	}{
		{name: "nrgba translucent", img: translucent, tol: 1},
		{name: "rgba translucent", img: rgba, tol: 1},
		{name: "gray", img: gray, tol: 0},
		{name: "paletted with alpha", img: paletted, tol: 1},
		{name: "ycbcr", img: ycc, tol: 2},
		{name: "nycbcra", img: nycca, tol: 2},
		{name: "rgba64 (fallback)", img: rgba64, tol: 0},
		{name: "ycbcr sub-image", img: ycc.SubImage(image.Rect(5, 3, 33, 27)), tol: 2},
		{name: "nrgba sub-image", img: translucent.SubImage(image.Rect(7, 1, 20, 29)), tol: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.img.Bounds()
			row := make([]uint8, b.Dx())
			for y := range b.Dy() {
				lumaRow(tt.img, y, row)
				for x, got := range row {
					want := refLuma(tt.img, b.Min.X+x, b.Min.Y+y)
					require.InDelta(t, want, int(got), float64(tt.tol), "pixel %d,%d", x, y)
				}
			}
		})
	}
}

func TestWorkingLuma(t *testing.T) {
	t.Parallel()
	columns := func(w, h int) *image.Gray { // alternating black and white columns
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				g.Pix[y*w+x] = uint8(255 * (x % 2))
			}
		}
		return g
	}
	tests := []struct {
		name         string
		img          image.Image
		wantW, wantH int
		wantAll      int // every working pixel, or -1 to skip
	}{
		{name: "exact halving averages pairs", img: columns(1024, 8), wantW: 512, wantH: 4, wantAll: 128},
		{name: "small images are not upscaled", img: columns(100, 60), wantW: 100, wantH: 60, wantAll: -1},
		{name: "portrait long side is height", img: solidGray(300, 1200, 77), wantW: 128, wantH: 512, wantAll: 77},
		{name: "non-integer ratio keeps a flat field flat", img: solidGray(1000, 700, 200), wantW: 512, wantH: 358, wantAll: 200},
		{name: "extreme aspect keeps one row", img: solidGray(8192, 3, 9), wantW: 512, wantH: 1, wantAll: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			luma, w, h := workingLuma(tt.img, new(scratch))
			require.Equal(t, tt.wantW, w)
			require.Equal(t, tt.wantH, h)
			require.Len(t, luma, w*h)
			if tt.wantAll >= 0 {
				for i, v := range luma {
					require.Equal(t, tt.wantAll, int(v), "pixel %d", i)
				}
			}
		})
	}
}

func TestWorkingLumaPreservesMean(t *testing.T) {
	t.Parallel()
	src := photoLike(733, 419, 12) // awkward ratio: unequal cells
	full, fw, fh := workingLuma(src, &scratch{})
	require.Equal(t, 512, fw)
	require.Equal(t, 293, fh)
	var srcSum, dstSum float64
	row := make([]uint8, 733)
	for y := range 419 {
		lumaRow(src, y, row)
		for _, v := range row {
			srcSum += float64(v)
		}
	}
	for _, v := range full {
		dstSum += float64(v)
	}
	// Cells differ in size, so the plain mean moves a little; not by a level.
	require.InDelta(t, srcSum/(733*419), dstSum/float64(len(full)), 1)
}

func TestLaplacianVar(t *testing.T) {
	t.Parallel()
	checker := make([]uint8, 16*16)
	for i := range checker {
		checker[i] = uint8(255 * ((i/16 + i%16) % 2))
	}
	ramp := make([]uint8, 20*10)
	for i := range ramp {
		ramp[i] = uint8(10 * (i % 20))
	}
	tests := []struct {
		name string
		luma []uint8
		w, h int
		want float64
	}{
		// Every interior pixel is ±4·255: variance (4·255)².
		{name: "checkerboard", luma: checker, w: 16, h: 16, want: 1020 * 1020},
		{name: "linear ramp has no curvature", luma: ramp, w: 20, h: 10, want: 0},
		{name: "no interior", luma: []uint8{0, 255, 0, 255}, w: 2, h: 2, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tt.want, laplacianVar(tt.luma, tt.w, tt.h), 1e-6)
		})
	}
}

func TestHistogramStats(t *testing.T) {
	t.Parallel()
	halves := make([]uint8, 100)
	for i := 50; i < 100; i++ {
		halves[i] = 255
	}
	quarters := []uint8{3, 100, 200, 252}
	tests := []struct {
		name string
		luma []uint8
		want lumaStats
	}{
		{name: "black and white halves", luma: halves, want: lumaStats{mean: 127.5, std: 127.5, clipLow: 0.5, clipHigh: 0.5, entropy: 1}},
		{name: "flat", luma: []uint8{42, 42, 42}, want: lumaStats{mean: 42}},
		{name: "four levels", luma: quarters, want: lumaStats{mean: 138.75, std: 95.53, clipLow: 0.25, clipHigh: 0.25, entropy: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := histogramStats(tt.luma)
			require.InDelta(t, tt.want.mean, got.mean, 1e-9)
			require.InDelta(t, tt.want.std, got.std, 0.1)
			require.InDelta(t, tt.want.clipLow, got.clipLow, 1e-9)
			require.InDelta(t, tt.want.clipHigh, got.clipHigh, 1e-9)
			require.InDelta(t, tt.want.entropy, got.entropy, 1e-9)
		})
	}
}

func TestInterp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		x    float64
		want float64
	}{
		{name: "below the first anchor", x: 0, want: 0},
		{name: "at the defect threshold", x: darkMean, want: defectScore},
		{name: "between anchors", x: (darkMean + 0.30) / 2, want: (defectScore + 100) / 2},
		{name: "above the last anchor", x: 1, want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tt.want, interp(tt.x, darkCurve), 1e-9)
		})
	}
}

// Each defect threshold must score exactly defectScore on its curve, worse
// just past it and better just before it: reasons and sub-scores agree.
func TestCurvesAgreeWithReasons(t *testing.T) {
	t.Parallel()
	const eps = 1e-6
	tests := []struct {
		name      string
		curve     []anchor
		threshold float64
		worseUp   bool // the defect lies above the threshold
	}{
		{name: "blurry", curve: sharpnessCurve, threshold: math.Log10(blurThreshold)},
		{name: "underexposed mean", curve: darkCurve, threshold: darkMean},
		{name: "overexposed mean", curve: brightCurve, threshold: brightMean, worseUp: true},
		{name: "no highlights", curve: reachCurve, threshold: underReach},
		{name: "no shadows", curve: floorCurve, threshold: overFloor, worseUp: true},
		{name: "far from the reference", curve: refShiftCurve, threshold: refShift, worseUp: true},
		{name: "soft edges", curve: steepnessCurve, threshold: steepThreshold},
		{name: "one-way soft edges", curve: balanceCurve, threshold: balanceThreshold},
		{name: "clipped", curve: clipCurve, threshold: clipLimit, worseUp: true},
		{name: "low contrast", curve: stdCurve, threshold: lowContrastStd},
		{name: "blank entropy", curve: entropyCurve, threshold: blankEntropy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			worse, better := tt.threshold-eps, tt.threshold+eps
			if tt.worseUp {
				worse, better = better, worse
			}
			require.InDelta(t, defectScore, interp(tt.threshold, tt.curve), 1e-9)
			require.Less(t, interp(worse, tt.curve), float64(defectScore))
			require.Greater(t, interp(better, tt.curve), float64(defectScore))
		})
	}
}

// refWorkingLuma is the obviously right working plane: every source pixel's
// luma (a JPEG's Y sample as it is) added into its boxScaler cell, then the
// cell's rounded mean.
func refWorkingLuma(img image.Image) (luma []uint8, w, h int) {
	refLuma := refLuma
	if ycc, ok := img.(*image.YCbCr); ok {
		refLuma = func(_ image.Image, x, y int) int { return int(ycc.Y[ycc.YOffset(x, y)]) }
	}
	b := img.Bounds()
	bs := newBoxScaler(b.Dx(), b.Dy(), WorkingSide)
	sums := make([]float64, bs.dw*bs.dh)
	counts := make([]float64, bs.dw*bs.dh)
	for y := range bs.sh {
		for x := range bs.sw {
			i := bs.row(y)*bs.dw + int(bs.xmap[x])
			sums[i] += float64(refLuma(img, b.Min.X+x, b.Min.Y+y))
			counts[i]++
		}
	}
	luma = make([]uint8, len(sums))
	for i := range sums {
		luma[i] = uint8(math.Floor(sums[i]/counts[i] + 0.5))
	}
	return luma, bs.dw, bs.dh
}

func TestWorkingLumaMatchesBoxAverage(t *testing.T) {
	t.Parallel()
	photo := photoLike(1024, 700, 5)
	gray := image.NewGray(photo.Bounds())
	draw.Draw(gray, gray.Bounds(), photo, image.Point{}, draw.Src)
	ycc := toYCbCr(photoLike(1040, 800, 6), image.YCbCrSubsampleRatio420)
	tests := []struct {
		name string
		img  image.Image
	}{
		{name: "exact halving, gray", img: gray},
		{name: "exact halving, ycbcr sub-image", img: ycc.SubImage(image.Rect(8, 2, 1032, 770))},
		{name: "non-integer ratio, ycbcr", img: ycc},
		{name: "exact halving, nrgba", img: photo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, ww, wh := refWorkingLuma(tt.img)
			got, w, h := workingLuma(tt.img, new(scratch))
			require.Equal(t, [2]int{ww, wh}, [2]int{w, h})
			require.Equal(t, want, got)
		})
	}
}
