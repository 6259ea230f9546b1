package pgserver_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgserver"
)

func TestStartCreateDatabaseStop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	tmp := t.TempDir()
	// The postgres user must reach the cluster directory when we are root
	// (t.TempDir makes its directories private).
	require.NoError(t, os.Chmod(filepath.Dir(tmp), 0o755))
	require.NoError(t, os.Chmod(tmp, 0o755))
	srv, err := pgserver.Start(ctx, pgserver.Options{TempDir: tmp})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })

	require.Regexp(t, `^postgres://postgres@127\.0\.0\.1:\d+/app\?sslmode=disable$`, srv.URL("app"))
	require.NoError(t, srv.CreateDatabase(ctx, "app"))
	require.Error(t, srv.CreateDatabase(ctx, "app"), "a second create of the same name fails")

	conn, err := pgx.Connect(ctx, srv.URL("app"))
	require.NoError(t, err)
	var db, version string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_database(), current_setting('server_version_num')").Scan(&db, &version))
	require.Equal(t, "app", db)
	require.GreaterOrEqual(t, version, "150000")
	var fsync string
	require.NoError(t, conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync))
	require.Equal(t, "off", fsync)
	require.NoError(t, conn.Close(ctx))

	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	clusterDir := filepath.Join(tmp, entries[0].Name())

	require.NoError(t, srv.Stop(ctx))
	require.NoError(t, srv.Stop(ctx), "stopping twice is a no-op")
	_, err = os.Stat(clusterDir)
	require.True(t, os.IsNotExist(err), "the cluster directory is removed")
	_, err = pgx.Connect(ctx, srv.URL("app"))
	require.Error(t, err, "the server no longer answers")
}

func TestStartWithMissingBinaries(t *testing.T) {
	t.Parallel()
	_, err := pgserver.Start(context.Background(), pgserver.Options{BinDir: t.TempDir()})
	require.ErrorContains(t, err, "no initdb and pg_ctl")
}
