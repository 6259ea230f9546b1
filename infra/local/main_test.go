package main

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/designerbff/pipeline/infra/internal/cli"
	"github.com/designerbff/pipeline/infra/local/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// run is the command line's dispatch, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Run(ctx, "go run ./infra/local", commands, args, stdout, stderr)
}
