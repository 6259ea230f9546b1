// Package app is the application layer: the operations the API offers (create
// a generation, read it, rate an image, report on buffers, providers and
// learning), over the ports of shared/generation. It sits next to the stage
// operations (generation.Pipeline) and speaks the same coded errors
// (generation.Error); shared/httpapi only decodes a request, calls one
// operation and encodes its answer. It imports the domain and the pure
// libraries (shared/buffer, shared/learning, shared/quality), never an
// adapter.
package app

import (
	"log/slog"
	"time"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/generation"
)

// DefaultPresignExpiry is the lifetime of presigned image URLs when
// Service.PresignExpiry is zero.
const DefaultPresignExpiry = time.Hour

// Service runs the API's operations. Store, Objects and Starter are
// required; every other dependency is optional and its zero value is
// documented on the field.
type Service struct {
	Store   generation.Store
	Objects generation.ObjectStore
	Starter generation.Starter
	// Defaults are what settings fall back on (BUFFER_TARGET_CONFIDENCE,
	// PROVIDER).
	Defaults generation.Defaults
	// ValidatorVersion is the version whose verdicts are read.
	ValidatorVersion string
	// PresignExpiry is the lifetime of presigned image URLs (0: 1h).
	PresignExpiry time.Duration
	// Planner answers the buffer advice and provider report (nil: a planner
	// with the defaults of BUFFER_MIN_SAMPLES and BUFFER_COLD_START_WEIGHT,
	// Defaults.TargetConfidence and a 20 % default buffer).
	Planner *buffer.Planner
	// ProviderChooser resolves settings.provider "auto" (nil: "auto" is an
	// EINVALID error naming provider).
	ProviderChooser generation.ProviderChooser
	// Ratings sends user ratings and operators' reviews to the learner's
	// queue (nil: Rate and Review are EUNAVAILABLE, "feedback is not
	// enabled").
	Ratings generation.Publisher
	// Monitoring reads the monitoring sections and the review queue for
	// operators (nil: those operations are EUNAVAILABLE).
	Monitoring generation.Monitoring
	// MonitoringQuery holds the alert thresholds the monitoring sections
	// are read with (MONITORING_MAX_COST_PER_IMAGE_USD,
	// GENERATION_STALL_TIMEOUT, VALIDATION_MIN_SCORE).
	MonitoringQuery generation.MonitoringQuery
	// LearnerStats reads the learner's statistics for Learning (nil:
	// EUNAVAILABLE).
	LearnerStats generation.AttributeStatsReader
	// Usage counts each user's generations, images, cost and ratings for
	// Limits and RatingsPerMinute (nil: no per-user limit is enforced; the
	// per-generation cost cap still applies).
	Usage generation.UserUsage
	// Limits bound each user's generations (USER_MAX_*,
	// GENERATION_MAX_COST_USD); the zero value is no limit.
	Limits generation.UserLimits
	// UnitCost is a model's list price per image, which bounds a
	// generation's default budget (nil or 0: the limits' default alone).
	UnitCost func(provider, model string) float64
	// RatingsPerMinute bounds each user's ratings in any minute
	// (USER_MAX_RATINGS_PER_MINUTE; 0: none).
	RatingsPerMinute int
	// IDSecret keys the ids of generations created with an Idempotency-Key
	// (IdempotentID; GENERATION_ID_SECRET), at least MinIDSecretLength
	// bytes. Without it a request with a key fails (500) rather than get a
	// guessable id; requests without a key get random ids either way.
	IDSecret []byte
	// WebhookHosts are the hosts settings.webhookUrl may name
	// (WEBHOOK_ALLOWED_HOSTS; "example.com", "example.com:8443" or
	// ".example.com"). Empty: a request with a webhookUrl is refused.
	WebhookHosts []string
	// Logger receives what a caller is not told (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) presignExpiry() time.Duration {
	if s.PresignExpiry > 0 {
		return s.PresignExpiry
	}
	return DefaultPresignExpiry
}
