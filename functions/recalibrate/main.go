// Command recalibrate is the recalibrate stage's Lambda function: wiring only.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/stage"
	"github.com/designerbff/pipeline/shared/wire"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	p, _, err := wire.Setup(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("init", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler(p))
}

// handler is the function's handler over a pipeline (the test passes one
// over the local stack).
func handler(p *generation.Pipeline) any {
	return stage.Recalibrate{Pipeline: p}.Handle
}
