package app

import (
	"context"
	"fmt"
	"regexp"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
)

// credibleLevel is the mass of the credible intervals LearningReport reports.
const credibleLevel = 0.9

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// LearningReport is what the learner knows about a provider's prompt
// modifiers. Its JSON is the answer of GET /v1/learning/{provider}.
type LearningReport struct {
	Provider string `json:"provider"`
	// Attributes are ranked by the posterior mean of the pass rate, best
	// first, with equal-tailed credible intervals at CredibleLevel;
	// catalog modifiers without outcomes show the prior.
	Attributes    []learning.Posterior `json:"attributes"`
	CredibleLevel float64              `json:"credibleLevel"`
	Prior         string               `json:"prior"`
	// NegativeTerms are the terms learned from recent failure reasons;
	// they go into the negative prompt of providers that accept one.
	NegativeTerms  []string                 `json:"negativeTerms"`
	FailureReasons []generation.ReasonCount `json:"failureReasons"`
}

// Learning reports what the learner knows about a provider's prompt
// modifiers. A provider without feedback answers the prior for every
// catalog modifier. Without LearnerStats it is EUNAVAILABLE.
func (s *Service) Learning(ctx context.Context, provider string) (LearningReport, error) {
	if !providerName.MatchString(provider) {
		return LearningReport{}, generation.FieldError("provider", "must be a provider name (lower-case letters, digits, '.', '_', '-'), got %q", provider)
	}
	if s.LearnerStats == nil {
		return LearningReport{}, generation.Errorf(generation.EUNAVAILABLE, "learning statistics are not available")
	}
	stats, err := s.LearnerStats.AttributeStats(ctx, provider)
	if err != nil {
		return LearningReport{}, fmt.Errorf("learning of %s: %w", provider, err)
	}
	reasons, err := s.LearnerStats.FailureReasons(ctx, provider)
	if err != nil {
		return LearningReport{}, fmt.Errorf("learning of %s: %w", provider, err)
	}
	if reasons == nil {
		reasons = []generation.ReasonCount{}
	}
	prior := s.planner().PassRatePrior() // PASS_RATE_PRIOR: the learner's prior too
	return LearningReport{
		Provider:       provider,
		Attributes:     learning.Rank(stats, learning.Catalog, prior.Alpha, credibleLevel),
		CredibleLevel:  credibleLevel,
		Prior:          fmt.Sprintf("Beta(%g, %g)", prior.Alpha, prior.Beta),
		NegativeTerms:  learning.NegativeTerms(reasons, learning.DefaultMaxNegativeTerms),
		FailureReasons: reasons,
	}, nil
}
