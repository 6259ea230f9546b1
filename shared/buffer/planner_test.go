package buffer_test

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/combin"

	"github.com/designerbff/pipeline/shared/buffer"
)

// The exact M* and P(X ≥ N) at M* and M*−1 for known p at c = 0.95, from
// buffer-statistics §3 (exact rational arithmetic, cross-checked there by a
// second computation).
func TestCountKnownMatchesExactTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n          int
		fail       float64
		want       int
		pAt, pLess float64
	}{
		{4, 0.05, 5, 0.9774, 0.8145},
		{4, 0.15, 6, 0.9527, 0.8352},
		{4, 0.30, 9, 0.9747, 0.9420},
		{4, 0.50, 13, 0.9539, 0.9270},
		{10, 0.05, 12, 0.9804, 0.8981},
		{10, 0.15, 14, 0.9533, 0.8820},
		{10, 0.30, 19, 0.9674, 0.9404},
		{10, 0.50, 28, 0.9564, 0.9390},
		{30, 0.05, 34, 0.9741, 0.9192},
		{30, 0.15, 40, 0.9701, 0.9421},
		{30, 0.30, 50, 0.9522, 0.9300},
		{30, 0.50, 74, 0.9597, 0.9497},
		{100, 0.05, 109, 0.9533, 0.9081},
		{100, 0.15, 125, 0.9501, 0.9271},
		{100, 0.30, 156, 0.9531, 0.9409},
		{100, 0.50, 224, 0.9527, 0.9461},
	}
	for _, tt := range tests {
		m, p := buffer.CountKnown(tt.n, 0.95, tt.fail, 0)
		require.Equal(t, tt.want, m, "N=%d p=%v", tt.n, tt.fail)
		require.InDelta(t, tt.pAt, p, 5e-5, "N=%d p=%v", tt.n, tt.fail)
		require.InDelta(t, tt.pLess, 1-buffer.ShortfallKnown(tt.n, m-1, tt.fail), 5e-5, "N=%d p=%v at M*-1", tt.n, tt.fail)
	}
}

// M_BB from buffer-statistics §4: history of n candidates with k failures,
// prior Beta(1,1) or Jeffreys Beta(½,½), c = 0.95.
func TestCountBetaBinomialMatchesExactTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, k, need        int
		uniform, jeffreys int
	}{
		{20, 1, 4, 6, 6},
		{20, 10, 4, 16, 16},
		{20, 3, 10, 17, 16},
		{20, 6, 30, 61, 61},
		{20, 10, 30, 96, 97},
		{20, 1, 100, 127, 123},
		{20, 10, 100, 309, 313},
		{200, 30, 4, 7, 7},
		{200, 100, 10, 29, 29},
		{200, 60, 30, 52, 52},
		{200, 30, 100, 129, 128},
		{200, 100, 100, 237, 237},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			prior buffer.Prior
			want  int
		}{{buffer.Prior{Alpha: 1, Beta: 1}, tt.uniform}, {buffer.Prior{Alpha: 0.5, Beta: 0.5}, tt.jeffreys}} {
			post := c.prior.Update(float64(tt.n-tt.k), float64(tt.k))
			m, p := buffer.Count(tt.need, 0.95, post.Alpha, post.Beta, 0)
			require.Equal(t, c.want, m, "n=%d k=%d N=%d prior %v", tt.n, tt.k, tt.need, c.prior)
			require.GreaterOrEqual(t, p, 0.95)
			require.Less(t, 1-buffer.Shortfall(tt.need, m-1, post.Alpha, post.Beta), 0.95, "M-1 must miss")
		}
	}
}

// exactShortfall is P(X < n), X ~ BetaBinomial(m, a, b) for integer a, b, in
// exact rational arithmetic: C(m,x)·B(x+a, m−x+b)/B(a,b) with
// B(i, j) = (i−1)!(j−1)!/(i+j−1)!.
func exactShortfall(n, m, a, b int) *big.Rat {
	fact := func(k int) *big.Int { return new(big.Int).MulRange(1, int64(max(k, 1))) }
	beta := func(i, j int) *big.Rat {
		return new(big.Rat).SetFrac(new(big.Int).Mul(fact(i-1), fact(j-1)), fact(i+j-1))
	}
	sum := new(big.Rat)
	for x := 0; x < n && x <= m; x++ {
		term := new(big.Rat).SetInt(new(big.Int).Binomial(int64(m), int64(x)))
		term.Mul(term, beta(x+a, m-x+b))
		term.Quo(term, beta(a, b))
		sum.Add(sum, term)
	}
	return sum
}

func TestShortfallAgreesWithExactRationals(t *testing.T) {
	t.Parallel()
	tests := []struct{ n, m, a, b int }{
		{1, 1, 1, 1}, {1, 5, 2, 9}, {4, 9, 15, 7}, {10, 25, 3, 3}, {30, 61, 15, 7},
		{30, 45, 101, 101}, {20, 120, 2, 40}, {50, 60, 400, 3}, {3, 200, 1, 500},
	}
	for _, tt := range tests {
		want, _ := exactShortfall(tt.n, tt.m, tt.a, tt.b).Float64()
		got := buffer.Shortfall(tt.n, tt.m, float64(tt.a), float64(tt.b))
		require.InEpsilon(t, want, got, 1e-9, "%+v", tt)
	}
}

func TestCountEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		count    func() (int, float64)
		want     int
		wantProb func(p float64) bool
	}{
		{"nothing needed", func() (int, float64) { return buffer.CountKnown(0, 0.95, 0.3, 0) }, 0, func(p float64) bool { return p == 1 }},
		{"N=1, failure near 0", func() (int, float64) { return buffer.CountKnown(1, 0.99, 1e-9, 0) }, 1, func(p float64) bool { return p > 0.999 }},
		{"N=1, p=0.5: 1-0.5^M ≥ 0.95 → 5", func() (int, float64) { return buffer.CountKnown(1, 0.95, 0.5, 0) }, 5, func(p float64) bool { return math.Abs(p-0.96875) < 1e-12 }},
		// ⌈ln 0.05 / ln 0.999⌉ = 2995.
		{"N=1, failure near 1", func() (int, float64) { return buffer.CountKnown(1, 0.95, 0.999, 0) }, 2995, func(p float64) bool { return p >= 0.95 }},
		{"never passes: capped at MaxCount", func() (int, float64) { return buffer.CountKnown(3, 0.95, 1, 0) }, buffer.MaxCount, func(p float64) bool { return p == 0 }},
		{"no failures: M = N", func() (int, float64) { return buffer.CountKnown(40, 0.999, 0, 0) }, 40, func(p float64) bool { return p == 1 }},
		{"cap binds: plan the cap, report its probability", func() (int, float64) { return buffer.CountKnown(30, 0.95, 0.3, 45) }, 45, func(p float64) bool { return math.Abs(p-0.7462) < 5e-5 }},
		{"cap below N", func() (int, float64) { return buffer.CountKnown(30, 0.95, 0.3, 20) }, 20, func(p float64) bool { return p == 0 }},
		{"cap that does not bind", func() (int, float64) { return buffer.CountKnown(30, 0.95, 0.3, 60) }, 50, func(p float64) bool { return p >= 0.95 }},
		// Uniform prior, no history: P(X ≥ N | M) = (M−N+1)/(M+1) ≥ 0.95 → M = 20N − 1.
		{"uniform prior N=4", func() (int, float64) { return buffer.Count(4, 0.95, 1, 1, 0) }, 79, func(p float64) bool { return math.Abs(p-76.0/80) < 1e-12 }},
		{"N=1, posterior near 1", func() (int, float64) { return buffer.Count(1, 0.95, 5000, 1, 0) }, 1, func(p float64) bool { return p > 0.999 }},
		{"N=1, posterior near 0", func() (int, float64) { return buffer.Count(1, 0.95, 1, 5000, 0) }, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, p := tt.count()
			if tt.wantProb == nil { // only monotonicity and the target
				require.GreaterOrEqual(t, p, 0.95)
				return
			}
			require.Equal(t, tt.want, m)
			require.True(t, tt.wantProb(p), "probability %v", p)
		})
	}
}

// Thousands of candidates: the log-space recurrence neither underflows nor
// loses the answer. Against the normal approximation with continuity
// correction, which is accurate at this size.
func TestCountIsStableInTheThousands(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    int
		fail float64
	}{{1000, 0.5}, {2000, 0.7}, {5000, 0.02}} {
		m, p := buffer.CountKnown(tt.n, 0.95, tt.fail, 0)
		q := 1 - tt.fail
		z := 1.6448536269514722
		root := (z*math.Sqrt(q*tt.fail) + math.Sqrt(z*z*q*tt.fail+4*q*(float64(tt.n)-0.5))) / (2 * q)
		require.InDelta(t, root*root, float64(m), 2, "%+v", tt)
		require.GreaterOrEqual(t, p, 0.95)
		require.False(t, math.IsNaN(buffer.ShortfallKnown(tt.n, m, tt.fail)))
		post := buffer.Posterior{Alpha: 1 + 1e6*q, Beta: 1 + 1e6*tt.fail}
		mb, pb := buffer.Count(tt.n, 0.95, post.Alpha, post.Beta, 0)
		require.InDelta(t, m, mb, 2, "a huge history converges to the known rate")
		require.GreaterOrEqual(t, pb, 0.95)
	}
}

func BenchmarkCount(b *testing.B) {
	for b.Loop() {
		buffer.Count(100, 0.95, 101, 101, 0)
	}
}

// gonumShortfall is P(X < n), X ~ BetaBinomial(m, a, b), as the plain sum of
// pmf terms C(m,x)·B(x+a, m−x+b)/B(a,b) from gonum's log-binomial and log-beta:
// an independent statement of what Shortfall's recurrence computes.
func gonumShortfall(n, m int, a, b float64) float64 {
	sum := 0.0
	for x := 0; x < n && x <= m; x++ {
		sum += math.Exp(combin.LogGeneralizedBinomial(float64(m), float64(x)) +
			mathext.Lbeta(float64(x)+a, float64(m-x)+b) - mathext.Lbeta(a, b))
	}
	return sum
}

// The exact log-space tail against gonum's pmf sums, at real-valued
// posteriors (the prior's halves, discounted counts) where the rational
// check above cannot go.
func TestShortfallAgreesWithGonumPmfSums(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, m int
		a, b float64
	}{
		{1, 1, 0.5, 0.5}, {4, 6, 0.5, 0.5}, {4, 9, 17.5, 3.5}, {10, 25, 3.25, 2.75}, {30, 52, 140.5, 60.5},
		{30, 61, 14.5, 6.5}, {100, 224, 50.5, 50.5}, {20, 120, 2.1, 40.7}, {50, 60, 400.5, 3.5},
		{3, 200, 0.5, 500.5}, {100, 313, 10.5, 10.5}, {1000, 2100, 1000.5, 1000.5},
	}
	for _, tt := range tests {
		want := gonumShortfall(tt.n, tt.m, tt.a, tt.b)
		got := buffer.Shortfall(tt.n, tt.m, tt.a, tt.b)
		require.InEpsilon(t, want, got, 1e-9, "%+v", tt)
	}
}

// Count's answers at the prior's halves are the smallest M whose gonum pmf
// sum meets the confidence.
func TestCountAgreesWithGonumPmfSums(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		need int
		a, b float64
	}{{4, 17.5, 3.5}, {30, 140.5, 60.5}, {100, 100.5, 100.5}, {10, 0.5 + 70, 0.5 + 30}} {
		m, _ := buffer.Count(tt.need, 0.95, tt.a, tt.b, 0)
		require.LessOrEqual(t, gonumShortfall(tt.need, m, tt.a, tt.b), 0.05+1e-12, "%+v", tt)
		require.Greater(t, gonumShortfall(tt.need, m-1, tt.a, tt.b), 0.05-1e-12, "%+v: M−1 must miss", tt)
	}
}
