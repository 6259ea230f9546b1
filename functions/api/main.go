// Command api is the HTTP API's Lambda function: wiring only.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/designerbff/pipeline/shared/app"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
	"github.com/designerbff/pipeline/shared/postgres"
	"github.com/designerbff/pipeline/shared/wire"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	ctx := context.Background()
	p, store, cfg, err := wire.SetupWithStore(ctx, os.Getenv)
	if err != nil {
		slog.Error("init", "error", err)
		os.Exit(1)
	}
	starter, err := wire.Starter(ctx, cfg)
	if err != nil {
		slog.Error("init", "error", err)
		os.Exit(1)
	}
	lambda.Start(service(p, store, cfg, starter).HandleAPIGateway)
}

// service is the API over a pipeline's store and object store; store's
// statistics readers are passed explicitly. LocalAuth stays off: in AWS the
// JWT authorizer's sub claim is the only identity.
func service(p *generation.Pipeline, store *postgres.Store, cfg config.Config, starter generation.Starter) *httpapi.Service {
	return &httpapi.Service{
		App: &app.Service{
			Store:            p.Store,
			Objects:          p.Objects,
			Starter:          starter,
			Defaults:         generation.Defaults{TargetConfidence: cfg.BufferTargetConfidence, Provider: cfg.Provider},
			ValidatorVersion: p.Validator.Version(),
			PresignExpiry:    cfg.PresignExpiry,
			Planner:          wire.Planner(cfg),
			ProviderChooser:  wire.AutoChooser(cfg, store), // settings.provider "auto"
			Ratings:          ratingPublisher(p, cfg),
			LearnerStats:     store,
			Logger:           slog.Default(),
		},
		// A synchronous Lambda invocation carries at most 6 MB, and API
		// Gateway base64-encodes binary bodies (4/3 larger): 4 MiB of upload
		// is what fits.
		MaxBodyBytes: 4 << 20,
		Logger:       slog.Default(),
	}
}

// ratingPublisher is where user ratings go: the feedback queue, unless
// RLHF_FEEDBACK_ENABLED is off (then ratings are refused with 503).
func ratingPublisher(p *generation.Pipeline, cfg config.Config) generation.Publisher {
	if !cfg.FeedbackEnabled {
		return nil
	}
	return p.Publisher
}
