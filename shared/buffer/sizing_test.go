package buffer_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

func TestPlannerSize(t *testing.T) {
	t.Parallel()
	planner := buffer.Planner{Prior: buffer.DefaultPrior, MinSamples: 10}
	history := []generation.ProviderStats{
		{Model: "fast", Passes: 140, Failures: 60},
		{Model: "new", Passes: 2, Failures: 3},
	}
	twenty := 20.0
	tests := []struct {
		name        string
		q           generation.SizeQuery
		wantCount   int
		wantMethod  string
		wantDefault bool
		wantCapped  bool
		// the posterior the plan must have used
		alpha, beta float64
	}{
		{"a model with enough history plans from its own (buffer-statistics §4: 52)",
			generation.SizeQuery{Need: 30, Confidence: 0.95, Model: "fast", History: history}, 52, generation.BufferAuto, false, false, 140.5, 60.5},
		{"a model with too little history plans from the provider's total",
			generation.SizeQuery{Need: 30, Confidence: 0.95, Model: "new", History: history}, 0, generation.BufferAuto, false, false, 142.5, 63.5},
		{"no history at all: the default percent",
			generation.SizeQuery{Need: 12, Confidence: 0.95, DefaultPercent: 20}, 15, generation.BufferAuto, true, false, 0.5, 0.5},
		{"a top-up counts the request's own outcomes",
			generation.SizeQuery{Need: 5, Confidence: 0.95, DefaultPercent: 20, Passed: 7, Failed: 8}, 0, generation.BufferAuto, false, false, 7.5, 8.5},
		{"a fixed percent is planned as named",
			generation.SizeQuery{Need: 10, Confidence: 0.95, Percent: &twenty, Model: "fast", History: history}, 12, generation.BufferFixed, false, false, 140.5, 60.5},
		{"the cap binds: plan the cap",
			generation.SizeQuery{Need: 30, Confidence: 0.95, Model: "fast", History: history, Limit: 45}, 45, generation.BufferAuto, false, true, 140.5, 60.5},
		{"a cap that does not bind",
			generation.SizeQuery{Need: 30, Confidence: 0.95, Model: "fast", History: history, Limit: 60}, 52, generation.BufferAuto, false, false, 140.5, 60.5},
		{"a fixed percent under a binding cap",
			generation.SizeQuery{Need: 10, Confidence: 0.95, Percent: &twenty, Limit: 11}, 11, generation.BufferFixed, false, true, 0.5, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := planner.Size(tt.q)
			require.Equal(t, tt.wantMethod, s.Method)
			require.Equal(t, tt.wantDefault, s.Default)
			require.Equal(t, tt.wantCapped, s.Capped)
			require.Equal(t, tt.alpha, s.Alpha)
			require.Equal(t, tt.beta, s.Beta)
			want := tt.wantCount
			if want == 0 { // the exact rule on the expected posterior
				want, _ = buffer.Count(tt.q.Need, tt.q.Confidence, tt.alpha, tt.beta, 0)
			}
			require.Equal(t, want, s.Count)
			// The probability is always the honest one for the count.
			require.InDelta(t, 1-buffer.Shortfall(tt.q.Need, s.Count, s.Alpha, s.Beta), s.Probability, 1e-12)
			require.InDelta(t, 100*float64(s.Count-tt.q.Need)/float64(tt.q.Need), s.BufferPercent, 1e-9)
			if s.Method == generation.BufferAuto && !s.Default && !s.Capped {
				require.GreaterOrEqual(t, s.Probability, tt.q.Confidence)
			}
			if s.Capped {
				require.Less(t, s.Probability, tt.q.Confidence)
			}
		})
	}
}

// TestColdStart: below MinSamples a planner with a cold-start weight plans
// exactly over the default percent's rate worth that many outcomes, plus
// the outcomes there are; without one it plans the percent as it is.
func TestColdStart(t *testing.T) {
	t.Parallel()
	cold := buffer.Planner{Prior: buffer.DefaultPrior, MinSamples: 10, ColdStartWeight: 10}
	q := generation.SizeQuery{Need: 20, Confidence: 0.95, DefaultPercent: 20}
	s := cold.Size(q)
	require.True(t, s.Default)
	require.Equal(t, generation.BufferAuto, s.Method)
	// The rate the default 20 % breaks even at is 1/1.2, worth 10 outcomes.
	require.InDelta(t, 10/1.2, s.Alpha, 1e-12)
	require.InDelta(t, 10-10/1.2, s.Beta, 1e-12)
	want, prob := buffer.Count(20, 0.95, s.Alpha, s.Beta, 0)
	require.Equal(t, want, s.Count)
	require.Equal(t, 34, s.Count, "20 images at 95 % over Beta(8.33, 1.67)")
	require.InDelta(t, prob, s.Probability, 1e-12)
	require.GreaterOrEqual(t, s.Probability, 0.95)

	// The default percent alone keeps the promise only for a provider
	// exactly at its rate; the cold start is what integrates the doubt.
	plain := buffer.Planner{Prior: buffer.DefaultPrior, MinSamples: 10}.Size(q)
	require.Equal(t, 24, plain.Count)
	require.True(t, plain.Default)

	// A few outcomes (fewer than MinSamples) update the cold-start prior.
	q.Passed, q.Failed = 2, 3
	s = cold.Size(q)
	require.InDelta(t, 10/1.2+2, s.Alpha, 1e-12)
	require.InDelta(t, 10-10/1.2+3, s.Beta, 1e-12)
	require.Greater(t, s.Count, 34, "three failures in five lower the expected rate")

	// A cap binds as anywhere else, with the honest probability.
	q.Passed, q.Failed, q.Limit = 0, 0, 30
	s = cold.Size(q)
	require.Equal(t, 30, s.Count)
	require.True(t, s.Capped)
	require.Less(t, s.Probability, 0.95)

	// A named percent is planned as named, cold start or not.
	twenty := 20.0
	s = cold.Size(generation.SizeQuery{Need: 20, Confidence: 0.95, Percent: &twenty})
	require.Equal(t, 24, s.Count)
	require.Equal(t, generation.BufferFixed, s.Method)

	// A 0 % default says every candidate passes: the prior's side never
	// falls below the planner's own prior.
	s = cold.Size(generation.SizeQuery{Need: 20, Confidence: 0.95, DefaultPercent: 0})
	require.Equal(t, buffer.DefaultPrior.Beta, s.Beta)
	require.Greater(t, s.Count, 20)
}

func TestPosterior(t *testing.T) {
	t.Parallel()
	uniform := buffer.Prior{Alpha: 1, Beta: 1}.Update(0, 0)
	lo, hi := uniform.Interval(0.95)
	require.InDelta(t, 0.025, lo, 1e-12)
	require.InDelta(t, 0.975, hi, 1e-12)
	// Beta(2, 1) has CDF x², so its quantile at u is √u.
	for _, u := range []float64{0.01, 0.3, 0.9} {
		require.InDelta(t, math.Sqrt(u), buffer.Posterior{Alpha: 2, Beta: 1}.Quantile(u), 1e-12)
	}
	// Beta(1, 3): CDF 1 − (1 − x)³.
	require.InDelta(t, 1-math.Cbrt(0.5), buffer.Posterior{Alpha: 1, Beta: 3}.Quantile(0.5), 1e-12)
	big := buffer.Prior{Alpha: 1, Beta: 1}.Update(700, 300)
	require.InDelta(t, 701.0/1002, big.Mean(), 1e-12)
	lo, hi = big.Interval(0.95)
	sd := math.Sqrt(big.Mean() * (1 - big.Mean()) / 1003)
	require.InDelta(t, big.Mean()-1.96*sd, lo, 2e-3)
	require.InDelta(t, big.Mean()+1.96*sd, hi, 2e-3)

	// Discounting decays the evidence, never the prior.
	d := big.Discount(buffer.Prior{Alpha: 1, Beta: 1}, 0.5)
	require.Equal(t, buffer.Posterior{Alpha: 351, Beta: 151}, d)
	require.Equal(t, buffer.Posterior{Alpha: 1, Beta: 1}, big.Discount(buffer.Prior{Alpha: 1, Beta: 1}, 0))
	require.Error(t, buffer.Prior{Alpha: 0, Beta: 1}.Validate())
	require.Error(t, buffer.Prior{Alpha: 1, Beta: math.NaN()}.Validate())
	require.NoError(t, buffer.Prior{Alpha: 0.5, Beta: 0.5}.Validate())
}

func TestRecommend(t *testing.T) {
	t.Parallel()
	planner := buffer.Planner{MinSamples: 10}
	tests := []struct {
		name string
		st   generation.ProviderStats
		want []string
	}{
		{"too little history: nothing", generation.ProviderStats{Passes: 1, Failures: 8, Scored: 9, ScoreMean: 20, ScoreStdDev: 40, Outliers: 9}, []string{}},
		{"high absolute failure rate", generation.ProviderStats{Passes: 60, Failures: 40, Scored: 100, ScoreMean: 70, ScoreStdDev: 10}, []string{buffer.HighFailureRate}},
		// All pass at 75: the earlier system called this a 100 % failure rate.
		{"uniform passes at 75 are not failures", generation.ProviderStats{Passes: 200, Scored: 200, ScoreMean: 75, ScoreStdDev: 2}, []string{}},
		{"scores spread widely", generation.ProviderStats{Passes: 90, Failures: 10, Scored: 100, ScoreMean: 72, ScoreStdDev: 16}, []string{buffer.LowConsistency}},
		{"broken images", generation.ProviderStats{Passes: 90, Failures: 10, Scored: 100, ScoreMean: 80, ScoreStdDev: 8, Outliers: 6}, []string{buffer.HighOutlierRate}},
		{"excellent", generation.ProviderStats{Passes: 198, Failures: 2, Scored: 200, ScoreMean: 91, ScoreStdDev: 4}, []string{buffer.ExcellentPerformance}},
		{"few failures but a mediocre score is not excellent", generation.ProviderStats{Passes: 198, Failures: 2, Scored: 200, ScoreMean: 80, ScoreStdDev: 4}, []string{}},
		{"high scores on too small a sample are not excellent", generation.ProviderStats{Passes: 12, Scored: 12, ScoreMean: 95}, []string{}},
		{"everything wrong at once", generation.ProviderStats{Passes: 30, Failures: 70, Scored: 80, ScoreMean: 50, ScoreStdDev: 25, Outliers: 20},
			[]string{buffer.HighFailureRate, buffer.LowConsistency, buffer.HighOutlierRate}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := []string{}
			for _, r := range planner.Recommend(tt.st) {
				got = append(got, r.Type)
				require.NotEmpty(t, r.Action)
				require.NotEmpty(t, r.Message)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestAssessAndTotal(t *testing.T) {
	t.Parallel()
	planner := buffer.Planner{MinSamples: 10, Confidence: 0.95, DefaultPercent: 20}
	st := planner.Assess(generation.ProviderStats{Provider: "p", Model: "m", Passes: 140, Failures: 60})
	require.Len(t, st.RecommendedBuffers, len(buffer.AdviceCounts))
	for i, a := range st.RecommendedBuffers {
		want, _ := buffer.Count(buffer.AdviceCounts[i], 0.95, 140.5, 60.5, 0)
		require.Equal(t, want, a.Planned)
		require.Equal(t, buffer.AdviceCounts[i], a.Count)
	}
	cold := planner.Assess(generation.ProviderStats{Provider: "p"})
	require.Equal(t, 2, cold.RecommendedBuffers[0].Planned, "default 20 % of 1")

	total := buffer.Total("p", []generation.ProviderStats{
		{Model: "a", Passes: 3, Failures: 1, Scored: 4, ScoreMean: 70, ScoreStdDev: 10, MeanCostUSD: 0.02, FailuresByReason: map[string]int{"blurry": 1}},
		{Model: "b", Passes: 1, Failures: 1, Scored: 2, ScoreMean: 40, ScoreStdDev: 0, MeanCostUSD: 0.05, FailuresByReason: map[string]int{"blurry": 1}},
	})
	require.Equal(t, 4, total.Passes)
	require.Equal(t, 2, total.Failures)
	require.Equal(t, map[string]int{"blurry": 2}, total.FailuresByReason)
	require.InDelta(t, 60, total.ScoreMean, 1e-9)
	// Pooled: E[x²] = (4·(100+4900) + 2·1600)/6 = 3866.67; minus 60².
	require.InDelta(t, math.Sqrt(3866.6666666666665-3600), total.ScoreStdDev, 1e-9)
	require.InDelta(t, (0.02*4+0.05*2)/6, total.MeanCostUSD, 1e-12)
}
