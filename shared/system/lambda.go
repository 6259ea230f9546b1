package system

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

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

// FromEnv is what a deployed function does at init: read the configuration,
// log in Lambda's JSON format at LOG_LEVEL (also the default logger), build
// the Step Functions starter when STATE_MACHINE_ARN is set and the SQS
// publisher when FEEDBACK_QUEUE_URL is set, from the default AWS
// configuration, and build the system with Lambda's pool size.
func FromEnv(ctx context.Context, getenv func(string) string) (*System, error) {
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
	deps := Deps{PoolSize: LambdaPoolSize, Getenv: getenv, Logger: logger}
	if cfg.StateMachineARN != "" || cfg.FeedbackQueueURL != "" {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("load AWS config: %w", err)
		}
		if cfg.StateMachineARN != "" {
			starter := &sfn.Starter{Client: awssfn.NewFromConfig(awsCfg), StateMachineARN: cfg.StateMachineARN}
			deps.Starter, deps.Restarter = starter, starter
		}
		if cfg.FeedbackQueueURL != "" {
			deps.Publisher = sqs.NewPublisher(awssqs.NewFromConfig(awsCfg), cfg.FeedbackQueueURL)
		}
	}
	return New(ctx, cfg, deps)
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
