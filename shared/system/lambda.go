package system

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/sfn"
	"github.com/designerbff/pipeline/shared/sqs"
)

// Lambda is a function's main: it builds the system from the environment
// and serves the handler of the function named name (a folder of
// functions/). A setup error ends the process, so Lambda reports an init
// failure.
func Lambda(name string) {
	s, err := FromEnv(context.Background(), os.Getenv)
	if err == nil {
		var h any
		if h, err = s.Handler(name); err == nil {
			lambda.Start(h)
			return
		}
	}
	slog.Error("init", "function", name, "error", err)
	os.Exit(1)
}

// FromEnv is what a deployed function does at init: set the Go memory
// limit from the function's memory size, read the secrets SECRET_IDS names
// (Secrets Manager) over the environment, read the configuration, log in
// Lambda's JSON format at LOG_LEVEL (also the default logger), refuse a
// database connection that does not verify TLS, build the Step Functions
// starter when STATE_MACHINE_ARN is set and the SQS publisher when
// FEEDBACK_QUEUE_URL is set, and build the system with Lambda's pool size,
// writing its metrics to stdout in CloudWatch's embedded metric format.
// Everything, AWS credentials and endpoints included, is read through
// getenv (os.Getenv in Lambda).
func FromEnv(ctx context.Context, getenv func(string) string) (*System, error) {
	setMemoryLimit(getenv)
	slog.SetDefault(LambdaLogger(os.Stdout, "info")) // until LOG_LEVEL is read
	var awsCfg *aws.Config
	loadAWS := func() (aws.Config, error) {
		if awsCfg == nil {
			c, err := awsConfig(ctx, getenv)
			if err != nil {
				return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
			}
			awsCfg = &c
		}
		return *awsCfg, nil
	}
	if getenv(SecretIDsEnv) != "" {
		c, err := loadAWS()
		if err != nil {
			return nil, err
		}
		client := secretsmanager.NewFromConfig(c, func(o *secretsmanager.Options) {
			if ep := getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER"); ep != "" {
				o.BaseEndpoint = aws.String(ep)
			}
		})
		if getenv, err = withSecrets(ctx, getenv, client); err != nil {
			return nil, err
		}
	}
	cfg, err := config.Load(getenv)
	logger := LambdaLogger(os.Stdout, cfg.LogLevel) // a bad LOG_LEVEL is reported by Load; info until then
	slog.SetDefault(logger)
	if err != nil {
		return nil, err
	}
	// Procedural images are the local default; a deployment that forgot
	// PROVIDER must not serve them as if they were a real provider's.
	if strings.TrimSpace(getenv("PROVIDER")) == "" {
		return nil, fmt.Errorf("PROVIDER is not set: a deployed function names its provider (%s or auto)", strings.Join(config.KnownProviders, ", "))
	}
	if getenv(AllowUnverifiedTLSEnv) != "true" {
		if err := RequireVerifiedTLS(cfg.DatabaseURL); err != nil {
			return nil, err
		}
	}
	// Metrics go to stdout beside the JSON log lines: Lambda passes a JSON
	// line through as it is, and CloudWatch Logs extracts the metrics.
	deps := Deps{PoolSize: LambdaPoolSize, Getenv: getenv, Logger: logger, Metrics: os.Stdout}
	if cfg.StateMachineARN != "" || cfg.FeedbackQueueURL != "" {
		c, err := loadAWS()
		if err != nil {
			return nil, err
		}
		if cfg.StateMachineARN != "" {
			starter := &sfn.Starter{Client: awssfn.NewFromConfig(c), StateMachineARN: cfg.StateMachineARN}
			deps.Starter, deps.Restarter = starter, starter
		}
		if cfg.FeedbackQueueURL != "" {
			deps.Publisher = sqs.NewPublisher(awssqs.NewFromConfig(c), cfg.FeedbackQueueURL)
		}
	}
	return New(ctx, cfg, deps)
}

// awsConfig is the default AWS configuration with the region and the
// credentials Lambda puts in the environment read through getenv, so that
// FromEnv's whole input is getenv.
func awsConfig(ctx context.Context, getenv func(string) string) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if r := getenv("AWS_REGION"); r != "" {
		opts = append(opts, awsconfig.WithRegion(r))
	}
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))))
	}
	return awsconfig.LoadDefaultConfig(ctx, opts...)
}

// AllowUnverifiedTLSEnv set to "true" lets FromEnv connect to a database
// without verifying its certificate: for a local Postgres without TLS
// (sam-local), never in AWS (template.yaml declares it "false", checked by
// infra/sam).
const AllowUnverifiedTLSEnv = "DATABASE_ALLOW_UNVERIFIED_TLS"

// RequireVerifiedTLS refuses a DATABASE_URL whose connections would not all
// verify the server's certificate: pgx's default sslmode=prefer (and
// disable, allow, require without sslrootcert) would send the password to
// whoever answers. It asks pgx itself, over every host it would try, so it
// judges exactly what the pool will do: sslmode=verify-full, verify-ca, or
// require with an sslrootcert pass.
func RequireVerifiedTLS(databaseURL string) error {
	pc, err := pgconn.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	attempts := []*tls.Config{pc.TLSConfig}
	for _, fb := range pc.Fallbacks {
		attempts = append(attempts, fb.TLSConfig)
	}
	for _, t := range attempts {
		if t == nil || (t.InsecureSkipVerify && t.VerifyPeerCertificate == nil) {
			return fmt.Errorf("DATABASE_URL must verify the server's certificate (sslmode=verify-full or verify-ca); %s=true allows it locally", AllowUnverifiedTLSEnv)
		}
	}
	return nil
}

// memoryFraction of the function's memory is the Go heap's soft limit: the
// GC works harder before the runtime and the rest of the process push the
// environment past MemorySize, where Lambda kills it.
const memoryFraction = 0.9

// setMemoryLimit sets the Go memory limit to 90 % of
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MiB), unless GOMEMLIMIT is set (the
// runtime has then applied it) or the size is unknown (not in Lambda).
func setMemoryLimit(getenv func(string) string) {
	if limit, ok := memoryLimit(getenv); ok {
		debug.SetMemoryLimit(limit)
	}
}

func memoryLimit(getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64)
	if err != nil || mb <= 0 {
		return 0, false
	}
	return int64(float64(mb<<20) * memoryFraction), true
}

// SQSPublisher is the feedback publisher to the SQS queue at queueURL, with
// the default AWS configuration (for a local stack pointed at a real queue).
func SQSPublisher(ctx context.Context, queueURL string) (*sqs.Publisher, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return sqs.NewPublisher(awssqs.NewFromConfig(awsCfg), queueURL), nil
}

// LambdaLogger writes Lambda's JSON log format (timestamp, level, message,
// requestId) at level (LOG_LEVEL). lambdacontext.NewLogger would take its
// level from AWS_LAMBDA_LOG_LEVEL only; the template sets both from one
// parameter, and this makes LOG_LEVEL the one the code reads.
func LambdaLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(requestIDHandler{h})
}

// requestIDHandler adds the invocation's request id, as Lambda's own
// handler does.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
