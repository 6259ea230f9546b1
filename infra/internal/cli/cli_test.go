package cli_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/internal/cli"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var ran []string
	commands := map[string]cli.Command{
		"ok":   {"succeeds", func(_ context.Context, args []string, _, _ io.Writer) error { ran = append(ran, args...); return nil }},
		"fail": {"fails", func(context.Context, []string, io.Writer, io.Writer) error { return errors.New("boom") }},
		"exit": {"exits 7", func(context.Context, []string, io.Writer, io.Writer) error { return cli.ExitError{Code: 7} }},
		"help": {"", nil}, // shadowed: help always prints the usage
		"flag": {"asks for help", func(context.Context, []string, io.Writer, io.Writer) error { return flag.ErrHelp }},
	}
	tests := []struct {
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{args: nil, wantCode: 2, wantStdout: "usage: prog <command> [flags]"},
		{args: []string{"--help"}, wantCode: 0, wantStdout: "  exit  exits 7\n"},
		{args: []string{"ok", "a", "b"}, wantCode: 0},
		{args: []string{"fail"}, wantCode: 1, wantStderr: "error: boom\n"},
		{args: []string{"exit"}, wantCode: 7},
		{args: []string{"flag"}, wantCode: 0},
		{args: []string{"nope"}, wantCode: 2, wantStderr: "unknown command \"nope\"\n\nusage: prog"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := cli.Run(context.Background(), "prog", commands, tt.args, &stdout, &stderr)
		require.Equal(t, tt.wantCode, code, "%v", tt.args)
		require.Contains(t, stdout.String(), tt.wantStdout, "%v", tt.args)
		require.Contains(t, stderr.String(), tt.wantStderr, "%v", tt.args)
	}
	require.Equal(t, []string{"a", "b"}, ran)
}
