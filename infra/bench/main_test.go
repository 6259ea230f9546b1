package main

import (
	"context"
	"io"

	"github.com/designerbff/pipeline/infra/internal/cli"
)

// run is the command line's dispatch, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Run(ctx, "go run ./infra/bench", commands, args, stdout, stderr)
}
