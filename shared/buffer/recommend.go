package buffer

import (
	"fmt"

	"github.com/designerbff/pipeline/shared/generation"
)

// Recommendation types.
const (
	HighFailureRate      = "HIGH_FAILURE_RATE"
	LowConsistency       = "LOW_CONSISTENCY"
	HighOutlierRate      = "HIGH_OUTLIER_RATE"
	ExcellentPerformance = "EXCELLENT_PERFORMANCE"
)

// Thresholds of the recommendations. Every rate is absolute (filtered,
// errored or below the validator's threshold), never "not in the top N", so
// a provider whose images all pass at 75 has a failure rate of 0, not 100 %.
// No recommendation is made on fewer than MinSamples outcomes.
const (
	// HighFailureRateAbove: posterior mean failure rate above 30 %.
	HighFailureRateAbove = 0.30
	// LowConsistencyStdDevAbove: validator scores spread by more than 15
	// points (population standard deviation on the 0–100 scale).
	LowConsistencyStdDevAbove = 15.0
	// HighOutlierRateAbove: more than 5 % of verdicts are hard fails
	// (blank, undecodable, too large) — broken images, not weak ones.
	HighOutlierRateAbove = 0.05
	// ExcellentFailureBelow and ExcellentScoreAtLeast: the upper end of the
	// 95 % credible interval of the failure rate below 10 % and a mean score
	// of at least 85.
	ExcellentFailureBelow = 0.10
	ExcellentScoreAtLeast = 85.0
)

// AdviceCounts are the request sizes recalibration plans in advance.
var AdviceCounts = []int{1, 4, 10, 30, 100}

// Stats summarises a provider's pass rate for the API.
type Stats struct {
	PassRateMean     float64        `json:"passRateMean"`
	PassRateLow      float64        `json:"passRateLow"`  // 2.5 % quantile
	PassRateHigh     float64        `json:"passRateHigh"` // 97.5 % quantile
	FailureRate      float64        `json:"failureRate"`  // 1 − PassRateMean
	Alpha            float64        `json:"alpha"`
	Beta             float64        `json:"beta"`
	Samples          int            `json:"samples"`
	Passes           int            `json:"passes"`
	Failures         int            `json:"failures"`
	FailuresByReason map[string]int `json:"failuresByReason"`
	Scored           int            `json:"scored"`
	ScoreMean        float64        `json:"scoreMean"`
	ScoreStdDev      float64        `json:"scoreStdDev"`
	OutlierRate      float64        `json:"outlierRate"`
}

// Summarise returns the pass-rate posterior (the prior plus st's outcomes)
// and the validator metrics of st.
func (p Planner) Summarise(st generation.ProviderStats) Stats {
	post := p.prior().Update(float64(st.Passes), float64(st.Failures))
	lo, hi := post.Interval(0.95)
	s := Stats{
		PassRateMean: post.Mean(), PassRateLow: lo, PassRateHigh: hi, FailureRate: 1 - post.Mean(),
		Alpha: post.Alpha, Beta: post.Beta, Samples: st.Samples(), Passes: st.Passes, Failures: st.Failures,
		FailuresByReason: st.FailuresByReason, Scored: st.Scored, ScoreMean: st.ScoreMean, ScoreStdDev: st.ScoreStdDev,
	}
	if s.FailuresByReason == nil {
		s.FailuresByReason = map[string]int{}
	}
	if st.Scored > 0 {
		s.OutlierRate = float64(st.Outliers) / float64(st.Scored)
	}
	return s
}

// Total adds every model's statistics of one provider into one.
func Total(provider string, rows []generation.ProviderStats) generation.ProviderStats {
	t := generation.ProviderStats{Provider: provider, FailuresByReason: map[string]int{}}
	var scoreSum, squareSum, costSum float64
	for _, r := range rows {
		t.Passes += r.Passes
		t.Failures += r.Failures
		for k, v := range r.FailuresByReason {
			t.FailuresByReason[k] += v
		}
		// Pool the moments so the total's mean and spread are exact.
		scoreSum += r.ScoreMean * float64(r.Scored)
		squareSum += (r.ScoreStdDev*r.ScoreStdDev + r.ScoreMean*r.ScoreMean) * float64(r.Scored)
		costSum += r.MeanCostUSD * float64(r.Samples())
		t.Scored += r.Scored
		t.Outliers += r.Outliers
		if r.ComputedAt.After(t.ComputedAt) {
			t.ComputedAt = r.ComputedAt
		}
	}
	if t.Scored > 0 {
		t.ScoreMean = scoreSum / float64(t.Scored)
		t.ScoreStdDev = sqrtNonNeg(squareSum/float64(t.Scored) - t.ScoreMean*t.ScoreMean)
	}
	if t.Samples() > 0 {
		t.MeanCostUSD = costSum / float64(t.Samples())
	}
	return t
}

// Assess fills st's recommended buffers (AdviceCounts at p.Confidence) and
// recommendations.
func (p Planner) Assess(st generation.ProviderStats) generation.ProviderStats {
	confidence := p.Confidence
	if confidence <= 0 || confidence >= 1 {
		confidence = 0.95
	}
	st.RecommendedBuffers = make([]generation.BufferAdvice, 0, len(AdviceCounts))
	for _, n := range AdviceCounts {
		s := p.Size(generation.SizeQuery{Need: n, Confidence: confidence, Model: st.Model,
			History: []generation.ProviderStats{st}, DefaultPercent: p.DefaultPercent})
		st.RecommendedBuffers = append(st.RecommendedBuffers, generation.BufferAdvice{
			Count: n, Planned: s.Count, BufferPercent: s.BufferPercent, Probability: s.Probability, Confidence: confidence,
		})
	}
	st.Recommendations = p.Recommend(st)
	return st
}

// Recommend applies the documented thresholds to st.
func (p Planner) Recommend(st generation.ProviderStats) []generation.Recommendation {
	out := []generation.Recommendation{}
	if st.Samples() < max(1, p.MinSamples) {
		return out
	}
	s := p.Summarise(st)
	if s.FailureRate > HighFailureRateAbove {
		out = append(out, generation.Recommendation{
			Type: HighFailureRate, Severity: "high", Action: "increase_buffer",
			Message: fmt.Sprintf("%.0f %% of candidates fail (filtered, errored or below threshold); the planner sizes larger rounds and the prompts or provider need attention",
				100*s.FailureRate),
			Value: s.FailureRate, Limit: HighFailureRateAbove,
		})
	}
	if st.Scored >= max(1, p.MinSamples) && st.ScoreStdDev > LowConsistencyStdDevAbove {
		out = append(out, generation.Recommendation{
			Type: LowConsistency, Severity: "medium", Action: "enhance_prompts",
			Message: fmt.Sprintf("validator scores spread by %.1f points", st.ScoreStdDev),
			Value:   st.ScoreStdDev, Limit: LowConsistencyStdDevAbove,
		})
	}
	if st.Scored >= max(1, p.MinSamples) && s.OutlierRate > HighOutlierRateAbove {
		out = append(out, generation.Recommendation{
			Type: HighOutlierRate, Severity: "medium", Action: "adjust_style_params",
			Message: fmt.Sprintf("%.1f %% of images are broken (blank, undecodable or too large)", 100*s.OutlierRate),
			Value:   s.OutlierRate, Limit: HighOutlierRateAbove,
		})
	}
	if 1-s.PassRateLow < ExcellentFailureBelow && st.ScoreMean >= ExcellentScoreAtLeast {
		out = append(out, generation.Recommendation{
			Type: ExcellentPerformance, Severity: "info", Action: "decrease_buffer",
			Message: fmt.Sprintf("failure rate at most %.1f %% (95 %% credible) and mean score %.1f", 100*(1-s.PassRateLow), st.ScoreMean),
			Value:   1 - s.PassRateLow, Limit: ExcellentFailureBelow,
		})
	}
	return out
}
