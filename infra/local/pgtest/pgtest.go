// Package pgtest gives tests a real, freshly migrated Postgres
// database: Main starts a throwaway cluster for the test binary (unless
// TEST_DATABASE_URL names a server), and NewDB clones a migrated template
// database per test (pgtestdb), dropped again when the test passes.
//
// Usage:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		t.Parallel()
//		pool := pgtest.NewDB(t)
//		...
//	}
//
// A test that needs Postgres fails, never skips, when none is reachable.
package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver pgtestdb connects with
	"github.com/peterldowns/pgtestdb"

	"github.com/designerbff/pipeline/infra/local/pgserver"
	"github.com/designerbff/pipeline/migrations"
)

// EnvURL names the server that tests use; Main sets it when it starts one.
const EnvURL = "TEST_DATABASE_URL"

// startErr is why Main could not start a cluster; NewURL fails with it.
var startErr error

// Main runs m against a throwaway cluster, started for this test binary and
// stopped after the tests, unless TEST_DATABASE_URL is already set. Use its
// result as the exit code. When no cluster can be started, the tests still
// run and every NewURL/NewDB fails with the reason: they fail, never skip.
func Main(m *testing.M) int {
	if os.Getenv(EnvURL) != "" {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	srv, err := pgserver.Start(ctx, pgserver.Options{})
	cancel()
	if err != nil {
		startErr = err
		fmt.Fprintf(os.Stderr, "pgtest: no %s and no throwaway Postgres: %v\n", EnvURL, err)
		if code := m.Run(); code != 0 {
			return code
		}
		return 1
	}
	defer func() {
		if err := srv.Stop(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}()
	if err := os.Setenv(EnvURL, srv.URL("postgres")); err != nil {
		startErr = fmt.Errorf("set %s: %w", EnvURL, err)
	}
	return m.Run()
}

// NewURL creates a fresh database with the schema migrated to head (a clone
// of a template migrated once per schema version) and returns its URL. The
// database is dropped when the test passes and kept (its URL logged) when it
// fails. An unreachable server fails the test.
func NewURL(t testing.TB) string {
	t.Helper()
	if startErr != nil {
		t.Fatalf("pgtest: no Postgres for this test: %v", startErr)
	}
	raw := os.Getenv(EnvURL)
	if raw == "" {
		t.Fatalf("pgtest: %s is not set; call pgtest.Main from TestMain or point it at a server", EnvURL)
	}
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", EnvURL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: Postgres at %s:%d (%s) is unreachable: %v", cfg.Host, cfg.Port, EnvURL, err)
	}
	_ = conn.Close(ctx)

	sslmode := "disable"
	if cfg.TLSConfig != nil {
		sslmode = "require"
	}
	conf := pgtestdb.Config{
		DriverName: "pgx",
		Host:       cfg.Host,
		Port:       strconv.Itoa(int(cfg.Port)),
		User:       cfg.User,
		Password:   cfg.Password,
		Database:   cfg.Database,
		Options:    "sslmode=" + sslmode,
		// A test that fails to close a pool must not keep its database.
		ForceTerminateConnections: true,
	}
	return pgtestdb.Custom(t, conf, Migrator{}).URL()
}

// NewDB is NewURL plus a pool on that database, closed when the test ends.
// The pool uses pgx.QueryExecModeExec, the mode the functions use behind a
// connection pooler, so SQL that needs session state fails in tests too.
func NewDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(NewURL(t))
	if err != nil {
		t.Fatalf("pgtest: parse test database URL: %v", err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Migrator is the pgtestdb.Migrator of this project's schema: its hash is
// over the embedded migration files, so a changed migration gets a new
// template database.
type Migrator struct{}

var _ pgtestdb.Migrator = Migrator{}

// Hash returns a digest of every migration file's name and content.
func (Migrator) Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(body))
		h.Write(body)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("pgtest: hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Migrate applies the migrations to the template database with tern (which
// needs a *pgx.Conn, not the *sql.DB pgtestdb hands over).
func (Migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	conn, err := pgx.Connect(ctx, conf.URL())
	if err != nil {
		return fmt.Errorf("pgtest: connect to template %s: %w", conf.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return migrations.Migrate(ctx, conn)
}
