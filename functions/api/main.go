// Command api is the HTTP API's Lambda function: wiring only.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
	"github.com/designerbff/pipeline/shared/wire"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	ctx := context.Background()
	p, cfg, err := wire.Setup(ctx, os.Getenv)
	if err != nil {
		slog.Error("init", "error", err)
		os.Exit(1)
	}
	starter, err := wire.Starter(ctx, cfg)
	if err != nil {
		slog.Error("init", "error", err)
		os.Exit(1)
	}
	lambda.Start(service(p, cfg, starter).HandleAPIGateway)
}

// service is the API over a pipeline's store and object store. LocalAuth
// stays off: in AWS the JWT authorizer's sub claim is the only identity.
func service(p *generation.Pipeline, cfg config.Config, starter generation.Starter) *httpapi.Service {
	return &httpapi.Service{
		Store:            p.Store,
		Objects:          p.Objects,
		Starter:          starter,
		Publisher:        ratingPublisher(p, cfg),
		Learning:         learningReader(p.Store),
		Providers:        wire.AutoChooser(cfg, p.Store), // settings.provider "auto"
		Defaults:         generation.Defaults{TargetConfidence: cfg.BufferTargetConfidence, Provider: cfg.Provider},
		ValidatorVersion: p.Validator.Version(),
		PresignExpiry:    cfg.PresignExpiry,
		Planner:          wire.Planner(cfg),
		// A synchronous Lambda invocation carries at most 6 MB, and API
		// Gateway base64-encodes binary bodies (4/3 larger): 4 MiB of upload
		// is what fits.
		MaxBodyBytes: 4 << 20,
		Logger:       slog.Default(),
	}
}

// learningReader is the store's statistics reader, when it has one.
func learningReader(store generation.Store) generation.AttributeStatsReader {
	r, _ := store.(generation.AttributeStatsReader)
	return r
}

// ratingPublisher is where user ratings go: the feedback queue, unless
// RLHF_FEEDBACK_ENABLED is off (then ratings are refused with 503).
func ratingPublisher(p *generation.Pipeline, cfg config.Config) generation.Publisher {
	if !cfg.FeedbackEnabled {
		return nil
	}
	return p.Publisher
}
