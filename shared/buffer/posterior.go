package buffer

import (
	"fmt"
	"math"
)

// Prior is the Beta prior of the pass rate, in pseudo-counts.
//
// The default is Jeffreys' Beta(½, ½): one pseudo-outcome in all, so a
// handful of real outcomes outweigh it, which is what keeps the planner's
// promise at small histories. Between it and the uniform Beta(1, 1) the
// plans differ by a few images at most (buffer-statistics §4), but their
// exact frequentist delivery rates over the benchmark grid (every N, p and
// c, history n ≥ 20, averaged over the history's binomial draws) differ:
// Jeffreys' worst cell is 0.0027 below c, the uniform prior's 0.0107 (N=100,
// p=0.70, n=20, c=0.90). Neither prior is used alone to plan a provider with
// fewer than MinSamples outcomes: over an unknown pass rate the 95 % plan for
// 4 images is dozens of candidates, so such a provider gets the default
// percent until its history is long enough (see Planner).
type Prior struct {
	Alpha float64 // pass pseudo-counts
	Beta  float64 // fail pseudo-counts
}

// DefaultPrior is Jeffreys' Beta(½, ½).
var DefaultPrior = Prior{Alpha: 0.5, Beta: 0.5}

// Validate reports a prior that is not a proper Beta distribution.
func (p Prior) Validate() error {
	if !(p.Alpha > 0) || !(p.Beta > 0) || math.IsInf(p.Alpha, 0) || math.IsInf(p.Beta, 0) {
		return fmt.Errorf("prior Beta(%v, %v): both parameters must be positive and finite", p.Alpha, p.Beta)
	}
	return nil
}

// Posterior is the Beta(Alpha, Beta) posterior of the pass rate.
type Posterior struct {
	Alpha float64
	Beta  float64
}

// Update adds absolute outcomes (passes and failures, possibly discounted, so
// real numbers) to the prior.
func (p Prior) Update(passes, failures float64) Posterior {
	return Posterior{Alpha: p.Alpha + max(0, passes), Beta: p.Beta + max(0, failures)}
}

// Discount forgets old evidence: the counts above the prior are multiplied
// by gamma (0–1), the prior itself is never decayed, so a stale provider
// relaxes back to the prior instead of to nothing (discounted Thompson
// sampling, arXiv 1707.09727). Apply it once per epoch (e.g. per
// recalibration) before adding the epoch's outcomes.
func (q Posterior) Discount(prior Prior, gamma float64) Posterior {
	gamma = min(1, max(0, gamma))
	return Posterior{
		Alpha: prior.Alpha + gamma*max(0, q.Alpha-prior.Alpha),
		Beta:  prior.Beta + gamma*max(0, q.Beta-prior.Beta),
	}
}

// Mean is the posterior mean pass rate α/(α+β).
func (q Posterior) Mean() float64 { return q.Alpha / (q.Alpha + q.Beta) }

// Interval returns the central credible interval of the pass rate with the
// given mass (e.g. 0.95 → the 2.5 % and 97.5 % quantiles).
func (q Posterior) Interval(mass float64) (lo, hi float64) {
	tail := (1 - mass) / 2
	return q.Quantile(tail), q.Quantile(1 - tail)
}

// Quantile is the pass rate below which the posterior puts probability u.
func (q Posterior) Quantile(u float64) float64 {
	switch {
	case u <= 0:
		return 0
	case u >= 1:
		return 1
	}
	lo, hi := 0.0, 1.0
	for range 60 { // 2⁻⁶⁰: far below anything reported
		mid := (lo + hi) / 2
		if regIncBeta(q.Alpha, q.Beta, mid) < u {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// regIncBeta is the regularised incomplete beta function I_x(a, b), the CDF
// of Beta(a, b), by its continued fraction (Numerical Recipes §6.4).
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	front := math.Exp(lgamma(a+b) - lgamma(a) - lgamma(b) + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaFraction(a, b, x) / a
	}
	return 1 - front*betaFraction(b, a, 1-x)/b
}

// betaFraction evaluates the continued fraction of I_x(a, b) by the modified
// Lentz method.
func betaFraction(a, b, x float64) float64 {
	const tiny, eps = 1e-300, 1e-15
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		num := fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm))
		for i := range 2 {
			if i == 1 {
				num = -(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))
			}
			d = 1 + num*d
			if math.Abs(d) < tiny {
				d = tiny
			}
			c = 1 + num/c
			if math.Abs(c) < tiny {
				c = tiny
			}
			d = 1 / d
			h *= d * c
		}
		if math.Abs(d*c-1) < eps {
			break
		}
	}
	return h
}

func sqrtNonNeg(v float64) float64 { return math.Sqrt(max(0, v)) }
