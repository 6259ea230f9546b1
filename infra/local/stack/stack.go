// Package stack runs the whole pipeline on one machine: a throwaway Postgres
// (or DATABASE_URL), an in-process S3 server reached through the real
// objectstore client, the local feedback queue feeding the learner handler,
// and the real state machine definition executed by the local interpreter,
// each Task resolved to the in-process stage handler through a JSON round
// trip, as Lambda would.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/infra/local/s3local"
	"github.com/designerbff/pipeline/infra/local/sfnlocal"
	"github.com/designerbff/pipeline/infra/local/sqslocal"
	"github.com/designerbff/pipeline/migrations"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
	"github.com/designerbff/pipeline/shared/postgres"
	"github.com/designerbff/pipeline/shared/quality"
	"github.com/designerbff/pipeline/shared/r2"
	"github.com/designerbff/pipeline/shared/sfn"
	"github.com/designerbff/pipeline/shared/stage"
	"github.com/designerbff/pipeline/shared/wire"
	"github.com/designerbff/pipeline/statemachine"
)

// Local names of the functions, in the form of Lambda ARNs so that the
// definition's substitutions look as they do in AWS.
const (
	localAccount    = "arn:aws:lambda:local:000000000000:function:"
	stateMachineARN = "arn:aws:states:local:000000000000:stateMachine:generation"
	bucket          = "designer-bff-local"
)

// Options configure a stack. Zero values take the defaults.
type Options struct {
	// DatabaseURL is a database to migrate and use; empty starts a
	// throwaway cluster that Close removes.
	DatabaseURL string
	// Config is the environment the functions would see (config.Load).
	Config config.Config
	// Providers replaces the configured providers (tests wrap them).
	Providers map[string]generation.Provider
	// MapConcurrency is the Map state's MaxConcurrency (default 8).
	MapConcurrency int
	// Sleep replaces the interpreter's waits between retries (tests).
	Sleep func(ctx context.Context, d time.Duration) error
	// Events receives the interpreter's progress events.
	Events func(sfnlocal.Event)
	// Logger receives the handlers' logs (default: discarded).
	Logger *slog.Logger
}

// Stack is a running local pipeline. Close it.
type Stack struct {
	Config      config.Config
	DatabaseURL string // the database the stack migrated and uses
	Pool        *pgxpool.Pool
	Store       *postgres.Store
	S3          *s3local.Server
	Objects     *r2.Store
	Queue       *sqslocal.Queue
	Pipeline    *generation.Pipeline
	Machine     *sfnlocal.Machine
	Starter     *Starter

	pg     *pgserver.Server
	logger *slog.Logger
}

// Start brings the stack up.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{Config: opts.Config, logger: opts.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			s.Close(context.WithoutCancel(ctx))
		}
	}()
	dbURL := opts.DatabaseURL
	if dbURL == "" {
		if s.pg, err = pgserver.Start(ctx, pgserver.Options{}); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		dbURL = s.pg.URL("postgres")
	}
	s.DatabaseURL = dbURL
	if err := Migrate(ctx, dbURL); err != nil {
		return nil, err
	}
	if s.Pool, err = openPool(ctx, dbURL); err != nil {
		return nil, err
	}
	s.Store = wire.Store(opts.Config, s.Pool)

	if s.S3, err = s3local.Start(); err != nil {
		return nil, fmt.Errorf("start S3 server: %w", err)
	}
	s.Objects, err = r2.New(r2.Config{
		Endpoint: s.S3.URL(), Region: "auto", Bucket: bucket,
		AccessKeyID: "local", SecretAccessKey: "local", UsePathStyle: true,
		PresignExpiry: opts.Config.PresignExpiry,
	})
	if err != nil {
		return nil, err
	}
	if err := s.Objects.EnsureBucket(ctx); err != nil {
		return nil, err
	}

	providers := opts.Providers
	if providers == nil {
		providers = wire.Providers(opts.Config)
	}
	s.Pipeline = &generation.Pipeline{
		Store:           s.Store,
		Objects:         s.Objects,
		Providers:       providers,
		Validator:       quality.New(opts.Config.ValidationMinScore),
		Chooser:         wire.Chooser(opts.Config, s.Store),
		Policy:          generation.PlanPolicy{DefaultBufferPercent: opts.Config.DefaultBufferPercent, Planner: wire.Planner(opts.Config)},
		MinScore:        opts.Config.ValidationMinScore,
		FeedbackEnabled: opts.Config.FeedbackEnabled,
		LearningRate:    opts.Config.LearningRate,
		Now:             time.Now,
	}
	s.Queue = sqslocal.New(stage.Learner{Pipeline: s.Pipeline, Logger: s.logger}.Handle, sqslocal.Options{Logger: s.logger})
	s.Pipeline.Publisher = s.Queue

	concurrency := opts.MapConcurrency
	if concurrency <= 0 {
		concurrency = 8
	}
	machineOpts := []sfnlocal.Option{}
	if opts.Sleep != nil {
		machineOpts = append(machineOpts, sfnlocal.WithSleep(opts.Sleep))
	}
	if opts.Events != nil {
		machineOpts = append(machineOpts, sfnlocal.WithEvents(opts.Events))
	}
	subs, resources := Functions(s.Pipeline, s.logger)
	subs["MapMaxConcurrency"] = strconv.Itoa(concurrency)
	if s.Machine, err = sfnlocal.Load(statemachine.Definition, subs, resources, machineOpts...); err != nil {
		return nil, fmt.Errorf("load state machine: %w", err)
	}
	s.Starter = &Starter{execute: s.Execute, logger: s.logger, runs: map[string]*run{}}
	return s, nil
}

// StateHandlers are the handlers of the functions the state machine calls,
// by name: the template's logical id is the name + "Function".
func StateHandlers(p *generation.Pipeline) map[string]any {
	return map[string]any{
		"Plan":       stage.Plan{Pipeline: p}.Handle,
		"Generate":   stage.Generate{Pipeline: p}.Handle,
		"Validate":   stage.Validate{Pipeline: p}.Handle,
		"Select":     stage.Select{Pipeline: p}.Handle,
		"Deliver":    stage.Deliver{Pipeline: p}.Handle,
		"MarkFailed": stage.MarkFailed{Pipeline: p}.Handle,
	}
}

// Functions maps each Lambda ARN placeholder of the definition to the
// in-process stage handler, wrapped in the same JSON round trip as Lambda.
func Functions(p *generation.Pipeline, logger *slog.Logger) (map[string]string, map[string]sfnlocal.Invoker) {
	subs := map[string]string{}
	resources := map[string]sfnlocal.Invoker{}
	for name, h := range StateHandlers(p) {
		arn := localAccount + name
		subs[name+"FunctionArn"] = arn
		resources[arn] = sfnlocal.LambdaInvoker(h)
	}
	return subs, resources
}

// openPool is wire.Pool's configuration with room for every stage of the
// Map's concurrent iterations, which share one process here.
func openPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	cfg.MaxConns = 16
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return pool, nil
}

// Migrate applies the embedded migrations to the database at url.
func Migrate(ctx context.Context, url string) error {
	pool, err := wire.Pool(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect for migrations: %w", err)
	}
	defer conn.Release()
	if err := migrations.Migrate(ctx, conn.Conn()); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// API is the HTTP API over the stack, starting executions in-process.
// localAuth makes `Authorization: Bearer <user-id>` the identity.
func (s *Stack) API(localAuth bool) *httpapi.Service {
	return &httpapi.Service{
		Store:            s.Store,
		Objects:          s.Objects,
		Starter:          s.Starter,
		Publisher:        drainingPublisher{s.Queue},
		Learning:         s.Store,
		Providers:        wire.AutoChooser(s.Config, s.Store), // settings.provider "auto"
		Defaults:         generation.Defaults{TargetConfidence: s.Config.BufferTargetConfidence, Provider: s.Config.Provider},
		ValidatorVersion: s.Pipeline.Validator.Version(),
		PresignExpiry:    s.Config.PresignExpiry,
		LocalAuth:        localAuth,
		Planner:          wire.Planner(s.Config),
		Logger:           s.logger,
	}
}

// Execute runs one execution of the real definition for a generation to its
// end, then lets the learner drain the feedback it published.
func (s *Stack) Execute(ctx context.Context, generationID string) ([]byte, error) {
	out, err := s.Machine.Execute(ctx, generationID, sfn.ExecutionInput(generationID))
	if _, derr := s.Queue.Drain(ctx); derr != nil && err == nil {
		err = derr
	}
	return out, err
}

// Close stops everything Start started.
func (s *Stack) Close(ctx context.Context) {
	if s.Starter != nil {
		s.Starter.wait()
	}
	if s.Pool != nil {
		s.Pool.Close()
	}
	if s.S3 != nil {
		_ = s.S3.Close()
	}
	if s.pg != nil {
		if err := s.pg.Stop(ctx); err != nil {
			s.logger.Warn("stop postgres", "error", err)
		}
	}
}

// Starter starts executions in-process, one per generation, as Step
// Functions does for executions named after the generation.
type Starter struct {
	execute func(ctx context.Context, generationID string) ([]byte, error) // Stack.Execute
	logger  *slog.Logger

	mu   sync.Mutex
	runs map[string]*run
	wg   sync.WaitGroup
}

type run struct {
	done   chan struct{}
	output []byte
	err    error
}

var _ generation.Starter = (*Starter)(nil)

// Start begins the execution in the background; a second Start for the same
// generation returns the first one's ARN.
func (st *Starter) Start(ctx context.Context, generationID string) (string, error) {
	arn := sfn.ExecutionARN(stateMachineARN, generationID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.runs[generationID]; ok {
		return arn, nil
	}
	r := &run{done: make(chan struct{})}
	st.runs[generationID] = r
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		defer close(r.done)
		// The execution outlives the HTTP request that started it.
		ctx := context.WithoutCancel(ctx)
		r.output, r.err = st.execute(ctx, generationID)
		if r.err != nil {
			st.logger.Info("execution failed", "generation", generationID, "error", r.err)
		}
	}()
	return arn, nil
}

// Wait blocks until the generation's execution ends and returns its output
// (an *sfnlocal.ExecutionError when the execution failed).
func (st *Starter) Wait(ctx context.Context, generationID string) ([]byte, error) {
	st.mu.Lock()
	r, ok := st.runs[generationID]
	st.mu.Unlock()
	if !ok {
		return nil, errors.New("no execution for generation " + generationID)
	}
	select {
	case <-r.done:
		return r.output, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (st *Starter) wait() { st.wg.Wait() }

// drainingPublisher hands user ratings to the learner at once, as the SQS
// event source would soon after the send; otherwise they would wait for the
// next execution's drain.
type drainingPublisher struct{ q *sqslocal.Queue }

func (d drainingPublisher) Publish(ctx context.Context, evs []generation.FeedbackEvent) error {
	if err := d.q.Publish(ctx, evs); err != nil {
		return err
	}
	if _, err := d.q.Drain(ctx); err != nil {
		return fmt.Errorf("drain feedback: %w", err)
	}
	return nil
}
