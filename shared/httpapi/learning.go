package httpapi

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
)

// credibleLevel is the mass of the credible intervals GET /v1/learning reports.
const credibleLevel = 0.9

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// learningBody is the answer of GET /v1/learning/{provider}.
type learningBody struct {
	Provider string `json:"provider"`
	// Attributes are ranked by the posterior mean of the pass rate, best
	// first, with equal-tailed credible intervals at CredibleLevel;
	// catalog modifiers without outcomes show the prior.
	Attributes    []learning.Posterior `json:"attributes"`
	CredibleLevel float64              `json:"credibleLevel"`
	Prior         string               `json:"prior"`
	// NegativeTerms are the terms learned from recent failure reasons;
	// they go into the negative prompt of providers that accept one.
	NegativeTerms  []string               `json:"negativeTerms"`
	FailureReasons []learning.ReasonCount `json:"failureReasons"`
}

// getLearning serves GET /v1/learning/{provider}: what the learner knows
// about a provider's prompt modifiers. A provider without feedback answers
// the prior for every catalog modifier.
func (s *Service) getLearning(w http.ResponseWriter, r *http.Request, _ string) {
	provider := r.PathValue("provider")
	if !providerName.MatchString(provider) {
		s.writeError(w, r, generation.FieldError("provider", "must be a provider name (lower-case letters, digits, '.', '_', '-'), got %q", provider))
		return
	}
	if s.Learning == nil {
		s.writeError(w, r, generation.Errorf(generation.EUNAVAILABLE, "learning statistics are not available"))
		return
	}
	stats, err := s.Learning.AttributeStats(r.Context(), provider)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("learning of %s: %w", provider, err))
		return
	}
	reasons, err := s.Learning.FailureReasons(r.Context(), provider)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("learning of %s: %w", provider, err))
		return
	}
	if reasons == nil {
		reasons = []learning.ReasonCount{}
	}
	prior := s.planner().PassRatePrior() // PASS_RATE_PRIOR: the learner's prior too
	writeJSON(w, http.StatusOK, learningBody{
		Provider:       provider,
		Attributes:     learning.Rank(stats, learning.Catalog, prior.Alpha, credibleLevel),
		CredibleLevel:  credibleLevel,
		Prior:          fmt.Sprintf("Beta(%g, %g)", prior.Alpha, prior.Beta),
		NegativeTerms:  learning.NegativeTerms(reasons, learning.DefaultMaxNegativeTerms),
		FailureReasons: reasons,
	})
}
