// Command local runs the pipeline on one machine, with no AWS account and no
// API keys: `demo`, `serve`, `migrate`, `with-postgres` and `render-asl`.
// See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/sam"
	"github.com/designerbff/pipeline/shared/postgres/postgrestest"
	"github.com/designerbff/pipeline/statemachine"
)

const usage = `usage: go run ./infra/local <command> [flags]

commands:
  demo            run several generation requests end to end and write an HTML report
  serve           serve the HTTP API on 127.0.0.1:$PORT (default 3000) over the local stack
  migrate         apply the migrations to $DATABASE_URL
  with-postgres   -- CMD ARGS...: run CMD with TEST_DATABASE_URL naming a throwaway cluster
  render-asl      print the state machine definition with template.yaml's substitutions filled in
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "demo":
		err = demoCommand(ctx, args[1:], stdout, stderr)
	case "serve":
		err = serveCommand(ctx, stdout, stderr)
	case "migrate":
		err = migrateCommand(ctx, stdout)
	case "with-postgres":
		return withPostgres(ctx, args[1:], stderr)
	case "render-asl":
		err = renderASL(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

func migrateCommand(ctx context.Context, stdout io.Writer) error {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return errors.New("DATABASE_URL is not set")
	}
	if err := stack.Migrate(ctx, url); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// withPostgres starts one throwaway cluster for a whole test run, so that
// every package's tests clone databases from it instead of starting their own.
func withPostgres(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "with-postgres: no command")
		return 2
	}
	if os.Getenv(postgrestest.EnvURL) == "" {
		srv, err := pgserver.Start(ctx, pgserver.Options{})
		if err != nil {
			fmt.Fprintln(stderr, "with-postgres:", err)
			return 1
		}
		defer func() {
			if err := srv.Stop(context.WithoutCancel(ctx)); err != nil {
				fmt.Fprintln(stderr, "with-postgres: stop:", err)
			}
		}()
		os.Setenv(postgrestest.EnvURL, srv.URL("postgres"))
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(stderr, "with-postgres:", err)
		return 1
	}
	return 0
}

// renderASL fills the definition's placeholders the way CloudFormation does,
// with template.yaml's substitution names and dummy ARNs, so that
// asl-validator (which cannot parse a bare ${…} number) checks what AWS would.
func renderASL(stdout io.Writer) error {
	subs, err := sam.DummySubstitutions("template.yaml")
	if err != nil {
		return err
	}
	out, err := sam.RenderDefinition(statemachine.Definition, subs)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(out, '\n'))
	return err
}

func logger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
