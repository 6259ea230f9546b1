package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/postgres"
	"github.com/designerbff/pipeline/shared/system"
)

// After a demo whose database is kept in a data folder, `monitor --data`
// (starting and stopping that cluster itself) prints every section, each
// with rows in every table.
func TestMonitorPrintsEverySectionAfterTheDemo(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DATABASE_URL", "")
	dir, err := os.MkdirTemp("", "monitor-demo-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755)) // the postgres user runs the cluster when root
	dataDir := filepath.Join(dir, "data")
	t.Cleanup(func() {
		if pg, err := pgserver.StartIn(ctx, filepath.Join(dataDir, "postgres"), pgserver.Options{}); err == nil {
			_ = pg.Stop(ctx)
		}
		_ = os.RemoveAll(dir)
	})

	var stdout, stderr bytes.Buffer
	require.NotZero(t, run(ctx, []string{"monitor", "--data", dataDir}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "no database", "nothing kept there yet")

	// The demo's database in the cluster kept in dataDir (its images in
	// memory: the bolt-file S3 store is not what this test is about).
	kept, err := pgserver.StartIn(ctx, filepath.Join(dataDir, "postgres"), pgserver.Options{})
	require.NoError(t, err)
	t.Setenv("DATABASE_URL", kept.URL("postgres"))
	_, err = runDemo(ctx, demoOptions{Requests: 3, Count: 3, OutDir: filepath.Join(dir, "out")}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	require.NoError(t, kept.Stop(ctx))
	t.Setenv("DATABASE_URL", "")

	stdout.Reset()
	require.Zero(t, run(ctx, []string{"monitor", "--data", dataDir, "--format", "table"}, &stdout, &stderr), stderr.String())
	out := stdout.String()
	for _, section := range generation.MonitoringSections {
		require.Contains(t, out, "== "+section+" (at ")
	}
	// The demo is deterministic (QUIRK_SEED): its images fill every table.
	for _, block := range strings.Split(out, "\n\n")[1:] {
		name := regexp.MustCompile(`\[monitoring\.(\w+)\]`).FindStringSubmatch(block)
		if name == nil {
			continue
		}
		require.NotContains(t, block, "(no rows)", "monitoring.%s printed no rows", name[1])
	}
	require.Regexp(t, `(?m)^\s+today\s+3\s`, out, "today's summary counts the demo's 3 requests")

	stdout.Reset()
	require.Zero(t, run(ctx, []string{"monitor", "--data", dataDir, "--format", "json", "alerts"}, &stdout, &stderr), stderr.String())
	require.Equal(t, 1, strings.Count(stdout.String(), "\n"))
	require.Contains(t, stdout.String(), `"section":"alerts"`)
	require.NotZero(t, run(ctx, []string{"monitor", "--data", dataDir, "nope"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), `no section "nope"`)
}

// infra/monitoring/queries.sql runs in psql and queries every table the
// sections are made of.
func TestQueriesSQLCoversEverySection(t *testing.T) {
	url := pgtest.NewURL(t)
	sql, err := os.ReadFile("../monitoring/queries.sql")
	require.NoError(t, err)
	pool, err := system.OpenPool(context.Background(), url, 1)
	require.NoError(t, err)
	defer pool.Close()
	store := postgres.NewStore(pool)
	for _, name := range generation.MonitoringSections {
		sec, err := store.MonitoringSection(context.Background(), name, generation.MonitoringQuery{MaxCostPerImageUSD: 0.25, MinScore: 70})
		require.NoError(t, err)
		for _, tb := range sec.Tables {
			require.Contains(t, string(sql), "monitoring."+tb.Name, "queries.sql runs %s", tb.Name)
		}
	}
	// Debian's postgresql package (what pgserver installs) brings psql.
	psql, err := exec.LookPath("psql")
	if err != nil {
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
		require.NotEmpty(t, found, "psql is not installed")
		psql = found[0]
	}
	out, err := exec.Command(psql, url, "-X", "-v", "max_cost_per_image=0.1", "-f", "../monitoring/queries.sql").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "discard_rate_24h")
	require.Contains(t, string(out), "== performance ==")
}

// Without --data, monitor reads the local cluster that was started last:
// make demo's after a demo, make serve's after serve.
func TestMonitorReadsTheClusterStartedLast(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	demo, serve := filepath.Join(root, "demo"), filepath.Join(root, "serve")
	require.Equal(t, demo, lastStarted(demo, serve), "no cluster anywhere: the first")
	started := func(dir string, at time.Time) {
		opts := filepath.Join(dir, "postgres", "data", "postmaster.opts")
		require.NoError(t, os.MkdirAll(filepath.Dir(opts), 0o755))
		require.NoError(t, os.WriteFile(opts, []byte("postgres\n"), 0o600))
		require.NoError(t, os.Chtimes(opts, at, at))
	}
	now := time.Now()
	started(serve, now.Add(-time.Hour))
	require.Equal(t, serve, lastStarted(demo, serve))
	started(demo, now)
	require.Equal(t, demo, lastStarted(demo, serve))
	started(serve, now.Add(time.Minute))
	require.Equal(t, serve, lastStarted(demo, serve))
}
