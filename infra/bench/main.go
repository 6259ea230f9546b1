// Command bench runs the repository's benchmarks and writes their reports
// in docs/: `buffer` (the buffer strategies simulated over a grid, and
// Recalibrate timed on a big history), `learning` (learning on vs off vs an
// oracle through the local stack) and `quality prepare|report` (the
// validator's calibration set and one-core timings). `make bench-buffer`,
// `make bench-learning` and `make bench-quality` run them; the last line each
// prints is its summary. The buffer simulation is the sub-package bufsim;
// the charts come from infra/internal/chart, which the demo's report shares.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"buffer": {"[--requests R] [--out DIR] [--recalibrate-rows ROWS]: simulate the buffer strategies, time Recalibrate, write docs/buffer-benchmark.{md,svg}",
		bufferCommand},
	"learning": {"learning on vs off vs an oracle over several quirk seeds; writes docs/learning-benchmark.md and its chart",
		learningCommand},
	"quality": {"prepare|report: build the validator's labelled calibration set and write docs/quality-benchmark.md",
		qualityCommand},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: go run ./infra/bench <benchmark> [flags]\n\nbenchmarks:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-9s %s\n", name, commands[name].summary)
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "unknown benchmark %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	switch err := cmd.run(ctx, args[1:], stdout, stderr); {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
}
