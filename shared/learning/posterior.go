package learning

import (
	"cmp"
	"math"
	"slices"
)

// Posterior is an attribute's Beta posterior of the pass rate.
type Posterior struct {
	Attribute string  `json:"attribute"`
	Group     string  `json:"group,omitempty"` // its catalog group; "" when not in the catalog
	Mean      float64 `json:"mean"`
	Lower     float64 `json:"lower"` // equal-tailed credible interval at Level
	Upper     float64 `json:"upper"`
	Level     float64 `json:"level"`
	Passes    float64 `json:"passes"`   // discounted
	Failures  float64 `json:"failures"` // discounted
	Samples   int64   `json:"samples"`  // undiscounted outcomes folded in
}

// Rank returns the posterior of every attribute in stats and of every
// catalog modifier without statistics (prior only), ordered by posterior mean,
// best first (ties: more samples first, then by name). level is the
// credible interval's mass, e.g. 0.9; prior as in Thompson (0: default).
func Rank(stats []Stat, catalog []Group, prior, level float64) []Posterior {
	if prior <= 0 {
		prior = DefaultPrior
	}
	if catalog == nil {
		catalog = Catalog
	}
	groupOf := map[string]string{}
	for _, g := range catalog {
		for _, m := range g.Modifiers {
			groupOf[m] = g.Name
		}
	}
	seen := map[string]bool{}
	out := make([]Posterior, 0, len(stats)+len(groupOf))
	add := func(s Stat) {
		a, b := prior+s.Passes, prior+s.Failures
		tail := (1 - level) / 2
		out = append(out, Posterior{
			Attribute: s.Attribute, Group: groupOf[s.Attribute],
			Mean: a / (a + b), Lower: BetaQuantile(tail, a, b), Upper: BetaQuantile(1-tail, a, b), Level: level,
			Passes: s.Passes, Failures: s.Failures, Samples: s.Samples,
		})
		seen[s.Attribute] = true
	}
	for _, s := range stats {
		add(s)
	}
	for _, g := range catalog {
		for _, m := range g.Modifiers {
			if !seen[m] {
				add(Stat{Attribute: m})
			}
		}
	}
	slices.SortFunc(out, func(x, y Posterior) int {
		return cmp.Or(cmp.Compare(y.Mean, x.Mean), cmp.Compare(y.Samples, x.Samples), cmp.Compare(x.Attribute, y.Attribute))
	})
	return out
}

// BetaQuantile returns x with I_x(a, b) = p, by bisection on the regularized
// incomplete beta function (accurate to about 1e-12).
func BetaQuantile(p, a, b float64) float64 {
	switch {
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	lo, hi := 0.0, 1.0
	for range 60 {
		mid := (lo + hi) / 2
		if RegIncBeta(mid, a, b) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// RegIncBeta is the regularized incomplete beta function I_x(a, b), by the
// continued fraction (modified Lentz), using the symmetry relation where it
// converges faster.
func RegIncBeta(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(x, a, b) / a
	}
	return 1 - front*betaCF(1-x, b, a)/b
}

func betaCF(x, a, b float64) float64 {
	const tiny = 1e-300
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		num := fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm))
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
		num = -(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		h *= delta
		if math.Abs(delta-1) < 1e-14 {
			break
		}
	}
	return h
}
