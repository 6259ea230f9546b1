// Package stack runs the whole pipeline on one machine, built by the same
// composition root as the Lambda functions (shared/system). It supplies only
// the local parts: a throwaway Postgres unless DATABASE_URL is set, an
// in-process S3 server unless R2_ENDPOINT is set, the local feedback queue
// feeding the learner handler unless FEEDBACK_QUEUE_URL is set, and the real
// state machine definition executed by the local interpreter, each Task
// resolved to the function's handler through a JSON round trip, as Lambda
// would.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
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
	"github.com/designerbff/pipeline/shared/r2"
	"github.com/designerbff/pipeline/shared/sfn"
	"github.com/designerbff/pipeline/shared/system"
	"github.com/designerbff/pipeline/statemachine"
)

// Local names of the functions, in the form of Lambda ARNs so that the
// definition's substitutions look as they do in AWS.
const (
	localAccount    = "arn:aws:lambda:local:000000000000:function:"
	stateMachineARN = "arn:aws:states:local:000000000000:stateMachine:generation"
)

// LocalPoolSize is the Postgres pool of the local stack: one process runs
// every stage of the Map's concurrent iterations (a Lambda environment runs
// one invocation, system.LambdaPoolSize).
const LocalPoolSize = 16

// Options configure a stack. Zero values take the defaults.
type Options struct {
	// Config is the environment the functions would see (config.Load).
	// Empty DATABASE_URL starts a throwaway cluster that Close removes;
	// empty R2_ENDPOINT starts the in-process S3 server; empty
	// FEEDBACK_QUEUE_URL feeds the local queue to the learner handler.
	Config config.Config
	// DatabaseURL, when set, replaces Config.DatabaseURL (a test's own
	// database).
	DatabaseURL string
	// DataDir, when set, keeps the local Postgres cluster (DataDir/postgres)
	// and the local S3 server's objects (DataDir/s3.bolt) there, so that
	// they survive a restart (`make serve`). Empty: both are thrown away.
	DataDir string
	// Providers replaces the configured providers (tests wrap them).
	Providers map[string]generation.Provider
	// MapConcurrency is the Map state's MaxConcurrency (default 8).
	MapConcurrency int
	// FeedbackPoll, when positive, drains the local queue at this interval
	// in the background, as the SQS event source polls (`make serve`: a
	// rating reaches the learner at once). Zero: the queue drains after
	// each execution only, so tests can count what is queued.
	FeedbackPoll time.Duration
	// Publisher, when set, replaces the feedback queue (fault tests: the
	// real SQS publisher against a fake SQS); nothing drains it.
	Publisher generation.Publisher
	// Sleep replaces the interpreter's waits between retries (tests).
	Sleep func(ctx context.Context, d time.Duration) error
	// Events receives the interpreter's progress events.
	Events func(sfnlocal.Event)
	// Logger receives the handlers' logs (default: discarded).
	Logger *slog.Logger
	// Maintenance are background jobs (the stall sweeper, recalibration,
	// webhook retries); zero: none.
	Maintenance Maintenance
	// WebhookClient sends completion notifications (nil: the public-only
	// guard; tests trust their local TLS receiver with one).
	WebhookClient *http.Client
	// Metrics, when set, receives the pipeline's embedded-metric-format
	// lines, as a function's stdout does in AWS (nil: none are written).
	Metrics io.Writer
}

// Stack is a running local pipeline. Close it.
type Stack struct {
	Config   config.Config // as the system sees it: the local database (migrated) and object store filled in
	System   *system.System
	Pool     *pgxpool.Pool
	Store    *postgres.Store
	S3       *s3local.Server // nil when R2_ENDPOINT names an external object store
	Objects  *r2.Store
	Queue    *sqslocal.Queue // nil when FEEDBACK_QUEUE_URL names a real queue
	Pipeline *generation.Pipeline
	Machine  *sfnlocal.Machine
	Starter  *Starter
	// Postgres is the throwaway cluster Start started (nil when a database
	// URL was given); fault tests halt and resume it.
	Postgres *pgserver.Server

	pg       interface{ Stop(context.Context) error } // the cluster Start started: Postgres or the one kept in DataDir
	logger   *slog.Logger
	jobsCtx  context.Context // the background jobs (every) run until Close cancels it
	stopJobs context.CancelFunc
	jobs     sync.WaitGroup
}

// Start brings the stack up.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	cfg := opts.Config
	s := &Stack{logger: opts.Logger}
	s.jobsCtx, s.stopJobs = context.WithCancel(context.WithoutCancel(ctx))
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			s.Close(context.WithoutCancel(ctx))
		}
	}()
	if opts.DatabaseURL != "" {
		cfg.DatabaseURL = opts.DatabaseURL
	}
	switch {
	case cfg.DatabaseURL != "":
	case opts.DataDir != "":
		kept, err := pgserver.StartIn(ctx, filepath.Join(opts.DataDir, "postgres"), pgserver.Options{})
		if err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		s.pg, cfg.DatabaseURL = kept, kept.URL("postgres")
	default:
		if s.Postgres, err = pgserver.Start(ctx, pgserver.Options{}); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		s.pg, cfg.DatabaseURL = s.Postgres, s.Postgres.URL("postgres")
	}
	if err := Migrate(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	if cfg.ObjectEndpoint == "" {
		if opts.DataDir != "" {
			s.S3, err = s3local.StartFile(filepath.Join(opts.DataDir, "s3.bolt"))
		} else {
			s.S3, err = s3local.Start()
		}
		if err != nil {
			return nil, fmt.Errorf("start S3 server: %w", err)
		}
		cfg.ObjectEndpoint, cfg.ObjectAccessKey, cfg.ObjectSecretKey, cfg.ObjectPathStyle = s.S3.URL(), "local", "local", true
	}

	s.Starter = &Starter{execute: s.Execute, ended: s.executionEnded, logger: s.logger, runs: map[string]*run{}, latest: map[string]*run{}}
	deps := system.Deps{Starter: s.Starter, Restarter: s.Starter, PoolSize: LocalPoolSize, Providers: opts.Providers, Logger: s.logger,
		WebhookClient: opts.WebhookClient, Getenv: localSecrets, Metrics: opts.Metrics}
	switch {
	case opts.Publisher != nil:
		deps.Publisher = opts.Publisher
	case cfg.FeedbackQueueURL == "":
		// The learner is built with the system below; the queue calls it
		// only when drained.
		s.Queue = sqslocal.New(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			return s.System.Learner().Handle(ctx, ev)
		}, sqslocal.Options{Logger: s.logger})
		deps.Publisher = s.Queue
	default:
		if deps.Publisher, err = system.SQSPublisher(ctx, cfg.FeedbackQueueURL); err != nil {
			return nil, err
		}
	}
	if s.System, err = system.New(ctx, cfg, deps); err != nil {
		return nil, err
	}
	s.Config, s.Pool, s.Store, s.Objects, s.Pipeline = cfg, s.System.Pool, s.System.Store, s.System.Objects, s.System.Pipeline
	if s.S3 != nil {
		if err := s.Objects.EnsureBucket(ctx); err != nil { // the local server may start empty
			return nil, err
		}
	}

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
	subs, resources, err := Functions(s.System)
	if err != nil {
		return nil, err
	}
	subs["MapMaxConcurrency"] = strconv.Itoa(concurrency)
	if s.Machine, err = sfnlocal.Load(statemachine.Definition, subs, resources, machineOpts...); err != nil {
		return nil, fmt.Errorf("load state machine: %w", err)
	}
	if s.Queue != nil {
		// As the SQS event source polls; every ignores a zero interval.
		s.every(opts.FeedbackPoll, "drain feedback", func(ctx context.Context) error {
			_, err := s.Queue.Drain(ctx)
			return err
		})
	}
	s.startMaintenance(opts.Maintenance)
	return s, nil
}

// localSecrets is the environment with the local development default of
// WEBHOOK_SIGNING_SECRET (GENERATION_ID_SECRET's is applied by System.API).
func localSecrets(name string) string {
	if v := os.Getenv(name); v != "" || name != system.WebhookSecretEnv {
		return v
	}
	return system.DevWebhookSecret
}

// Functions maps each function's ARN placeholder of the definition
// (<LogicalID>Arn) to its handler from system.Functions, wrapped in the same
// JSON round trip as Lambda.
func Functions(sys *system.System) (map[string]string, map[string]sfnlocal.Invoker, error) {
	subs := map[string]string{}
	resources := map[string]sfnlocal.Invoker{}
	for _, f := range system.Functions {
		if f.Name == "api" {
			continue // the state machine never calls the API
		}
		h, err := f.Handler(sys)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		arn := localAccount + f.LogicalID
		subs[f.LogicalID+"Arn"] = arn
		resources[arn] = sfnlocal.LambdaInvoker(h)
	}
	return subs, resources, nil
}

// Migrate applies the embedded migrations to the database at url.
func Migrate(ctx context.Context, url string) error {
	pool, err := system.OpenPool(ctx, url, 1) // one connection runs the migrations
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
	return s.System.API(system.APIOptions{LocalAuth: localAuth})
}

// Execute runs one execution of the real definition for a generation to its
// end, then lets the learner drain the feedback it published.
func (s *Stack) Execute(ctx context.Context, generationID string) ([]byte, error) {
	out, err := s.Machine.Execute(ctx, generationID, sfn.ExecutionInput(generationID))
	if s.Queue == nil {
		return out, err // a real queue's learner runs elsewhere
	}
	if _, derr := s.Queue.Drain(ctx); derr != nil && err == nil {
		err = derr
	}
	return out, err
}

// Close stops everything Start started.
func (s *Stack) Close(ctx context.Context) {
	s.stopJobs()
	s.jobs.Wait()
	if s.Starter != nil {
		s.Starter.wait()
	}
	if s.System != nil {
		s.System.Close()
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

// Starter starts executions in-process, one per execution name, as Step
// Functions does: the API's Start names it after the generation, a Restart
// "<id>-r<n>" (generation.ExecutionName). An execution that ends in an
// error is reported to ended, as EventBridge reports FAILED and TIMED_OUT
// executions to the executionstatus function in AWS.
type Starter struct {
	execute func(ctx context.Context, generationID string) ([]byte, error) // Stack.Execute
	ended   func(ctx context.Context, name string, err error)              // Stack.executionEnded
	logger  *slog.Logger

	mu     sync.Mutex
	runs   map[string]*run // by execution name
	latest map[string]*run // by generation: its last execution
	wg     sync.WaitGroup
}

type run struct {
	done   chan struct{}
	output []byte
	err    error
}

var (
	_ generation.Starter   = (*Starter)(nil)
	_ generation.Restarter = (*Starter)(nil)
)

// Start begins the generation's first execution in the background; a
// second Start returns the first one's ARN.
func (st *Starter) Start(ctx context.Context, generationID string) (string, error) {
	return st.start(ctx, generationID, 1), nil
}

// Restart begins attempt n of the generation's execution, once.
func (st *Starter) Restart(ctx context.Context, generationID string, attempt int) (string, error) {
	return st.start(ctx, generationID, max(attempt, 2)), nil
}

func (st *Starter) start(ctx context.Context, generationID string, attempt int) string {
	name := generation.ExecutionName(generationID, attempt)
	arn := sfn.ExecutionARN(stateMachineARN, name)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.runs[name]; ok {
		return arn
	}
	r := &run{done: make(chan struct{})}
	st.runs[name] = r
	st.latest[generationID] = r
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		defer close(r.done)
		// The execution outlives the HTTP request that started it.
		ctx := context.WithoutCancel(ctx)
		r.output, r.err = st.execute(ctx, generationID)
		if r.err != nil {
			st.logger.Info("execution failed", "generation", generationID, "execution", name, "error", r.err)
			if st.ended != nil {
				st.ended(ctx, name, r.err)
			}
		}
	}()
	return arn
}

// Wait blocks until the generation's last execution ends and returns its
// output (an *sfnlocal.ExecutionError when the execution failed). A
// restart that ending execution caused is waited for too.
func (st *Starter) Wait(ctx context.Context, generationID string) ([]byte, error) {
	for {
		st.mu.Lock()
		r, ok := st.latest[generationID]
		st.mu.Unlock()
		if !ok {
			return nil, errors.New("no execution for generation " + generationID)
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		st.mu.Lock()
		same := st.latest[generationID] == r
		st.mu.Unlock()
		if same {
			return r.output, r.err
		}
	}
}

func (st *Starter) wait() { st.wg.Wait() }
