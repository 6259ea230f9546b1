// Package bufsim is the simulation behind `make bench-buffer` (`go run
// ./infra/bench buffer`): requests for N images from a provider whose true
// failure rate is p, planned by three strategies from a history of n
// candidates drawn from the same p. Ours is shared/buffer's planner, the one
// the pipeline runs; nothing in production imports this package.
package bufsim

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// Cell is one point of the benchmark grid.
type Cell struct {
	N          int     // images requested
	Fail       float64 // true failure rate p
	History    int     // candidates of history, failures drawn from p
	Confidence float64 // target c
}

// Grid is the benchmark's grid: N × p × n × c.
func Grid() []Cell {
	var cells []Cell
	for _, c := range []float64{0.90, 0.95, 0.99} {
		for _, n := range []int{0, 20, 200, 2000} {
			for _, p := range []float64{0.02, 0.05, 0.15, 0.30, 0.50, 0.70} {
				for _, need := range []int{1, 4, 10, 30, 100} {
					cells = append(cells, Cell{N: need, Fail: p, History: n, Confidence: c})
				}
			}
		}
	}
	return cells
}

// SimRounds is the most rounds a simulated request may take: the API's
// largest maxRounds. A request still short after them is "capped".
const SimRounds = generation.MaxMaxRounds

// Outcome is one strategy's result in one cell.
type Outcome struct {
	FirstDelivery float64 // P(≥ N pass in round 1)
	FirstImages   float64 // mean round-1 images
	TopUpDelivery float64 // P(≥ N pass within SimRounds rounds)
	TopUpImages   float64 // mean images over all rounds
	TopUpRounds   float64 // mean rounds
	Capped        int     // requests still short after SimRounds rounds
}

// CellResult is every strategy's outcome in a cell, from the same draws.
type CellResult struct {
	Cell
	Requests   int
	Oracle     int     // M*: the exact c-quantile with p known
	OracleProb float64 // P(≥ N pass) at M*
	Ours       Outcome
	// OursExact is ours' first-round delivery rate computed exactly
	// (ExactFirstDelivery), beside the simulated one.
	OursExact float64
	Fixed     Outcome // a flat 20 % (the earlier system's request path)
	Earlier   Outcome // the earlier system's dynamic rule
}

// strategy plans a round of need images given the history's failures k (of
// cell.History) and this request's earlier outcomes.
type strategy func(need, k, passed, failed int) int

// ourPlanner is the planner the pipeline runs, at its defaults.
var ourPlanner = buffer.Planner{Prior: buffer.DefaultPrior, MinSamples: buffer.DefaultMinSamples, ColdStartWeight: buffer.DefaultColdStartWeight}

// Simulate runs requests through cell with a seeded generator, so a run is
// reproducible. Each request draws its own history.
func Simulate(cell Cell, requests int, seed uint64) CellResult {
	rng := rand.New(rand.NewPCG(seed, uint64(cell.N)<<32|uint64(cell.History)))
	draws := newBinomials(1 - cell.Fail)
	history := newBinomials(cell.Fail) // failures among the history
	res := CellResult{Cell: cell, Requests: requests}
	res.Oracle, res.OracleProb = buffer.CountKnown(cell.N, cell.Confidence, cell.Fail, 0)

	ourCache := map[[3]int]int{}
	ours := func(need, k, passed, failed int) int {
		key := [3]int{need, cell.History - k + passed, k + failed}
		if m, ok := ourCache[key]; ok {
			return m
		}
		s := ourPlanner.Size(generation.SizeQuery{
			Need: need, Confidence: cell.Confidence, DefaultPercent: 20,
			History: []generation.ProviderStats{{Passes: cell.History - k, Failures: k}},
			Passed:  passed, Failed: failed,
		})
		ourCache[key] = s.Count
		return s.Count
	}
	fixed := func(need, _, _, _ int) int { return generation.WithBuffer(need, 20) }
	earlier := func(need, k, _, _ int) int {
		return generation.WithBuffer(need, EarlierPercent(need, k, cell.History, cell.Confidence))
	}

	var sums [3]struct{ first, firstImages, topUp, images, rounds, capped int }
	for range requests {
		k := 0
		if cell.History > 0 {
			k = history.draw(rng, cell.History)
		}
		for i, plan := range []strategy{ours, fixed, earlier} {
			s := &sums[i]
			passed, generated := 0, 0
			for round := 1; round <= SimRounds && passed < cell.N; round++ {
				m := plan(cell.N-passed, k, passed, generated-passed)
				x := draws.draw(rng, m)
				passed += x
				generated += m
				s.rounds++
				if round == 1 {
					s.firstImages += m
					if passed >= cell.N {
						s.first++
					}
				}
			}
			s.images += generated
			if passed >= cell.N {
				s.topUp++
			} else {
				s.capped++
			}
		}
	}
	outs := make([]Outcome, 3)
	r := float64(requests)
	for i, s := range sums {
		outs[i] = Outcome{
			FirstDelivery: float64(s.first) / r, FirstImages: float64(s.firstImages) / r,
			TopUpDelivery: float64(s.topUp) / r, TopUpImages: float64(s.images) / r,
			TopUpRounds: float64(s.rounds) / r, Capped: s.capped,
		}
	}
	res.Ours, res.Fixed, res.Earlier = outs[0], outs[1], outs[2]
	res.OursExact = ExactFirstDelivery(cell)
	return res
}

// EarlierPercent is the earlier system's buffer rule (bufferOptimizationService
// computeOptimalBuffer), fed absolute failures — more than it had: its μ was
// the self-referential "not in the top N" rate. Below 10 samples it used its
// 20 % default. Otherwise e = μ + z·σ with σ the per-request binomial sd
// √(μ(1−μ)/N) (the closest model of its across-batch STDDEV) and z from its
// nearest-key one-sided table; b = 100·e/(1−e)·1.05, clamped to [10, 50]
// and rounded to the nearest 5. e ≥ 1 makes b negative, hence 10.
func EarlierPercent(need, failures, samples int, confidence float64) float64 {
	if samples < 10 {
		return 20
	}
	z := 1.645
	switch {
	case confidence < 0.925:
		z = 1.282
	case confidence >= 0.97:
		z = 2.326
	}
	mu := float64(failures) / float64(samples)
	e := mu + z*math.Sqrt(mu*(1-mu)/float64(need))
	b := 20.0
	if e < 1 {
		b = 100 * e / (1 - e) * 1.05
	} else {
		b = -1
	}
	b = min(50, max(10, b))
	return 5 * math.Round(b/5)
}

// binomials draws Binomial(m, q) exactly by inverting a cached CDF table per
// m: O(m) once, then O(log m) per draw.
type binomials struct {
	q      float64
	tables map[int][]float64
}

func newBinomials(q float64) *binomials { return &binomials{q: q, tables: map[int][]float64{}} }

func (b *binomials) draw(rng *rand.Rand, m int) int {
	if m <= 0 {
		return 0
	}
	cdf, ok := b.tables[m]
	if !ok {
		cdf = binomialCDF(m, b.q)
		b.tables[m] = cdf
	}
	u := rng.Float64() * cdf[m]
	return sort.SearchFloat64s(cdf, u)
}

func binomialCDF(m int, q float64) []float64 {
	cdf := make([]float64, m+1)
	switch {
	case q <= 0:
		for i := range cdf {
			cdf[i] = 1
		}
		return cdf
	case q >= 1:
		cdf[m] = 1
		return cdf
	}
	lq, lp := math.Log(q), math.Log1p(-q)
	lm := lgamma(float64(m) + 1)
	sum := 0.0
	for x := 0; x <= m; x++ {
		sum += math.Exp(lm - lgamma(float64(x)+1) - lgamma(float64(m-x)+1) + float64(x)*lq + float64(m-x)*lp)
		cdf[x] = sum
	}
	return cdf
}

// ExactFirstDelivery is ours' first-round delivery rate in cell computed
// without sampling: Σ_k P(k failures in the history) · P(Bin(M_k, 1−p) ≥ N),
// where M_k is what the planner sizes from that history (history terms below
// 1e-15 are skipped). It checks the simulation and removes its noise from
// the "Done when" verdicts.
func ExactFirstDelivery(cell Cell) float64 {
	plan := func(k int) int {
		return ourPlanner.Size(generation.SizeQuery{
			Need: cell.N, Confidence: cell.Confidence, DefaultPercent: 20,
			History: []generation.ProviderStats{{Passes: cell.History - k, Failures: k}},
		}).Count
	}
	if cell.History == 0 {
		return 1 - buffer.ShortfallKnown(cell.N, plan(0), cell.Fail)
	}
	total := 0.0
	lp, lq := math.Log(cell.Fail), math.Log1p(-cell.Fail)
	ln := lgamma(float64(cell.History) + 1)
	for k := 0; k <= cell.History; k++ {
		w := math.Exp(ln - lgamma(float64(k)+1) - lgamma(float64(cell.History-k)+1) + float64(k)*lp + float64(cell.History-k)*lq)
		if w < 1e-15 {
			continue
		}
		total += w * (1 - buffer.ShortfallKnown(cell.N, plan(k), cell.Fail))
	}
	return total
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}
