package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/designerbff/pipeline/infra/internal/cli"
	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/postgres"
	"github.com/designerbff/pipeline/shared/system"
)

func init() {
	commands["monitor"] = cli.Command{
		Summary: "[--data DIR] [--format table|json] [SECTION...]: print the monitoring sections (" +
			strings.Join(generation.MonitoringSections, ", ") + ") of $DATABASE_URL or the cluster kept in --data",
		Run: monitorCommand,
	}
}

// monitorCommand prints monitoring sections: of DATABASE_URL when set, else
// of the Postgres cluster kept in --data (`make serve`'s, or `demo --data`'s),
// started for the command when it is not running and stopped again after.
// Tables on a terminal, one JSON object per section otherwise.
func monitorCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "folder whose Postgres cluster to read when DATABASE_URL is not set (default: the one of "+
		DemoDataDir+" (make demo) and "+DefaultDataDir+" (make serve) started last)")
	format := fs.String("format", "", "table or json (default: table on a terminal, json otherwise)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sections := fs.Args()
	if len(sections) == 0 {
		sections = generation.MonitoringSections
	}
	for _, s := range sections {
		if !generation.IsMonitoringSection(s) {
			return fmt.Errorf("no section %q (want %s)", s, strings.Join(generation.MonitoringSections, ", "))
		}
	}
	switch *format {
	case "":
		*format = "json"
		if f, ok := stdout.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				*format = "table"
			}
		}
	case "table", "json":
	default:
		return fmt.Errorf("--format must be table or json, got %q", *format)
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	url := cfg.DatabaseURL
	if url == "" && *dataDir == "" {
		*dataDir = lastStarted(DemoDataDir, DefaultDataDir)
	}
	if url == "" {
		if _, err := os.Stat(filepath.Join(*dataDir, "postgres", "data", "PG_VERSION")); err != nil {
			return fmt.Errorf("no database: set DATABASE_URL, or keep one in %s with `make demo`, `go run ./infra/local demo --data %s` or `make serve`", *dataDir, *dataDir)
		}
		kept, err := pgserver.StartIn(ctx, filepath.Join(*dataDir, "postgres"), pgserver.Options{})
		if err != nil {
			return fmt.Errorf("start postgres in %s: %w", *dataDir, err)
		}
		if !kept.Reused() {
			defer func() {
				if err := kept.Stop(context.WithoutCancel(ctx)); err != nil {
					fmt.Fprintln(stderr, "monitor: stop postgres:", err)
				}
			}()
		}
		url = kept.URL("postgres")
	}
	// The monitoring schema is a migration: a database from before it gets it.
	if err := stack.Migrate(ctx, url); err != nil {
		return err
	}
	pool, err := system.OpenPool(ctx, url, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := postgres.NewStore(pool)
	q := system.MonitoringQuery(cfg)
	enc := json.NewEncoder(stdout)
	for _, name := range sections {
		sec, err := store.MonitoringSection(ctx, name, q)
		if err != nil {
			return err
		}
		if *format == "json" {
			if err := enc.Encode(sec); err != nil {
				return err
			}
			continue
		}
		if err := printSection(stdout, sec); err != nil {
			return err
		}
	}
	return nil
}

// printSection writes a section's tables, aligned.
func printSection(w io.Writer, sec generation.MonitoringSection) error {
	fmt.Fprintf(w, "\n== %s (at %s) ==\n", sec.Name, sec.At.Format("2006-01-02 15:04:05Z07:00"))
	for _, t := range sec.Tables {
		fmt.Fprintf(w, "\n%s [monitoring.%s]\n", t.Title, t.Name)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(t.Columns, "\t")+"\t")
		for _, row := range t.Rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = cell(v)
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		}
		if len(t.Rows) == 0 {
			fmt.Fprintln(tw, "(no rows)\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = cell(x)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// lastStarted is the data folder among dirs whose Postgres cluster was
// started last (Postgres rewrites postmaster.opts at every start), the
// first of them when none holds a cluster.
func lastStarted(dirs ...string) string {
	best, newest := dirs[0], time.Time{}
	for _, dir := range dirs {
		st, err := os.Stat(filepath.Join(dir, "postgres", "data", "postmaster.opts"))
		if err == nil && st.ModTime().After(newest) {
			best, newest = dir, st.ModTime()
		}
	}
	return best
}
