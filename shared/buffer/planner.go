package buffer

// MaxCount bounds every plan: a posterior that says "almost nothing passes"
// must not ask for millions of images. A plan that reaches it reports its
// honest (low) probability instead.
const MaxCount = 100_000

// Count returns the smallest M with P(at least n of M pass) ≥ confidence
// under the posterior Beta(alpha, beta), capped at limit (0: MaxCount), and
// that M's probability. At the cap the probability is below confidence: the
// caller reports it as it is.
func Count(n int, confidence, alpha, beta float64, limit int) (int, float64) {
	return search(n, confidence, limit, func(m int) float64 { return Shortfall(n, m, alpha, beta) })
}

// CountKnown is Count when the failure rate is known exactly: the oracle M*.
func CountKnown(n int, confidence, fail float64, limit int) (int, float64) {
	return search(n, confidence, limit, func(m int) float64 { return ShortfallKnown(n, m, fail) })
}

// search finds the smallest m in [n, limit] with shortfall(m) ≤ 1 − confidence.
// P(X ≥ n) grows with m, so an exponential bracket and a bisection need
// O(log M) evaluations of O(n) each.
func search(n int, confidence float64, limit int, shortfall func(m int) float64) (int, float64) {
	if n <= 0 {
		return 0, 1
	}
	if limit <= 0 || limit > MaxCount {
		limit = MaxCount
	}
	if limit < n {
		return limit, 1 - shortfall(limit)
	}
	risk := 1 - confidence
	ok := func(m int) bool { return shortfall(m) <= risk }
	lo, hi := n-1, n // lo fails (or is below n), hi is being tried
	for !ok(hi) {
		if hi == limit {
			return limit, 1 - shortfall(limit)
		}
		lo, hi = hi, min(limit, hi*2)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, 1 - shortfall(hi)
}

// Percent is the buffer that count represents over n, in percent.
func Percent(n, count int) float64 {
	if n <= 0 {
		return 0
	}
	return 100 * float64(count-n) / float64(n)
}
