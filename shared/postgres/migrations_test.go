package postgres_test

import (
	"context"
	"io/fs"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/migrations"
	"github.com/designerbff/pipeline/shared/generation"
)

// emptyDatabase creates a database with no schema and connects to it.
func emptyDatabase(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background() // not t.Context(): the cleanup below uses it after the test
	admin, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvURL))
	require.NoError(t, err)
	defer admin.Close(ctx)
	name := "empty_" + generation.NewID()[:8]
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	cfg := admin.Config().Copy()
	cfg.Database = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close(ctx)
		admin, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvURL))
		if err == nil {
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
			_ = admin.Close(ctx)
		}
	})
	return conn
}

func relations(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') AND c.relname <> 'schema_version'
		ORDER BY c.relname`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func TestMigrationsApplyToEmptyDatabaseAndRerun(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := emptyDatabase(t)
	files, err := fs.Glob(migrations.FS, "*.sql")
	require.NoError(t, err)

	require.NoError(t, migrations.Migrate(ctx, conn))
	want := []string{
		"attribute_stats", "candidates", "generations", "provider_budget", "provider_calls", "provider_failure_reasons", "provider_outcomes", "provider_stats", "rating_requests", "rlhf_feedback",
		"rlhf_feedback_summary", "rlhf_negative_examples", "rlhf_positive_examples", "validation_results",
		"webhook_attempts", "webhook_deliveries",
	}
	require.Equal(t, want, relations(t, conn))
	var version int
	require.NoError(t, conn.QueryRow(ctx, "SELECT version FROM "+migrations.VersionTable).Scan(&version))
	require.Equal(t, len(files), version)

	// Re-running applies nothing and fails on nothing.
	require.NoError(t, migrations.Migrate(ctx, conn))
	require.NoError(t, conn.QueryRow(ctx, "SELECT version FROM "+migrations.VersionTable).Scan(&version))
	require.Equal(t, len(files), version)

	// Every down half undoes its up half, and the way back up works again.
	m, err := migrate.NewMigrator(ctx, conn, migrations.VersionTable)
	require.NoError(t, err)
	require.NoError(t, m.LoadMigrations(migrations.FS))
	require.NoError(t, m.MigrateTo(ctx, 0))
	require.Empty(t, relations(t, conn))
	require.NoError(t, migrations.Migrate(ctx, conn))
	require.Equal(t, want, relations(t, conn))
}

func TestMigrationsHaveNoTemplateActions(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(migrations.FS, "*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		body, err := fs.ReadFile(migrations.FS, f)
		require.NoError(t, err)
		require.NotContains(t, string(body), "{{", "%s: tern renders migrations as Go templates", f)
		require.Contains(t, string(body), "---- create above / drop below ----", "%s has a down half", f)
	}
}
