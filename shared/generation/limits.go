package generation

import (
	"fmt"
	"time"
)

// UsageWindow is the window of the per-user daily limits: a sliding 24 h.
const UsageWindow = 24 * time.Hour

// UserLimits bound what one user may spend, whatever the settings say. A
// zero field is no limit.
type UserLimits struct {
	MaxUnfinished        int     // generations not final at once (USER_MAX_CONCURRENT_GENERATIONS)
	MaxImagesPerDay      int     // images planned in UsageWindow (USER_MAX_IMAGES_PER_DAY)
	MaxCostPerGeneration float64 // USD, the default and the upper bound of maxCostUsd (GENERATION_MAX_COST_USD)
	MaxCostPerDay        float64 // USD in UsageWindow (USER_MAX_COST_USD_PER_DAY)
}

// Usage is what a user's generations have consumed, read from the database
// (UserUsage), so that limits hold across every API instance.
type Usage struct {
	Unfinished int // generations that are not final
	// Images and CostUSD are committed by the generations created in the
	// window: a final generation's actual candidates and cost, an
	// unfinished one's maxImages and maxCostUsd (what it may still reach)
	// when they are larger.
	Images  int
	CostUSD float64
	// Oldest is when the oldest generation in the window was created (zero:
	// none): its images and cost leave the window at Oldest+UsageWindow.
	Oldest time.Time
}

// unfinishedRetry is the Retry-After of the concurrency limit: a
// generation takes about this long, and nothing predicts it better.
const unfinishedRetry = 30 * time.Second

// Apply checks a new generation's settings against the limits and u, and
// returns them with the limits applied: maxCostUsd defaults to the smaller
// of MaxCostPerGeneration and what remains of MaxCostPerDay, and maxImages,
// when unset, to what remains of MaxImagesPerDay if that is below
// GenerationBound. An explicit value is never lowered silently: above
// MaxCostPerGeneration it is EINVALID, above what remains today ELIMITED.
// Every ELIMITED error carries a RetryAfter.
func (l UserLimits) Apply(s Settings, u Usage, now time.Time) (Settings, error) {
	if l.MaxUnfinished > 0 && u.Unfinished >= l.MaxUnfinished {
		return s, limited(unfinishedRetry, "you have %d generations in progress, the most allowed at once; retry when one has finished", u.Unfinished)
	}
	if l.MaxCostPerGeneration > 0 && s.MaxCostUSD > l.MaxCostPerGeneration {
		return s, FieldError("maxCostUsd", "must be at most %.2f", l.MaxCostPerGeneration)
	}
	// The window's oldest generation leaves it first.
	dayRetry := max(time.Second, u.Oldest.Add(UsageWindow).Sub(now).Round(time.Second))
	if u.Oldest.IsZero() {
		dayRetry = UsageWindow
	}
	if l.MaxImagesPerDay > 0 {
		left := l.MaxImagesPerDay - u.Images
		switch {
		case left < s.Count:
			return s, limited(dayRetry, "only %d of your %d images per day are left; count is %d", max(0, left), l.MaxImagesPerDay, s.Count)
		case s.MaxImages > left:
			return s, limited(dayRetry, "only %d of your %d images per day are left; maxImages is %d", left, l.MaxImagesPerDay, s.MaxImages)
		case s.MaxImages == 0 && left < GenerationBound(s.Count):
			s.MaxImages = left
		}
	}
	explicit := s.MaxCostUSD > 0
	if !explicit {
		s.MaxCostUSD = l.MaxCostPerGeneration
	}
	if l.MaxCostPerDay > 0 {
		left := l.MaxCostPerDay - u.CostUSD
		switch {
		case left < minCostLeft:
			return s, limited(dayRetry, "your spending limit of %.2f USD per day is reached", l.MaxCostPerDay)
		case explicit && s.MaxCostUSD > left:
			return s, limited(dayRetry, "only %.2f of your %.2f USD per day are left; maxCostUsd is %.2f", left, l.MaxCostPerDay, s.MaxCostUSD)
		case !explicit && (s.MaxCostUSD == 0 || s.MaxCostUSD > left):
			s.MaxCostUSD = left
		}
	}
	return s, nil
}

// minCostLeft is the least daily budget a new generation may start with: a
// cent (less would plan nothing at any catalog price).
const minCostLeft = 0.01

func limited(retry time.Duration, format string, args ...any) *Error {
	return &Error{Code: ELIMITED, Message: fmt.Sprintf(format, args...), RetryAfter: retry}
}
