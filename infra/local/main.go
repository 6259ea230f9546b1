// Command local runs the pipeline on one machine, with no AWS account and no
// API keys: `demo`, `serve`, `migrate`, `with-postgres`, `render-asl` and the
// other commands each file adds. The benchmarks are their own command,
// infra/bench. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"

	"github.com/designerbff/pipeline/infra/internal/cli"
	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/sam"
	"github.com/designerbff/pipeline/statemachine"
)

// commands are the subcommands. A new one lives in its own file and adds
// itself with `func init() { commands["name"] = cli.Command{…} }`, touching no
// other file.
var commands = map[string]cli.Command{
	"demo":          {Summary: "run several generation requests end to end and write an HTML report", Run: demoCommand},
	"serve":         {Summary: "serve the HTTP API on 127.0.0.1:$PORT (default 3000) over the local stack", Run: serveCommand},
	"migrate":       {Summary: "apply the migrations to $DATABASE_URL", Run: migrateCommand},
	"with-postgres": {Summary: "-- CMD ARGS...: run CMD with TEST_DATABASE_URL naming a throwaway cluster", Run: withPostgres},
	"render-asl":    {Summary: "print the state machine definition with template.yaml's substitutions filled in", Run: renderASL},
}

func main() { cli.Main("go run ./infra/local", commands) }

func migrateCommand(ctx context.Context, _ []string, stdout, _ io.Writer) error {
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
func withPostgres(ctx context.Context, args []string, _, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return errors.New("with-postgres: no command")
	}
	if os.Getenv(pgtest.EnvURL) == "" {
		srv, err := pgserver.Start(ctx, pgserver.Options{})
		if err != nil {
			return fmt.Errorf("with-postgres: %w", err)
		}
		defer func() {
			if err := srv.Stop(context.WithoutCancel(ctx)); err != nil {
				fmt.Fprintln(stderr, "with-postgres: stop:", err)
			}
		}()
		os.Setenv(pgtest.EnvURL, srv.URL("postgres"))
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return cli.ExitError{Code: exit.ExitCode()}
		}
		return fmt.Errorf("with-postgres: %w", err)
	}
	return nil
}

// renderASL fills the definition's placeholders the way CloudFormation does,
// with template.yaml's substitution names and dummy ARNs, so that
// asl-validator (which cannot parse a bare ${…} number) checks what AWS would.
func renderASL(_ context.Context, _ []string, stdout, _ io.Writer) error {
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
