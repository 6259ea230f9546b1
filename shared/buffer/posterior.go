package buffer

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Prior is the Beta prior of the pass rate, in pseudo-counts.
//
// The pipeline uses one symmetric prior Beta(a, a) everywhere: the planner,
// the recalibration's stored posteriors (shared/postgres), the learner's
// Thompson sampling and posteriors (shared/learning) and the learning report.
// a is PASS_RATE_PRIOR (config), DefaultPriorCount unless configured.
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

// The pass-rate prior's pseudo-count a of Beta(a, a): its default (Jeffreys')
// and the range PASS_RATE_PRIOR accepts. Below MinPriorCount the prior puts
// almost all its mass at 0 and 1 (Haldane's improper limit); above
// MaxPriorCount it outweighs the first tens of real outcomes.
const (
	DefaultPriorCount = 0.5
	MinPriorCount     = 0.1
	MaxPriorCount     = 10
)

// DefaultPrior is Jeffreys' Beta(½, ½), SymmetricPrior(DefaultPriorCount).
var DefaultPrior = SymmetricPrior(DefaultPriorCount)

// SymmetricPrior is Beta(a, a): a pseudo-passes and a pseudo-failures. A
// non-positive or non-finite a means DefaultPriorCount.
func SymmetricPrior(a float64) Prior {
	if !(a > 0) || math.IsInf(a, 0) {
		a = DefaultPriorCount
	}
	return Prior{Alpha: a, Beta: a}
}

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

// Quantile is the pass rate below which the posterior puts probability u
// (gonum's inverse regularised incomplete beta function).
func (q Posterior) Quantile(u float64) float64 {
	switch {
	case u <= 0 || math.IsNaN(u):
		return 0
	case u >= 1:
		return 1
	}
	return q.dist().Quantile(u)
}

// CDF is P(pass rate ≤ x) under the posterior, I_x(α, β).
func (q Posterior) CDF(x float64) float64 { return q.dist().CDF(x) }

func (q Posterior) dist() distuv.Beta { return distuv.Beta{Alpha: q.Alpha, Beta: q.Beta} }

func sqrtNonNeg(v float64) float64 { return math.Sqrt(max(0, v)) }
