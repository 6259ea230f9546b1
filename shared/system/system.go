// Package system is the one composition root: it builds the pipeline, its
// stage handlers, the learner and the HTTP API from configuration, the same
// way for the Lambda functions (FromEnv, Lambda) and for the local stack
// (infra/local/stack calls New). Deps carries only what really differs
// between AWS and one machine.
package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/cloudwatch"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
	"github.com/designerbff/pipeline/shared/learning"
	"github.com/designerbff/pipeline/shared/postgres"
	"github.com/designerbff/pipeline/shared/provider/catalog"
	"github.com/designerbff/pipeline/shared/quality"
	"github.com/designerbff/pipeline/shared/quality/visionjudge"
	"github.com/designerbff/pipeline/shared/r2"
	"github.com/designerbff/pipeline/shared/stage"
	"github.com/designerbff/pipeline/shared/webhook"
)

// GenerationIDSecretEnv keys the ids of generations created with an
// Idempotency-Key (app.IdempotentID). Like the provider keys it is read
// outside config: in AWS only the API function gets it (template.yaml, from
// the Secrets Manager secret), and it refuses to start without it.
const GenerationIDSecretEnv = "GENERATION_ID_SECRET"

// DevGenerationIDSecret is the local stack's GENERATION_ID_SECRET when none
// is set (make serve, make demo, the tests): public, so local ids are as
// guessable as before, which is harmless on one machine and never used by a
// deployed function.
const DevGenerationIDSecret = "designer-bff-local-development-only-generation-id-secret"

// WebhookSecretEnv keys the signatures of completion notifications
// (webhook.Sign). Read outside config like the other secrets: in AWS from
// the secret <SecretPrefix>/webhook, by the functions that send (deliver,
// recalibrate), which refuse to start without it while
// WEBHOOK_ALLOWED_HOSTS is set.
const WebhookSecretEnv = "WEBHOOK_SIGNING_SECRET"

// DevWebhookSecret is the local stack's WEBHOOK_SIGNING_SECRET when none is
// set: public, for receivers on one machine only.
const DevWebhookSecret = "designer-bff-local-development-only-webhook-signing-secret"

// LambdaPoolSize is the Postgres pool of one Lambda execution environment:
// it serves one invocation at a time, so two connections at most.
const LambdaPoolSize = 2

// Deps are what differs between a deployed function and one machine.
type Deps struct {
	// Starter starts a generation's workflow: Step Functions in AWS, the
	// in-process interpreter locally. Nil: the API cannot be built (only
	// the API function starts workflows).
	Starter generation.Starter
	// Restarter starts a further execution of a generation whose execution
	// failed transiently (the executionstatus function). Nil: such a
	// generation is finalised instead.
	Restarter generation.Restarter
	// Publisher carries feedback (delivery outcomes and user ratings) to
	// the learner: SQS in AWS when FEEDBACK_QUEUE_URL is set, the local
	// queue locally. Nil: outcomes are stored but not published (the next
	// fold counts them) and ratings are refused with 503.
	Publisher generation.Publisher
	// PoolSize is the most Postgres connections this process opens
	// (LambdaPoolSize in Lambda; one process running every stage of the
	// Map's concurrent iterations needs more). Required.
	PoolSize int32
	// Getenv reads what config deliberately does not hold: the provider API
	// keys (only the generate function gets them in AWS) and the vision
	// judge's settings. Nil: os.Getenv.
	Getenv func(string) string
	// Providers replaces the configured providers (tests wrap or fake
	// them). Nil: the providers cfg enables.
	Providers map[string]generation.Provider
	// Logger receives the handlers' logs. Nil: slog.Default().
	Logger *slog.Logger
	// WebhookClient sends completion notifications. Nil: the guarded
	// public-only client (webhook.NewClient(false, nil)); tests give one
	// that trusts their local TLS receiver.
	WebhookClient *http.Client
	// Metrics receives the pipeline's metrics as CloudWatch embedded
	// metric format lines in METRICS_NAMESPACE (stdout in Lambda, where
	// CloudWatch Logs extracts them). Nil: none are written, so the local
	// stack's console is not flooded with them.
	Metrics io.Writer
}

// System is the built pipeline. Close it.
type System struct {
	Config   config.Config
	Pool     *pgxpool.Pool
	Store    *postgres.Store
	Objects  *r2.Store // nil without R2 credentials (Pipeline.Objects then refuses every call)
	Pipeline *generation.Pipeline
	Starter  generation.Starter // nil where no workflow is started
	Logger   *slog.Logger
	// GenerationIDSecret is GENERATION_ID_SECRET ("" when unset: the API
	// then uses DevGenerationIDSecret locally, and the API function does
	// not start).
	GenerationIDSecret string
	// WebhookSecret is WEBHOOK_SIGNING_SECRET ("" when unset).
	WebhookSecret string

	webhookClient *http.Client
}

// New builds the system over cfg's database and object store.
func New(ctx context.Context, cfg config.Config, deps Deps) (*System, error) {
	if deps.PoolSize <= 0 {
		return nil, errors.New("system: Deps.PoolSize must be set")
	}
	if deps.Getenv == nil {
		deps.Getenv = os.Getenv
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	idSecret := deps.Getenv(GenerationIDSecretEnv)
	if idSecret != "" && len(idSecret) < app.MinIDSecretLength {
		return nil, fmt.Errorf("%s must be at least %d bytes", GenerationIDSecretEnv, app.MinIDSecretLength)
	}
	// Only the functions that touch images hold R2 credentials
	// (template.yaml); the others get a store that says so if used.
	var objects *r2.Store
	var images generation.ObjectStore = noObjectStore{}
	if cfg.ObjectAccessKey != "" || cfg.ObjectSecretKey != "" {
		var err error
		objects, err = r2.New(r2.Config{
			Endpoint:        cfg.ObjectEndpoint,
			Bucket:          cfg.ObjectBucket,
			AccessKeyID:     cfg.ObjectAccessKey,
			SecretAccessKey: cfg.ObjectSecretKey,
			UsePathStyle:    cfg.ObjectPathStyle,
			PresignExpiry:   cfg.PresignExpiry,
		})
		if err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
		images = objects
	}
	validator, err := Validator(cfg, deps.Getenv)
	if err != nil {
		return nil, err
	}
	providers := deps.Providers
	if providers == nil {
		providers = Providers(cfg, deps.Getenv)
	}
	pool, err := OpenPool(ctx, cfg.DatabaseURL, deps.PoolSize)
	if err != nil {
		return nil, err
	}
	store := postgres.NewStore(pool)
	store.PassRatePrior = cfg.PassRatePrior // recalibration stores posteriors under it
	store.HalfLife = cfg.BufferHalfLife     // the planner's posterior forgets old outcomes
	providers = Budgeted(providers, cfg, store)
	var metrics generation.MetricsRecorder
	if deps.Metrics != nil {
		emf := cloudwatch.New(deps.Metrics, cfg.MetricsNamespace)
		emf.Logger = deps.Logger
		metrics = emf
	}
	return &System{
		Config:  cfg,
		Pool:    pool,
		Store:   store,
		Objects: objects,
		Starter: deps.Starter,
		Logger:  deps.Logger,

		GenerationIDSecret: idSecret,
		WebhookSecret:      deps.Getenv(WebhookSecretEnv),
		webhookClient:      deps.WebhookClient,
		Pipeline: &generation.Pipeline{
			Store:     store,
			Objects:   images,
			Providers: providers,
			Validator: validator,
			Publisher: deps.Publisher,
			Chooser:   learning.Thompson{Stats: store, Prior: cfg.PassRatePrior, ExploreBudget: exploreBudget(cfg.ExploreBudget), NegativePromptProviders: learning.DefaultNegativePromptProviders},
			Policy: generation.PlanPolicy{DefaultBufferPercent: cfg.DefaultBufferPercent, Planner: planner(cfg),
				UnitCost: listPrice},
			MinScore:        cfg.ValidationMinScore,
			FeedbackEnabled: cfg.FeedbackEnabled,
			LearningRate:    cfg.LearningRate,
			Now:             time.Now,
			Restarter:       deps.Restarter,
			Metrics:         metrics,
		},
	}, nil
}

// noObjectStore is the object store of a function without R2 credentials.
type noObjectStore struct{}

var errNoObjectStore = errors.New("this function holds no R2 credentials (R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY)")

func (noObjectStore) Put(context.Context, string, []byte, string, map[string]string) error {
	return errNoObjectStore
}
func (noObjectStore) Get(context.Context, string) ([]byte, error) { return nil, errNoObjectStore }
func (noObjectStore) Delete(context.Context, string) error        { return errNoObjectStore }
func (noObjectStore) PresignGet(context.Context, string, time.Duration) (string, error) {
	return "", errNoObjectStore
}
func (noObjectStore) DeletePrefix(context.Context, string) (int, error) { return 0, errNoObjectStore }

// Close closes the database pool.
func (s *System) Close() { s.Pool.Close() }

// OpenPool opens a pgx pool of at most size connections in the Exec query
// mode, so that it works behind RDS Proxy or PgBouncer (no prepared
// statements).
func OpenPool(ctx context.Context, databaseURL string, size int32) (*pgxpool.Pool, error) {
	if databaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	pc, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	pc.MaxConns = size
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return pool, nil
}

// Validator is the built-in validator at VALIDATION_MIN_SCORE with the flag
// band VALIDATION_AUTO_FLAG_THRESHOLD, wrapped by the vision judge when
// VALIDATION_VISION_PROVIDER is set. Every function builds it, because
// verdicts are read by validator version; only the validate function holds
// the judge's key.
func Validator(cfg config.Config, getenv func(string) string) (generation.Validator, error) {
	builtin := &quality.Validator{MinScore: cfg.ValidationMinScore, FlagMargin: cfg.ValidationFlagMargin}
	v, err := visionjudge.FromEnv(builtin, getenv, nil)
	if err != nil {
		return nil, fmt.Errorf("vision judge: %w", err)
	}
	return v, nil
}

// exploreBudget is RLHF_EXPLORATION_BUDGET as Thompson takes it: 0 there
// means the default, so a configured 0 (no exploration beyond the floor's
// free picks) is a tiny positive budget.
func exploreBudget(b float64) float64 {
	if b == 0 {
		return 1e-12
	}
	return b
}

// planner is the buffer planner configured by BUFFER_MIN_SAMPLES,
// BUFFER_COLD_START_WEIGHT, BUFFER_TARGET_CONFIDENCE and
// DEFAULT_BUFFER_PERCENT, over PASS_RATE_PRIOR's symmetric Beta(a, a) prior.
func planner(cfg config.Config) *buffer.Planner {
	return &buffer.Planner{
		Prior:           buffer.SymmetricPrior(cfg.PassRatePrior),
		MinSamples:      cfg.BufferMinSamples,
		ColdStartWeight: cfg.BufferColdStartWeight,
		Confidence:      cfg.BufferTargetConfidence,
		DefaultPercent:  cfg.DefaultBufferPercent,
	}
}

// APIOptions are what differs between the deployed API and a local one.
type APIOptions struct {
	// LocalAuth makes `Authorization: Bearer <user-id>` the identity. Local
	// only: in AWS the JWT authorizer's sub claim is the only identity.
	LocalAuth bool
	// MaxBodyBytes caps a request body (0: httpapi's default, 10 MiB).
	MaxBodyBytes int64
}

// LambdaAPI is the API function's setup: no local identity, and 4 MiB of
// body, because a synchronous Lambda invocation carries at most 6 MB and API
// Gateway base64-encodes binary bodies (4/3 larger).
var LambdaAPI = APIOptions{MaxBodyBytes: 4 << 20}

// API is the HTTP API service over the system. It is the only place that
// builds one.
func (s *System) API(opts APIOptions) *httpapi.Service {
	idSecret := s.GenerationIDSecret
	if idSecret == "" {
		idSecret = DevGenerationIDSecret
	}
	var ratings generation.Publisher
	if s.Config.FeedbackEnabled { // RLHF_FEEDBACK_ENABLED off: ratings are refused with 503
		ratings = s.Pipeline.Publisher
	}
	return &httpapi.Service{
		App: &app.Service{
			Store:   s.Store,
			Objects: s.Pipeline.Objects,
			Starter: s.Starter,
			Defaults: generation.Defaults{TargetConfidence: s.Config.BufferTargetConfidence, Provider: s.Config.Provider,
				Models: AllowedModels(s.Config, time.Now())},
			ValidatorVersion: s.Pipeline.Validator.Version(),
			PresignExpiry:    s.Config.PresignExpiry,
			Planner:          planner(s.Config),
			ProviderChooser:  AutoChooser(s.Config, s.Store), // settings.provider "auto"
			Ratings:          ratings,
			IDSecret:         []byte(idSecret),
			LearnerStats:     s.Store,
			Usage:            s.Store, // per-user limits, counted in the database
			Limits:           s.Config.Limits,
			UnitCost:         listPrice,
			RatingsPerMinute: s.Config.RatingsPerMinute,
			Monitoring:       s.Store, // the monitoring schema (migration 015)
			MonitoringQuery:  MonitoringQuery(s.Config),
			WebhookHosts:     s.Config.WebhookHosts,
			Logger:           s.Logger,
		},
		LocalAuth:    opts.LocalAuth,
		MaxBodyBytes: opts.MaxBodyBytes,
		Operators:    httpapi.Operators{UserIDs: s.Config.OperatorUserIDs, Group: s.Config.OperatorGroup},
		Logger:       s.Logger,
	}
}

// MonitoringQuery is the alert thresholds of the monitoring sections, from
// the configuration (the API and `go run ./infra/local monitor` share it).
func MonitoringQuery(c config.Config) generation.MonitoringQuery {
	return generation.MonitoringQuery{
		MaxCostPerImageUSD: c.MonitoringMaxCostPerImageUSD,
		StuckAfter:         c.StallTimeout,
		MinScore:           c.ValidationMinScore,
	}
}

// Webhooks is the sender of completion notifications, nil when
// WEBHOOK_ALLOWED_HOSTS is empty (webhooks off). With hosts but without
// WEBHOOK_SIGNING_SECRET it is an error: an unsigned notification would be
// one anybody could forge.
func (s *System) Webhooks() (*webhook.Dispatcher, error) {
	if len(s.Config.WebhookHosts) == 0 {
		return nil, nil
	}
	if s.WebhookSecret == "" {
		return nil, errors.New(WebhookSecretEnv + " is not set: WEBHOOK_ALLOWED_HOSTS enables webhooks, which are signed with it")
	}
	return &webhook.Dispatcher{
		Outbox: s.Store, Secret: []byte(s.WebhookSecret), Hosts: s.Config.WebhookHosts, Client: s.webhookClient,
		Logger: s.Logger,
	}, nil
}

// Learner is the feedback queue's handler.
func (s *System) Learner() stage.Learner {
	return stage.Learner{Pipeline: s.Pipeline, Logger: s.Logger}
}

// listPrice is the catalog's price of one candidate of a model: an image
// and the reference sent with it (the provider's dearest model when the
// model is unknown; 0 for an unknown provider), with which the plan prices
// maxCostUsd before anything is spent.
func listPrice(provider, model string) float64 {
	return catalog.Cost(provider, model, 1, 1)
}
