// Package buffer sizes over-generation so that a request keeps its promise:
// at least N good images with a chosen confidence, at close to the least
// possible cost. It is pure: pass-rate posteriors from absolute outcomes, the
// exact Beta-Binomial planner, the per-candidate planner (an exact
// Poisson-binomial over predicted pass probabilities, averaged over their
// posterior draws: poissonbinomial.go) and provider recommendations (`make
// bench-buffer` simulates them from infra/bench/bufsim).
//
// Notation: N images to deliver, M candidates generated, X of them pass,
// q the pass probability, p = 1 − q the failure probability. A failure is
// absolute (filtered, errored or below the validator's threshold), never
// "not in the top N".
package buffer

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// Shortfall returns P(X < n) for X ~ BetaBinomial(m, alpha, beta): the
// chance that fewer than n of m candidates pass when the pass rate has the
// posterior Beta(alpha, beta). It is computed exactly in log space with the
// pmf recurrence, so nothing underflows for m in the thousands, and the
// small probability is computed directly rather than as 1 − P(X ≥ n).
func Shortfall(n, m int, alpha, beta float64) float64 {
	if n <= 0 {
		return 0
	}
	if m < n {
		return 1
	}
	// log P(X=0) = ln B(α, m+β) − ln B(α, β).
	lp := mathext.Lbeta(alpha, float64(m)+beta) - mathext.Lbeta(alpha, beta)
	var sum logSum
	sum.add(lp)
	for x := 0; x < n-1; x++ {
		fx, fm := float64(x), float64(m)
		// P(X=x+1)/P(X=x) = (m−x)/(x+1) · (x+α)/(m−x−1+β); m−x−1 ≥ 1 here.
		lp += math.Log(((fm - fx) * (fx + alpha)) / ((fx + 1) * (fm - fx - 1 + beta)))
		sum.add(lp)
	}
	return min(1, sum.exp())
}

// ShortfallKnown returns P(X < n) for X ~ Binomial(m, 1 − fail): the same
// question when the failure rate is known exactly (the oracle).
func ShortfallKnown(n, m int, fail float64) float64 {
	switch {
	case n <= 0:
		return 0
	case m < n || fail >= 1:
		return 1
	case fail <= 0:
		return 0
	}
	pass := 1 - fail
	lp := float64(m) * math.Log(fail)
	step := math.Log(pass) - math.Log(fail)
	var sum logSum
	sum.add(lp)
	for x := 0; x < n-1; x++ {
		lp += math.Log(float64(m-x)/float64(x+1)) + step
		sum.add(lp)
	}
	return min(1, sum.exp())
}

// logSum accumulates Σ exp(v) without overflow or underflow: the running
// maximum and the sum of exp(v − max).
type logSum struct {
	max, scaled float64
	started     bool
}

func (s *logSum) add(v float64) {
	switch {
	case !s.started:
		s.max, s.scaled, s.started = v, 1, true
	case v > s.max:
		s.scaled = s.scaled*math.Exp(s.max-v) + 1
		s.max = v
	default:
		s.scaled += math.Exp(v - s.max)
	}
}

func (s *logSum) exp() float64 {
	if !s.started {
		return 0
	}
	return math.Exp(s.max + math.Log(s.scaled))
}
