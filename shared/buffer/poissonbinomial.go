package buffer

// Per-candidate planning. When the chooser predicts each planned
// candidate's pass probability (shared/learning's Predict), the number of
// passes among the first m candidates is Poisson-binomial, not binomial:
// candidates differ. The prediction is uncertain, and its uncertainty is
// shared between candidates (the provider's rate, a modifier two candidates
// both carry), so the candidates are not independent either. The predictor
// therefore hands over K joint posterior draws: draws[k][i] is candidate i's
// pass probability under draw k of every shared parameter. Given one draw the
// candidates are independent, so P(X ≥ n | draw k) is an exact
// Poisson-binomial tail, and the integrated probability is its average over
// the draws (a Monte-Carlo integral over the posterior, deterministic because
// the draws are seeded). With every draw equal this is the exact
// Poisson-binomial; with every candidate equal in each draw it is the
// Beta-binomial that Count uses, up to the Monte-Carlo error.

// PredictedTails returns, for every prefix m = 0…M of the candidates
// (M = len(draws[k])), P(at least n of the first m pass) averaged over the
// draws. Each draw is one dynamic programme over the candidates that keeps
// P(X = x) for x < n and lumps x ≥ n together, so the whole table costs
// O(K·M·n).
func PredictedTails(n int, draws [][]float64) []float64 {
	if len(draws) == 0 {
		return nil
	}
	m := len(draws[0])
	out := make([]float64, m+1)
	if n <= 0 {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	dist := make([]float64, n+1) // dist[x] = P(X = x), x < n; dist[n] = P(X ≥ n)
	for _, d := range draws {
		clear(dist)
		dist[0] = 1
		for i := range m {
			p := 0.0
			if i < len(d) {
				p = min(1, max(0, d[i]))
			}
			dist[n] += dist[n-1] * p
			for x := n - 1; x > 0; x-- {
				dist[x] = dist[x]*(1-p) + dist[x-1]*p
			}
			dist[0] *= 1 - p
			out[i+1] += dist[n]
		}
	}
	for i := range out {
		out[i] /= float64(len(draws))
	}
	return out
}

// CountPredicted returns the smallest m with P(at least n of the first m
// candidates pass) ≥ confidence under the draws (see PredictedTails),
// capped at limit (0: every candidate drawn), and that m's probability. When
// no prefix reaches the confidence it returns the largest allowed and its
// (lower) probability: the caller reports it as capped.
func CountPredicted(n int, confidence float64, draws [][]float64, limit int) (int, float64) {
	if n <= 0 {
		return 0, 1
	}
	tails := PredictedTails(n, draws)
	if len(tails) == 0 {
		return 0, 0
	}
	most := len(tails) - 1
	if limit > 0 && limit < most {
		most = limit
	}
	for m := n; m <= most; m++ {
		if tails[m] >= confidence {
			return m, tails[m]
		}
	}
	return most, tails[most]
}
