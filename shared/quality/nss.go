package quality

import (
	"fmt"
	"image"
	"math"
	"slices"
	"sync"

	"github.com/designerbff/pipeline/shared/generation"
)

// Natural-scene statistics (the "naturalness" sub-score), after BRISQUE
// (Mittal, Moorthy & Bovik 2012) and NIQE (Mittal, Soundararajan & Bovik
// 2013). A natural picture's mean-subtracted contrast-normalised (MSCN)
// coefficients (I − μ)/(σ + 1), with μ and σ the local mean and deviation
// under a 7×7 Gaussian window (σ = 7/6), are close to a generalised
// Gaussian, and the products of neighbouring coefficients to an asymmetric
// one; blur widens their distribution's shape, noise narrows it, blocking
// and posterisation skew it. Per patch of the working plane and of its
// half, 18 numbers each: the GGD shape and variance of the MSCN
// coefficients and the AGGD shape, mean and left and right variances of the
// horizontal, vertical and two diagonal products, fitted by moment
// matching. The model (nss_model.go, written by
// `go run ./infra/bench quality fit-nss`) is the mean and covariance of
// those 36 features over the patches of our own clean calibration images;
// an image's distance is NIQE's, between that Gaussian and its own
// patches': √(Δμᵀ ((Σ_model + Σ_image)/2)⁻¹ Δμ).
//
// Written here rather than taken from a library: no maintained Go package
// computes BRISQUE or NIQE features, and OpenCV's model files are trained on
// LIVE's photographs (and are the outside reference of the benchmark), not
// on what our generators draw.
const (
	nssPatch      = 64 // patch side on the working plane (32 on its half)
	nssPerScale   = 18 // features per scale
	nssDim        = 2 * nssPerScale
	nssFlat       = 0.3 // mean local σ (levels) of a patch below which it is flat and left out
	nssMinPatches = 4   // fewer textured patches: no naturalness sub-score
	nssShrink     = 0.1 // model covariance shrunk this far toward its diagonal
)

// nssKernel is the 7-tap Gaussian (σ = 7/6) of BRISQUE's window, unit sum;
// the window is its outer product.
var nssKernel = func() (k [7]float32) {
	var w [7]float64
	var sum float64
	for i := range w {
		d := float64(i - 3)
		w[i] = math.Exp(-d * d / (2 * (7.0 / 6) * (7.0 / 6)))
		sum += w[i]
	}
	for i := range w {
		k[i] = float32(w[i] / sum)
	}
	return k
}()

// nssScratch holds the float planes of the MSCN computation, pooled with
// the rest of scratch.
type nssScratch struct {
	half           []float32 // the working plane's 2×2 means
	src, hmu, hmu2 []float32 // 7 rows of the plane and of the window's horizontal pass over I and I²
	mu, mu2        []float32 // one row of the local mean of I and I²
	mscn           []float32 // 3 rows of MSCN coefficients
	acc            []nssAcc
	feats          []float64 // active patches × nssDim
	cov, chol, dif []float64
}

// moments are the sums from which the GGD / AGGD fits are read: over n
// samples x, Σx², Σ|x|, Σx|x| (= right Σx² − left Σx²) and the count of
// negatives.
type moments struct{ n, sq, abs, sgn, neg float64 }

// nssAcc is one patch: its summed local σ at the working scale (activity)
// and, per scale, the moments of the MSCN coefficients and of their
// horizontal, vertical, main- and anti-diagonal products.
type nssAcc struct {
	sigma float64
	m     [2][5]moments
}

// nssPatches computes the features of luma's textured patches into
// s.feats (nssDim per patch) and returns their number.
func nssPatches(luma []uint8, w, h int, s *nssScratch) int {
	pw, ph := w/nssPatch, h/nssPatch
	if pw == 0 || ph == 0 || w < 16 || h < 16 {
		return 0
	}
	s.acc = grow(s.acc, pw*ph)
	clear(s.acc)
	// Every other row of patches (a band of nssPatch rows) is measured:
	// half the cost, and the bands still cover the frame from top to
	// bottom.
	for py := 0; py < ph; py += 2 {
		mscnMoments(func(y int, dst []float32) {
			for x, v := range luma[y*w : (y+1)*w] {
				dst[x] = float32(v)
			}
		}, w, h, py*nssPatch, (py+1)*nssPatch, nssPatch, pw, ph, 0, s)
	}
	hw, hh := w/2, h/2
	s.half = grow(s.half, hw*hh)
	for y := range hh {
		top, bottom := luma[2*y*w:], luma[(2*y+1)*w:]
		out := s.half[y*hw : (y+1)*hw]
		for x := range out {
			out[x] = 0.25 * float32(uint32(top[2*x])+uint32(top[2*x+1])+uint32(bottom[2*x])+uint32(bottom[2*x+1]))
		}
	}
	for py := 0; py < ph; py += 2 {
		mscnMoments(func(y int, dst []float32) { copy(dst, s.half[y*hw:(y+1)*hw]) }, hw, hh, py*nssPatch/2, (py+1)*nssPatch/2, nssPatch/2, pw, ph, 1, s)
	}

	s.feats = s.feats[:0]
	n := 0
	for i := range s.acc {
		a := &s.acc[i]
		if a.m[0][0].n == 0 || a.sigma/a.m[0][0].n < nssFlat {
			continue
		}
		s.feats = slices.Grow(s.feats, nssDim)[:len(s.feats)+nssDim]
		f := s.feats[n*nssDim : (n+1)*nssDim]
		nssFeatures(a, f)
		n++
	}
	return n
}

// nssFeatures writes a patch's nssDim features into f: per scale, the
// MSCN coefficients' GGD shape and log variance, then for each product
// (horizontal, vertical, main and anti-diagonal) its AGGD shape, mean and
// log left and right variances. Logarithms, not BRISQUE's raw variances:
// the variances span orders of magnitude between a soft and a grainy
// patch, and the model is a Gaussian (measured: blur, motion and upscale
// separate better, docs in checkNaturalness).
func nssFeatures(a *nssAcc, f []float64) {
	lg := func(v float64) float64 { return math.Log(v + 1e-3) }
	for sc := range 2 {
		g := f[sc*nssPerScale : (sc+1)*nssPerScale]
		alpha, variance := ggdFit(a.m[sc][0])
		g[0], g[1] = alpha, lg(variance)
		for k := 1; k < 5; k++ {
			alpha, mean, left, right := aggdFit(a.m[sc][k])
			g[4*k-2], g[4*k-1], g[4*k], g[4*k+1] = alpha, mean, lg(left), lg(right)
		}
	}
}

// mscnMoments computes the MSCN coefficients of a w×h plane, whose row y
// fill writes into a buffer, on its interior (3 px in from each side), and
// adds their moments and their neighbour products' on rows y0 to y1 (one
// band of patches) to the pw×ph patches of side patch, at scale sc; it
// reads the rows the window and the products need around the band. It streams: the source and the horizontal pass
// are kept for the 7 rows the window spans and the coefficients for the 3
// rows the products span, a few tens of kilobytes that stay in cache,
// instead of four planes.
func mscnMoments(fill func(y int, dst []float32), w, h, y0, y1, patch, pw, ph, sc int, s *nssScratch) {
	g := nssKernel
	s.src, s.hmu, s.hmu2 = grow(s.src, 7*w), grow(s.hmu, 7*w), grow(s.hmu2, 7*w)
	s.mscn = grow(s.mscn, 3*w)
	s.mu, s.mu2 = grow(s.mu, w), grow(s.mu2, w)
	ring := func(r []float32, y, n int) []float32 {
		i := y % n
		return r[i*w : (i+1)*w]
	}
	start := max(y0-4, 0)
	for y := start; y < min(y1+4, h); y++ {
		row := ring(s.src, y, 7)
		fill(y, row)
		hm, hm2 := ring(s.hmu, y, 7), ring(s.hmu2, y, 7)
		for x := 3; x < w-3; x++ {
			v := row[x-3 : x+4 : x+4]
			hm[x] = g[0]*(v[0]+v[6]) + g[1]*(v[1]+v[5]) + g[2]*(v[2]+v[4]) + g[3]*v[3]
			hm2[x] = g[0]*(v[0]*v[0]+v[6]*v[6]) + g[1]*(v[1]*v[1]+v[5]*v[5]) + g[2]*(v[2]*v[2]+v[4]*v[4]) + g[3]*v[3]*v[3]
		}
		yc := y - 3 // the row whose window is now complete
		if yc < 3 || y-6 < start {
			continue
		}
		// The vertical pass as four row-wide multiply-adds (the window is
		// symmetric): sequential, bounds-check-free loops.
		mu, mu2 := s.mu[3:w-3], s.mu2[3:w-3]
		c, c2 := ring(s.hmu, yc, 7)[3:w-3], ring(s.hmu2, yc, 7)[3:w-3]
		c, c2 = c[:len(mu)], c2[:len(mu)]
		for x := range mu {
			mu[x], mu2[x] = g[3]*c[x], g[3]*c2[x]
		}
		for k := range 3 {
			gk := g[k]
			a, b := ring(s.hmu, yc+k-3, 7)[3:w-3], ring(s.hmu, yc+3-k, 7)[3:w-3]
			a2, b2 := ring(s.hmu2, yc+k-3, 7)[3:w-3], ring(s.hmu2, yc+3-k, 7)[3:w-3]
			a, b, a2, b2 = a[:len(mu)], b[:len(mu)], a2[:len(mu)], b2[:len(mu)]
			for x := range mu {
				mu[x] += gk * (a[x] + b[x])
				mu2[x] += gk * (a2[x] + b2[x])
			}
		}
		src, out := ring(s.src, yc, 7)[3:w-3], ring(s.mscn, yc, 3)[3:w-3]
		py := yc / patch
		// Segment by segment of one patch's width, the local σ summed in
		// a register: adding to the patch's field per pixel chains every
		// pixel on a store and a load.
		for x0 := 0; x0 < len(out); {
			x1 := min(((x0+3)/patch+1)*patch-3, len(out))
			seg, sm, sm2, so := src[x0:x1], mu[x0:x1], mu2[x0:x1], out[x0:x1]
			sm, sm2, so = sm[:len(seg)], sm2[:len(seg)], so[:len(seg)]
			var sum float32
			for x, v := range seg {
				sd := float32(math.Sqrt(float64(max(sm2[x]-sm[x]*sm[x], 0))))
				so[x] = (v - sm[x]) / (sd + 1)
				sum += sd
			}
			if px := (x0 + 3) / patch; sc == 0 && py < ph && px < pw {
				s.acc[py*pw+px].sigma += float64(sum)
			}
			x0 = x1
		}
		// Moments of the row above, now that its lower neighbours exist:
		// per patch row segment, each product over the segment's pixels
		// whose neighbours are inside the interior too.
		r := yc - 1
		if r < 4 || r < y0 || r >= y1 || r/patch >= ph {
			continue
		}
		up, mid, down := ring(s.mscn, r-1, 3), ring(s.mscn, r, 3), ring(s.mscn, r+1, 3)
		for px := range pw {
			x0, x1 := max(px*patch, 3), min((px+1)*patch, w-4)
			if x0 >= x1 {
				continue
			}
			m := &s.acc[(r/patch)*pw+px].m[sc]
			c := mid[x0:x1]
			m[0].add(c, c, true)
			m[1].add(c, mid[x0+1:x1+1], false)
			m[2].add(c, down[x0:x1], false)
			m[3].add(c, down[x0+1:x1+1], false)
			m[4].add(c, up[x0+1:x1+1], false)
		}
	}
}

// add accumulates the moments of a (self) or of the products a[i]·b[i].
func (m *moments) add(a, b []float32, self bool) {
	b = b[:len(a)]
	var sq, abs, sgn float32
	var neg uint32
	for i, x := range a {
		p := x
		if !self {
			p *= b[i]
		}
		bitsP := math.Float32bits(p)
		ab := math.Float32frombits(bitsP &^ (1 << 31))
		sq += p * p
		abs += ab
		sgn += p * ab
		neg += bitsP >> 31
	}
	m.n += float64(len(a))
	m.sq += float64(sq)
	m.abs += float64(abs)
	m.sgn += float64(sgn)
	m.neg += float64(neg)
}

// ggdRatio is r(α) = Γ(2/α)² / (Γ(1/α)·Γ(3/α)), the ratio E[|x|]²/E[x²] of
// a generalised Gaussian of shape α, tabulated on α = 0.2, 0.201, …, 10
// (BRISQUE's grid); it increases with α (½ at the Laplacian's 1, 2/π at
// the Gaussian's 2).
var ggdRatio = sync.OnceValue(func() []float64 {
	t := make([]float64, 9801)
	for i := range t {
		a := 0.2 + 0.001*float64(i)
		l1, _ := math.Lgamma(1 / a)
		l2, _ := math.Lgamma(2 / a)
		l3, _ := math.Lgamma(3 / a)
		t[i] = math.Exp(2*l2 - l1 - l3)
	}
	return t
})

// ggdShape inverts ggdRatio by bisection and linear interpolation, clamped
// to the table's ends.
func ggdShape(r float64) float64 {
	t := ggdRatio()
	i, _ := slices.BinarySearch(t, r)
	switch {
	case i == 0:
		return 0.2
	case i == len(t):
		return 10
	}
	return 0.2 + 0.001*(float64(i-1)+(r-t[i-1])/(t[i]-t[i-1]))
}

// ggdFit is the moment-matched generalised Gaussian of zero mean: shape α
// and variance.
func ggdFit(m moments) (alpha, variance float64) {
	if m.n == 0 || m.sq == 0 {
		return 10, 0
	}
	variance = m.sq / m.n
	mean := m.abs / m.n
	return ggdShape(mean * mean / variance), variance
}

// aggdFit is BRISQUE's moment-matched asymmetric generalised Gaussian:
// shape α, mean, left and right variances.
func aggdFit(m moments) (alpha, mean, left, right float64) {
	nL, nR := m.neg, m.n-m.neg
	if nL == 0 || nR == 0 || m.sq == 0 {
		return 10, 0, 0, 0
	}
	left, right = max((m.sq-m.sgn)/2, 0)/nL, max((m.sq+m.sgn)/2, 0)/nR
	ls, rs := math.Sqrt(left), math.Sqrt(right)
	if rs == 0 {
		return 10, 0, left, right
	}
	g := ls / rs
	e := m.abs / m.n
	rhat := e * e / (m.sq / m.n)
	rn := rhat * (g*g*g + 1) * (g + 1) / ((g*g + 1) * (g*g + 1))
	alpha = ggdShape(rn)
	// (β_r − β_l)·Γ(2/α)/Γ(1/α) with β = σ·√(Γ(1/α)/Γ(3/α)) is
	// (σ_r − σ_l)·√r(α).
	return alpha, (rs - ls) * math.Sqrt(rn), left, right
}

// nssDistance is NIQE's distance between the model and the n patches of
// feats: √(Δμᵀ ((Σ_model + Σ_image)/2)⁻¹ Δμ); ok=false with fewer than
// nssMinPatches patches.
func nssDistance(feats []float64, n int, s *nssScratch) (float64, bool) {
	if n < nssMinPatches {
		return 0, false
	}
	var mu [nssDim]float64
	for p := range n {
		for i, v := range feats[p*nssDim : (p+1)*nssDim] {
			mu[i] += v
		}
	}
	for i := range mu {
		mu[i] /= float64(n)
	}
	s.cov = grow(s.cov, nssDim*nssDim)
	clear(s.cov)
	s.dif = grow(s.dif, nssDim)
	for p := range n {
		f := feats[p*nssDim : (p+1)*nssDim]
		for i := range nssDim {
			s.dif[i] = f[i] - mu[i]
		}
		for i := range nssDim {
			di := s.dif[i]
			row := s.cov[i*nssDim : i*nssDim+i+1]
			for j := range row {
				row[j] += di * s.dif[j]
			}
		}
	}
	inv := 1 / float64(n-1)
	for i := range nssDim {
		for j := 0; j <= i; j++ {
			s.cov[i*nssDim+j] = (s.cov[i*nssDim+j]*inv + nssModelCov[i*nssDim+j]) / 2
		}
		s.dif[i] = mu[i] - nssModelMean[i]
	}
	return math.Sqrt(mahalanobis(s.cov, s.dif, s)), true
}

// mahalanobis is dᵀ A⁻¹ d for the symmetric positive-definite nssDim²
// matrix A (lower triangle read), by Cholesky factorisation; a pivot that
// is not positive (A singular) is floored at a millionth of its diagonal.
func mahalanobis(a, d []float64, s *nssScratch) float64 {
	const n = nssDim
	s.chol = grow(s.chol, n*n)
	l := s.chol
	for i := range n {
		for j := 0; j <= i; j++ {
			sum := a[i*n+j]
			for k := range j {
				sum -= l[i*n+k] * l[j*n+k]
			}
			if i == j {
				l[i*n+i] = math.Sqrt(max(sum, 1e-6*a[i*n+i]+1e-12))
			} else {
				l[i*n+j] = sum / l[j*n+j]
			}
		}
	}
	// Forward substitution: L z = d, then dᵀA⁻¹d = |z|².
	var z [n]float64
	var q float64
	for i := range n {
		sum := d[i]
		for k := range i {
			sum -= l[i*n+k] * z[k]
		}
		z[i] = sum / l[i*n+i]
		q += z[i] * z[i]
	}
	return q
}

// NSSPatchFeatures returns the natural-scene-statistics features (36 per
// patch, see nssPatches) of img's textured patches on the working plane,
// as the validator computes them: the fit command's input.
func NSSPatchFeatures(img image.Image) [][]float64 {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	luma, w, h := workingLuma(img, s)
	n := nssPatches(luma, w, h, &s.nss)
	out := make([][]float64, n)
	for i := range out {
		out[i] = slices.Clone(s.nss.feats[i*nssDim : (i+1)*nssDim])
	}
	return out
}

// FitNSSModel fits the naturalness model to clean patches' features (each
// NSSFeatures long): their mean, and their covariance (row-major) shrunk by
// nssShrink toward its diagonal. The fit command writes them to
// nss_model.go.
func FitNSSModel(patches [][]float64) (mean, cov []float64, err error) {
	n := len(patches)
	if n < 2*nssDim {
		return nil, nil, fmt.Errorf("nss model: %d patches, need at least %d", n, 2*nssDim)
	}
	mean = make([]float64, nssDim)
	for _, p := range patches {
		if len(p) != nssDim {
			return nil, nil, fmt.Errorf("nss model: a patch has %d features, want %d", len(p), nssDim)
		}
		for i, v := range p {
			mean[i] += v
		}
	}
	for i := range mean {
		mean[i] /= float64(n)
	}
	cov = make([]float64, nssDim*nssDim)
	for _, p := range patches {
		for i := range nssDim {
			for j := range nssDim {
				cov[i*nssDim+j] += (p[i] - mean[i]) * (p[j] - mean[j])
			}
		}
	}
	for i := range nssDim {
		for j := range nssDim {
			cov[i*nssDim+j] /= float64(n - 1)
			if i != j {
				cov[i*nssDim+j] *= 1 - nssShrink
			}
		}
	}
	return mean, cov, nil
}

// NSSFeatures is the number of features per patch, NSSShrink the share of
// the model covariance's off-diagonal removed (for the generated file's
// comment).
const (
	NSSFeatures = nssDim
	NSSShrink   = nssShrink
)

// Naturalness anchors, on nss_distance measured on the calibration set
// (docs/quality-benchmark.md, 66 clean images; the model is fitted on
// those same images, so the clean figures are also given with each image
// judged by a model fitted without its origin, "held out"): clean 1.6–6.4
// (median 2.5, p90 3.7; held out median 2.6, p90 4.1, max 8.4: wood grain
// and flat-shaded illustrations are the farthest, all of them sharp);
// strong degradations, median: JPEG q10 5.8, posterised to 6 levels 4.2,
// σ = 24 noise 3.6, 12 px motion blur 3.5, Gaussian σ = 2 px 3.4, ×4
// upscale 3.2; exposure, palette and cast shifts ≈ clean. The curve is
// 100 up to nssNatural and falls to defectScore at nssZero, about the
// farthest held-out clean image, and no lower: on its own the distance is
// not a defect (it moves the weighted mean and the weakest-link cap).
//
// Soft: an image whose distance is past nssSoft while its sharpness
// sub-score is already under softEdges (edges that lean soft but pass
// the sharpness cut), and whose exposure and contrast are not defects
// (an underexposed image's statistics are far too), is blurry: the
// naturalness sub-score falls to defectScore·sharpness/softEdges, under
// defectScore exactly when the rule holds. Clean images past nssSoft are
// all sharp (sharpness ≥ 90); clean images under softEdges are all nearer
// than 3.1 held out (a low-key grade of Storm). It catches 6 of the 19
// 12 px motion blurs the edges miss, and none of the σ = 2 px blurs of
// 512 px procedural renders (3.3–3.7: too near the clean tail).
const (
	nssNatural = 3.0
	nssZero    = 8.0
	nssSoft    = 4.0
	softEdges  = 60.0
	// nssSharpGate: a sharpness sub-score at or above it leaves the
	// naturalness out (see checkNaturalness).
	nssSharpGate = 90.0
)

var naturalnessCurve = []anchor{{nssNatural, 100}, {nssZero, defectScore}}

// naturalnessScore is the sub-score of distance d given the sharpness
// sub-score (100 when there is none).
func naturalnessScore(d, sharpness float64) float64 {
	score := interp(d, naturalnessCurve)
	if d >= nssSoft && sharpness < softEdges {
		score = min(score, defectScore*sharpness/softEdges)
	}
	return score
}

// checkNaturalness scores how far the working plane's textured patches are
// from the clean calibration images' natural-scene statistics (see the
// top of this file) and adds blurry when that agrees with soft edges; it
// reads the sharpness, exposure and contrast sub-scores, so it runs after
// checkSharpness and checkHistogram. A frame
// with fewer than nssMinPatches textured patches (blank, flat) has no
// naturalness sub-score.
func checkNaturalness(m *measured, _ generation.ValidationSpec, r *report) {
	if r.metrics["score_sharpness"] >= nssSharpGate {
		// Sharp beyond doubt: the statistics would only nudge the mean,
		// and they are a third of the metrics' time (a 1024² PNG must
		// validate within 60 ms on one core).
		return
	}
	s := &m.s.nss
	n := nssPatches(m.luma, m.w, m.h, s)
	d, ok := nssDistance(s.feats, n, s)
	if !ok {
		return
	}
	r.metrics[MetricNSSDistance] = d
	sharpness, measured := r.metrics["score_sharpness"]
	if !measured || r.metrics["score_exposure"] < defectScore || r.metrics["score_contrast"] < defectScore {
		// Dark or flat tones alone move the statistics (the MSCN
		// divisor's +1 weighs more on a low local σ): leave the blame to
		// their own reasons.
		sharpness = 100
	}
	score := naturalnessScore(d, sharpness)
	if score < defectScore {
		r.reasons = append(r.reasons, ReasonBlurry)
	}
	r.add("naturalness", weightNaturalness, score)
}
