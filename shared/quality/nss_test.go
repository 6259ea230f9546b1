package quality

import (
	"context"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// gammaSample draws Gamma(k, 1) (Marsaglia & Tsang; k < 1 boosted).
func gammaSample(rng *rand.Rand, k float64) float64 {
	if k < 1 {
		return gammaSample(rng, k+1) * math.Pow(rng.Float64(), 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// ggdSamples draws n samples of an asymmetric generalised Gaussian of shape
// alpha, scaled by left below zero and right above (each side's weight in
// proportion to its scale, so the density is continuous at 0): |X|^α ~
// Gamma(1/α).
func ggdSamples(n int, alpha, left, right float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, seed))
	out := make([]float32, n)
	for i := range out {
		x := math.Pow(gammaSample(rng, 1/alpha), 1/alpha)
		if rng.Float64()*(left+right) < left {
			x = -x * left
		} else {
			x *= right
		}
		out[i] = float32(x)
	}
	return out
}

func TestGGDFitRecoversShape(t *testing.T) {
	t.Parallel()
	for _, alpha := range []float64{0.5, 1, 2, 3} {
		var m moments
		x := ggdSamples(200_000, alpha, 1, 1, 7)
		m.add(x, x, true)
		got, variance := ggdFit(m)
		require.InDelta(t, alpha, got, 0.05*alpha, "shape %g", alpha)
		// Var of a GGD of scale 1: Γ(3/α)/Γ(1/α).
		g1, _ := math.Lgamma(1 / alpha)
		g3, _ := math.Lgamma(3 / alpha)
		require.InEpsilon(t, math.Exp(g3-g1), variance, 0.05, "variance at shape %g", alpha)
	}
	// The table's fixed points: the Laplacian's ratio ½, the Gaussian's 2/π.
	require.InDelta(t, 1, ggdShape(0.5), 1e-6)
	require.InDelta(t, 2, ggdShape(2/math.Pi), 1e-6)
	require.Equal(t, 0.2, ggdShape(0))
	require.Equal(t, 10.0, ggdShape(1))
}

func TestAGGDFitRecoversShapeAndSkew(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ alpha, left, right float64 }{{0.8, 1, 1}, {1.5, 0.5, 1}, {2, 1, 0.6}} {
		x := ggdSamples(200_000, c.alpha, c.left, c.right, 11)
		ones := make([]float32, len(x))
		for i := range ones {
			ones[i] = 1
		}
		var m moments
		m.add(x, ones, false) // products with 1: the samples themselves
		alpha, mean, left, right := aggdFit(m)
		require.InDelta(t, c.alpha, alpha, 0.06*c.alpha, "shape %+v", c)
		require.InEpsilon(t, c.left*c.left/(c.right*c.right), left/right, 0.05, "left/right variance %+v", c)
		switch {
		case c.left == c.right:
			require.InDelta(t, 0, mean, 0.02, "symmetric %+v", c)
		case c.right > c.left:
			require.Greater(t, mean, 0.1, "heavier right %+v", c)
		default:
			require.Less(t, mean, -0.1, "heavier left %+v", c)
		}
	}
}

func TestMSCNOfFlatAndWhiteNoisePlanes(t *testing.T) {
	t.Parallel()
	var s nssScratch
	flat := make([]uint8, 256*256)
	for i := range flat {
		flat[i] = 120
	}
	require.Zero(t, nssPatches(flat, 256, 256, &s), "a flat plane has no textured patch")
	_, ok := nssDistance(s.feats, 0, &s)
	require.False(t, ok)

	// White Gaussian noise (σ = 30, so the +1 of the divisor is
	// negligible): each coefficient is divided by a local deviation its own
	// value is part of, which bounds it, so the MSCN distribution is
	// lighter-tailed than a Gaussian (shape ≈ 3, where natural pictures
	// are near 2) with variance 1 − (window's weight) ≈ 0.7; neighbours
	// share their local mean, so their products lean slightly negative,
	// and a product of two near-Gaussians has an AGGD shape near 1.
	n := nssPatches(gaussianPlane(256, 256, 30), 256, 256, &s)
	require.Equal(t, 8, n, "every other row of 64 px patches")
	for p := range n {
		f := s.feats[p*nssDim : (p+1)*nssDim]
		for sc := range 2 {
			g := f[sc*nssPerScale:]
			require.InDelta(t, 3.1, g[0], 0.7, "MSCN shape, patch %d scale %d", p, sc)
			require.InDelta(t, math.Log(0.72), g[1], 0.15, "MSCN log variance, patch %d scale %d", p, sc)
			for k := range 4 {
				require.InDelta(t, 1.0, g[2+4*k], 0.2, "product %d shape, patch %d scale %d", k, p, sc)
				require.InDelta(t, -0.08, g[3+4*k], 0.07, "product %d mean, patch %d scale %d", k, p, sc)
			}
		}
	}
}

// naturalness is the image's nss_distance and its naturalness sub-score
// as if its sharpness were in doubt (Validate leaves it out of sharp
// images: see nssSharpGate).
func naturalness(t *testing.T, img image.Image) (dist, score float64) {
	t.Helper()
	var s scratch
	luma, w, h := workingLuma(img, &s)
	n := nssPatches(luma, w, h, &s.nss)
	d, ok := nssDistance(s.nss.feats, n, &s.nss)
	require.True(t, ok, "too few textured patches")
	return d, naturalnessScore(d, 100)
}

func TestNaturalnessIsLeftOutOfSharpImages(t *testing.T) {
	t.Parallel()
	clean := photoLike(512, 512, 1)
	judge := func(img image.Image) generation.Verdict {
		v, err := New(0).Validate(context.Background(), encodePNG(t, img), generation.ValidationSpec{})
		require.NoError(t, err)
		return v
	}
	sharp := judge(clean)
	require.GreaterOrEqual(t, sharp.Metrics["score_sharpness"], nssSharpGate)
	require.NotContains(t, sharp.Metrics, MetricNSSDistance)
	soft := judge(gaussianBlur(clean, 2))
	require.Less(t, soft.Metrics["score_sharpness"], nssSharpGate)
	require.Contains(t, soft.Metrics, MetricNSSDistance)
	require.Contains(t, soft.Metrics, "score_naturalness")
}

// addNoise adds Gaussian noise of sigma levels to each channel.
func addNoise(img *image.NRGBA, sigma float64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(5, 5))
	out := image.NewNRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	for i := range out.Pix {
		if i%4 != 3 {
			out.Pix[i] = clamp8(float64(out.Pix[i]) + sigma*rng.NormFloat64())
		}
	}
	return out
}

func TestNaturalnessRanksCleanAboveBlurAndNoise(t *testing.T) {
	t.Parallel()
	clean := photoLike(512, 512, 1)
	dc, sc := naturalness(t, clean)
	db, sb := naturalness(t, gaussianBlur(clean, 2))
	dn, sn := naturalness(t, addNoise(clean, 24))
	t.Logf("nss_distance clean %.2f, σ=2 blur %.2f, σ=24 noise %.2f; scores %.1f %.1f %.1f", dc, db, dn, sc, sb, sn)
	require.Less(t, dc, db)
	require.Less(t, dc, dn)
}

func BenchmarkNaturalness512(b *testing.B) {
	img := photoLike(512, 512, 1)
	var s scratch
	luma, w, h := workingLuma(img, &s)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		n := nssPatches(luma, w, h, &s.nss)
		nssDistance(s.nss.feats, n, &s.nss)
	}
}

func TestNaturalnessScoreAgreesWithItsReason(t *testing.T) {
	t.Parallel()
	const eps = 1e-6
	require.Equal(t, 100.0, naturalnessScore(nssNatural, 100))
	// Alone, however far, the distance is no defect.
	require.InDelta(t, defectScore, naturalnessScore(nssZero, 100), 1e-9)
	require.InDelta(t, defectScore, naturalnessScore(100, 100), 1e-9)
	require.GreaterOrEqual(t, naturalnessScore(100, softEdges), float64(defectScore))
	// Far and soft-edged: blurry, below defectScore exactly then.
	require.Less(t, naturalnessScore(nssSoft, softEdges-eps), float64(defectScore))
	require.GreaterOrEqual(t, naturalnessScore(nssSoft-eps, 0), float64(defectScore))
	require.Less(t, naturalnessScore(nssSoft, 30), naturalnessScore(nssSoft, 50))
}

func TestNSSPatchesOnOddSizes(t *testing.T) {
	t.Parallel()
	var s nssScratch
	for _, c := range []struct{ w, h int }{{63, 300}, {64, 64}, {65, 129}, {300, 200}, {512, 341}, {341, 512}} {
		pw, ph := c.w/nssPatch, c.h/nssPatch
		n := nssPatches(gaussianPlane(c.w, c.h, 20), c.w, c.h, &s)
		require.Equal(t, pw*((ph+1)/2), n, "%d×%d", c.w, c.h)
		for _, f := range s.feats[:n*nssDim] {
			require.False(t, math.IsNaN(f) || math.IsInf(f, 0), "%d×%d", c.w, c.h)
		}
	}
}
