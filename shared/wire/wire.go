// Package wire builds the pipeline's dependencies from configuration, for the
// Lambda functions in AWS. (infra/local builds the same pipeline over the
// local stack.)
package wire

import (
	"context"
	"fmt"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/designerbff/pipeline/shared/buffer"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/learning"
	"github.com/designerbff/pipeline/shared/postgres"
	"github.com/designerbff/pipeline/shared/quality"
	"github.com/designerbff/pipeline/shared/quality/visionjudge"
	"github.com/designerbff/pipeline/shared/r2"
	"github.com/designerbff/pipeline/shared/sfn"
	"github.com/designerbff/pipeline/shared/sqs"
)

// Pool opens a pgx pool sized for Lambda: one invocation at a time per
// execution environment, so two connections at most, and the Exec query mode
// so that it works behind RDS Proxy or PgBouncer (no prepared statements).
func Pool(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	if databaseURL == "" {
		return nil, fmt.Errorf("DATABASE_URL is not set")
	}
	pc, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if pc.MaxConns > 2 {
		pc.MaxConns = 2
	}
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return pool, nil
}

// Pipeline is the pipeline over Postgres, the object store and the providers.
// Publisher is set only when FEEDBACK_QUEUE_URL is.
func Pipeline(ctx context.Context, cfg config.Config, pool *pgxpool.Pool) (*generation.Pipeline, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	objects, err := r2.New(r2.Config{
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
	store := Store(cfg, pool)
	p := &generation.Pipeline{
		Store:           store,
		Objects:         objects,
		Providers:       Providers(cfg),
		Validator:       quality.New(cfg.ValidationMinScore),
		Chooser:         Chooser(cfg, store),
		Policy:          generation.PlanPolicy{DefaultBufferPercent: cfg.DefaultBufferPercent, Planner: Planner(cfg)},
		MinScore:        cfg.ValidationMinScore,
		FeedbackEnabled: cfg.FeedbackEnabled,
		LearningRate:    cfg.LearningRate,
		Now:             time.Now,
	}
	if cfg.FeedbackQueueURL != "" {
		p.Publisher = sqs.NewPublisher(awssqs.NewFromConfig(awsCfg), cfg.FeedbackQueueURL)
	}
	return p, nil
}

// Store is the Postgres store; its recalibration stores posteriors under
// PASS_RATE_PRIOR.
func Store(cfg config.Config, pool *pgxpool.Pool) *postgres.Store {
	store := postgres.NewStore(pool)
	store.PassRatePrior = cfg.PassRatePrior
	return store
}

// Chooser is the prompt-modifier chooser: Thompson sampling over the
// learner's statistics in stats under PASS_RATE_PRIOR, with learned negative
// terms for the providers that take a negative prompt in its own field.
func Chooser(cfg config.Config, stats learning.StatsReader) learning.Thompson {
	return learning.Thompson{Stats: stats, Prior: cfg.PassRatePrior, NegativePromptProviders: learning.DefaultNegativePromptProviders}
}

// Planner is the buffer planner configured by BUFFER_MIN_SAMPLES,
// BUFFER_TARGET_CONFIDENCE and DEFAULT_BUFFER_PERCENT, over PASS_RATE_PRIOR's
// symmetric Beta(a, a) prior.
func Planner(cfg config.Config) *buffer.Planner {
	return &buffer.Planner{
		Prior:          buffer.SymmetricPrior(cfg.PassRatePrior),
		MinSamples:     cfg.BufferMinSamples,
		Confidence:     cfg.BufferTargetConfidence,
		DefaultPercent: cfg.DefaultBufferPercent,
	}
}

// Starter is the Step Functions client that starts generations.
func Starter(ctx context.Context, cfg config.Config) (*sfn.Starter, error) {
	if cfg.StateMachineARN == "" {
		return nil, fmt.Errorf("STATE_MACHINE_ARN is not set")
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return &sfn.Starter{Client: awssfn.NewFromConfig(awsCfg), StateMachineARN: cfg.StateMachineARN}, nil
}

// Setup is what every pipeline function does at init: read the environment,
// log in Lambda's JSON format, open the pool and build the pipeline.
func Setup(ctx context.Context, getenv func(string) string) (*generation.Pipeline, config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, cfg, err
	}
	pool, err := Pool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, cfg, err
	}
	p, err := Pipeline(ctx, cfg, pool)
	if err != nil {
		pool.Close()
		return nil, cfg, err
	}
	// The vision judge (off unless VALIDATION_VISION_PROVIDER is set) wraps
	// the built-in validator. Every function needs its version, because
	// verdicts are read by version; only the validate function holds its key.
	if p.Validator, err = visionjudge.FromEnv(quality.New(cfg.ValidationMinScore), getenv, nil); err != nil {
		pool.Close()
		return nil, cfg, err
	}
	return p, cfg, nil
}
