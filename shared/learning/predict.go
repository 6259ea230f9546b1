package learning

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/designerbff/pipeline/shared/generation"
)

// The pass-probability model (model.predict).
//
// A candidate's pass probability is a logistic combination of log-odds:
//
//	logit p = β₀ + Σ_m β_m  over the candidate's modifiers m
//
// fitted jointly, as a Bayesian logistic regression, on the provider's most
// recent outcomes (RecentOutcomes: FitWindow candidates, each weighing
// 2^(−age/FitHalfLife), so the fit follows a provider that changes). A joint
// fit matters: the learner's per-modifier counts are marginal, and
// modifiers chosen together (the favourites of a learning chooser, all
// picked more often as failures fall) would each be credited with the
// others' effect; summing such marginal effects over a candidate's five
// modifiers promises far more passes than arrive.
//
// Priors: β₀ ~ N(logit q̄₀, InterceptSD²), where q̄₀ is the mean of the
// provider/model's recency-discounted posterior Beta(α₀, β₀) (the one the
// planner uses), the baseline a candidate's modifiers move. The effects
// have a split-normal prior, β_m ~ N(0, EffectSDHarm²) below 0 and
// N(0, EffectSDHelp²) above: a modifier nobody has tried has no effect, and
// a word in a prompt can break images far more easily than it can mend
// them (one that asks for a night scene underexposes: −2 in log-odds; the
// best a modifier does is a few points). So a modifier that fails is
// believed quickly, and one that merely looked lucky gains little. A
// symmetric N(0, 0.85²) let the best-looking modifier of each group keep
// its luck, and choosing those is a winner's curse: over the learning
// benchmark's seeds 1–24, candidates predicted 0.92 passed 0.89 of the
// time, and round 1 fell short more often than c allows. (Every candidate
// carries one modifier per group, so the group's indicators sum to the
// intercept's; the prior is what tells them apart.)
//
// Uncertainty: the posterior is approximated by the normal at its mode with
// the inverse Hessian as covariance (Laplace). A draw takes every β at once,
// so candidates that share a modifier (or the intercept) are correlated; the
// planner averages the exact Poisson-binomial over the draws
// (buffer.CountPredicted). It is fitted with Newton's method over gonum's
// Cholesky factorisation; for thirty-odd parameters and a thousand
// outcomes that is a few milliseconds.
//
// The normal is symmetric about the mode, but the split prior is not: at
// an untried modifier's mode, 0, the Hessian holds the harm side's
// precision, so a plain Laplace draw lifts it as far as 1.2 log-odds above
// 0 when the prior allows a help of about 0.35. The chooser's draws
// (model.draw) therefore rescale the part of an effect that crosses 0 to
// the far side's marginal width: an untried modifier then draws its help
// from N(0, 0.35²) and its harm from N(0, 1.2²) (half of its draws still
// land above 0, where the prior puts 23 %), and one whose data put it
// just above 0 can still draw the harm it might do. Measured on the
// learning benchmark's seeds 1–24 (learning arm): 12,895 images against
// 12,962, first-round delivery 0.950 against 0.942 (seeds 1–8: 4,088
// against 4,130; seeds 9–24: 8,807 against 8,832); per seed it is cheaper
// on 11 of the 24 and dearer on 12, so the gain is within the benchmark's
// noise: the rescaling is here because the plain draw contradicts the
// prior, not for its figures. The planner's draws (model.predict) stay
// plain: it needs the candidates' sums, which the
// Laplace covariance pins down through the coefficients' correlations (a
// round's candidates share most modifiers, so the intercept and their
// effects trade off), and widening each coefficient alone breaks that: the
// same rescaling there planned 15,383 images, first-round delivery 0.975
// against c = 0.95. The plain draws are calibrated (the benchmark's
// reliability table).

// Model constants.
const (
	// FitWindow is how many recent outcomes the model is fitted on.
	FitWindow = 1200
	// FitHalfLife is the age, in outcomes, at which an outcome weighs half.
	FitHalfLife = 600.0
	// MinFitOutcomes is the history below which the chooser predicts
	// nothing and the planner sizes from the provider's rate alone: about
	// one round's outcomes, so request 1's top-up and requests 2–4 are
	// sized per candidate. Those requests choose modifiers the first
	// round's outcomes favour, which pass far more often than the uniform
	// first round did; sized from the provider's rate they were the most
	// over-buffered of all (seed 1 planned 44, 30 and 28 images and all but
	// one passed). Measured on the learning benchmark (learning arm, with
	// the cold-start prior of BUFFER_COLD_START_WEIGHT 10, and the
	// symmetric N(0, 0.85²) effect prior and InterceptSD ½ then in use): on
	// seeds 1–8, 20 gave 2,545 images over seeds 1–5 and first-round
	// delivery 0.956, 40 gave 2,640 and 0.969, 150 gave 2,683 and 0.975; on
	// seeds 1–24, 20 gave 13,314 images and 0.944, 150 gave 13,710 and
	// 0.954. (Before the cold-start prior, request 1 missed round 1 on
	// every seed and spent the misses c allows, so 20 could not be
	// afforded.) The trajectory is chaotic in such settings (±50 images
	// over seeds 1–5 from a changed draw), so only the many-seed figures
	// say what a setting is worth.
	MinFitOutcomes = 20
	// InterceptSD, EffectSDHarm and EffectSDHelp are the prior standard
	// deviations, in log-odds. The intercept is the pass rate of a
	// candidate without a harmful modifier, above the provider's rate
	// (which counts the harmful ones' failures), so its prior centre is
	// only a guide: at ½ it held every clean candidate's prediction down
	// and over-buffered the early requests. Measured on the learning
	// benchmark's seeds 1–24 (learning arm, MinFitOutcomes 20, cold start):
	// symmetric 0.85 with InterceptSD ½ gave 13,314 images and first-round
	// delivery 0.944; the split prior 1.2/0.35 with ½, 13,173 and 0.944;
	// with 1, 12,962 and 0.942, and its predictions of 0.92 pass 0.91 of
	// the time (0.89 with the symmetric prior). Neighbours tried on seeds
	// 9–24 and checked on 1–8 did not hold up: harm 1.6 saved 93 images on
	// 9–24 and cost 43 on 1–8; help 0.25 saved 21 and missed round 1 more
	// often; InterceptSD 1.5 and an exploration budget of 0.1 cost more.
	InterceptSD  = 1
	EffectSDHarm = 1.2
	EffectSDHelp = 0.35
	// DefaultPredictionDraws is the number of joint posterior draws.
	DefaultPredictionDraws = 128
	// predictionWork bounds draws × candidates × needed images, so a round
	// of thousands plans in well under a second (fewer draws there).
	predictionWork = 20_000_000
	// newtonSteps bounds the fit; it converges in well under ten.
	newtonSteps = 30
	// predictStream separates the prediction's random stream from the
	// choice's, so predicting never changes what is chosen.
	predictStream = 0x9e37_79b9_7f4a_7c15
)

// model is the fitted regression of one provider.
type model struct {
	index map[string]int // modifier → its coefficient (1…); 0 is the intercept
	mode  []float64      // posterior mode
	chol  mat.Cholesky   // of the Hessian at the mode (the posterior precision)
	u     *mat.TriDense  // its factor U (H = UᵀU), which every draw solves with
	best  map[string]string
	// margPrec is each coefficient's marginal posterior precision,
	// 1/(H⁻¹)ⱼⱼ, at the mode.
	margPrec []float64
}

// fitModel fits the model on outcomes (newest first) with the intercept's
// prior centred on the base posterior's mean.
func fitModel(catalog []Group, outcomes []generation.Outcome, baseAlpha, baseBeta float64) (model, bool) {
	m := model{index: map[string]int{}, best: map[string]string{}}
	for _, g := range catalog {
		for _, mod := range g.Modifiers {
			if _, ok := m.index[mod]; !ok {
				m.index[mod] = len(m.index) + 1
			}
		}
	}
	d := len(m.index) + 1
	priorMean := make([]float64, d)
	priorPrec := make([]float64, d)
	priorMean[0], priorPrec[0] = logit(baseAlpha/(baseAlpha+baseBeta)), 1/(InterceptSD*InterceptSD)
	rows := make([][]int, len(outcomes))
	for i, o := range outcomes {
		row := []int{0}
		for _, mod := range o.Modifiers {
			if j, ok := m.index[mod]; ok && !slices.Contains(row, j) {
				row = append(row, j)
			}
		}
		rows[i] = row
	}
	beta := slices.Clone(priorMean)
	grad := mat.NewVecDense(d, nil)
	hess := mat.NewSymDense(d, nil)
	step := mat.NewVecDense(d, nil)
	for range newtonSteps {
		for j := 1; j < d; j++ {
			priorPrec[j] = effectPrecision(beta[j])
		}
		for j := range d {
			grad.SetVec(j, -priorPrec[j]*(beta[j]-priorMean[j]))
			for k := j; k < d; k++ {
				hess.SetSym(j, k, 0)
			}
			hess.SetSym(j, j, priorPrec[j])
		}
		for i, row := range rows {
			w := math.Exp2(-float64(i) / FitHalfLife)
			z := 0.0
			for _, j := range row {
				z += beta[j]
			}
			p := sigmoid(z)
			y := 0.0
			if outcomes[i].Passed {
				y = 1
			}
			for a, j := range row {
				grad.SetVec(j, grad.AtVec(j)+w*(y-p))
				for _, k := range row[a:] {
					lo, hi := min(j, k), max(j, k)
					hess.SetSym(lo, hi, hess.At(lo, hi)+w*p*(1-p))
				}
			}
		}
		if !m.chol.Factorize(hess) {
			return model{}, false
		}
		if err := m.chol.SolveVecTo(step, grad); err != nil {
			return model{}, false
		}
		change := 0.0
		for j := range d {
			beta[j] += step.AtVec(j)
			change = max(change, math.Abs(step.AtVec(j)))
		}
		if change < 1e-8 {
			break
		}
	}
	// chol is the Hessian of the last step's start, whose step was tiny:
	// the precision at the mode.
	m.mode = beta
	var cov mat.SymDense
	if err := m.chol.InverseTo(&cov); err != nil {
		return model{}, false
	}
	m.margPrec = make([]float64, d)
	for j := range d {
		m.margPrec[j] = 1 / cov.At(j, j)
	}
	m.u = new(mat.TriDense)
	m.chol.UTo(m.u)
	for _, g := range catalog {
		best := g.Modifiers[0]
		for _, mod := range g.Modifiers[1:] {
			if beta[m.index[mod]] > beta[m.index[best]] {
				best = mod
			}
		}
		for _, mod := range g.Modifiers {
			m.best[mod] = best
		}
	}
	return m, true
}

// effectPrecision is the split-normal prior's precision on the side of 0
// where β lies (its log density is −β²/2σ² with that side's σ: concave,
// with a continuous slope at 0, so Newton's method still converges).
func effectPrecision(beta float64) float64 {
	sd := EffectSDHarm
	if beta > 0 {
		sd = EffectSDHelp
	}
	return 1 / (sd * sd)
}

// meanPass is the candidate's pass probability at the posterior mode.
func (m model) meanPass(mods []string) float64 {
	z := m.mode[0]
	for _, mod := range distinct(mods) {
		if j, ok := m.index[mod]; ok {
			z += m.mode[j]
		}
	}
	return sigmoid(z)
}

// greedy is the best-known modifier of each of the candidate's groups.
func (m model) greedy(mods []string) []string {
	out := make([]string, len(mods))
	for i, mod := range mods {
		if b, ok := m.best[mod]; ok {
			out[i] = b
		} else {
			out[i] = mod
		}
	}
	return out
}

// predict returns draws × candidates pass probabilities: β ~ N(mode, H⁻¹)
// as mode + U⁻¹z with H = UᵀU and z standard normal.
func (m model) predict(mods [][]string, need int, seed int64) [][]float64 {
	draws := DefaultPredictionDraws
	if work := len(mods) * max(1, need); work > 0 {
		draws = max(16, min(draws, predictionWork/work))
	}
	d := len(m.mode)
	rng := rand.New(rand.NewPCG(uint64(seed), predictStream))
	z := mat.NewVecDense(d, nil)
	v := mat.NewVecDense(d, nil)
	cols := make([][]int, len(mods))
	for i, c := range mods {
		cols[i] = []int{0}
		for _, mod := range distinct(c) {
			if j, ok := m.index[mod]; ok {
				cols[i] = append(cols[i], j)
			}
		}
	}
	out := make([][]float64, draws)
	for k := range out {
		for j := range d {
			z.SetVec(j, rng.NormFloat64())
		}
		if err := v.SolveVec(m.u, z); err != nil {
			v.Zero() // cannot happen for a factorised precision; the mode then
		}
		row := make([]float64, len(mods))
		for i, c := range cols {
			s := 0.0
			for _, j := range c {
				s += m.mode[j] + v.AtVec(j)
			}
			row[i] = sigmoid(s)
		}
		out[k] = row
	}
	return out
}

// draw is one draw of every coefficient for the chooser: the Laplace draw,
// with each effect's part beyond 0 on the far side of its mode rescaled to
// that side's prior (acrossZero).
func (m model) draw(rng *rand.Rand) []float64 {
	d := len(m.mode)
	z := mat.NewVecDense(d, nil)
	for j := range d {
		z.SetVec(j, rng.NormFloat64())
	}
	var v mat.VecDense
	out := slices.Clone(m.mode)
	if err := v.SolveVec(m.u, z); err != nil {
		return out
	}
	for j := range out {
		out[j] = m.acrossZero(j, out[j]+v.AtVec(j))
	}
	return out
}

// acrossZero rescales effect j's draw x when it lies on the other side of 0
// from the mode, by the ratio of the two sides' marginal widths. Swapping
// the prior precision in the Hessian's (j, j) entry changes j's marginal
// precision by exactly the difference (it is a Schur complement), and the
// result stays positive because the precision with the other side's prior
// is positive definite too.
func (m model) acrossZero(j int, x float64) float64 {
	if j == 0 || (x > 0) == (m.mode[j] > 0) {
		return x
	}
	far := m.margPrec[j] - effectPrecision(m.mode[j]) + effectPrecision(x)
	if far <= 0 {
		return x // rounding only
	}
	return x * math.Sqrt(m.margPrec[j]/far)
}

func distinct(mods []string) []string {
	out := make([]string, 0, len(mods))
	for _, m := range mods {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// logit is log(p/(1−p)) with p kept off 0 and 1.
func logit(p float64) float64 {
	const eps = 1e-6
	p = min(1-eps, max(eps, p))
	return math.Log(p / (1 - p))
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
