// Package cli is the subcommand dispatch the repository's commands share
// (infra/local, infra/bench): a registry of named commands, their usage and
// exit codes. It is ours rather than a library's because it is some sixty lines
// over the standard flag package, which each command still uses for its own
// flags.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
)

// Command is one subcommand. Run's error is printed and exits 1, unless it
// is an ExitError (its own code) or flag.ErrHelp (0: -h asked for help).
type Command struct {
	Summary string
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// ExitError carries a command's exit code, e.g. a child process's.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Main runs the command os.Args names, cancelled by SIGINT or SIGTERM, and
// exits with its code. program is how users call it ("go run ./infra/local").
func Main(program string, commands map[string]Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, program, commands, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run runs the command args[0] names with the rest of args and returns the
// exit code: no command prints the usage (2), help prints it (0), an
// unknown one prints it to stderr (2).
func Run(ctx context.Context, program string, commands map[string]Command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, program, commands)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "unknown command %q\n\n", args[0])
		usage(stderr, program, commands)
		return 2
	}
	err := cmd.Run(ctx, args[1:], stdout, stderr)
	var exit ExitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		return exit.Code
	default:
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
}

func usage(w io.Writer, program string, commands map[string]Command) {
	fmt.Fprintf(w, "usage: %s <command> [flags]\n\ncommands:\n", program)
	names := make([]string, 0, len(commands))
	width := 0
	for name := range commands {
		names = append(names, name)
		width = max(width, len(name))
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, name, commands[name].Summary)
	}
}
