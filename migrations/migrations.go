// Package migrations holds the database schema as numbered tern migrations
// (NNN_verb_noun.sql, "---- create above / drop below ----" between the up
// and down halves) embedded in the binary, and applies them.
package migrations

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
)

// FS holds the migration files. tern renders each as a Go template, so the
// SQL must not contain "{{".
//
//go:embed *.sql
var FS embed.FS

// VersionTable is the table where tern records the applied version.
const VersionTable = "schema_version"

// Migrate applies every migration not yet applied, under tern's advisory
// lock, so concurrent callers and re-runs are safe. conn must be a direct
// connection (not through a transaction pooler): the lock is session state.
func Migrate(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return fmt.Errorf("migrations: prepare %s: %w", VersionTable, err)
	}
	if err := m.LoadMigrations(FS); err != nil {
		return fmt.Errorf("migrations: load: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrations: apply: %w", err)
	}
	return nil
}
