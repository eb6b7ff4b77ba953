package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string // file name, e.g. "0001_init.sql"
	sql     string
}

// migrations returns the embedded migrations in order. File names must be
// NNNN_name.sql with versions 1, 2, 3... without gaps.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("store: migration %q: want NNNN_name.sql", name)
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migration %s: want version %d (no gaps or duplicates)", m.name, i+1)
		}
	}
	return ms, nil
}

// LatestSchemaVersion is the schema version this binary brings: the number
// of its newest embedded migration.
func LatestSchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// schemaTable records every applied migration; the schema version is the
// highest recorded version (0 for a new file).
const schemaTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)`

// queryer is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var n int
	err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v int
	err = q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// SchemaVersion returns the version of the database's schema: the number
// of the last migration applied to it.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, db.write)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// checkVersion returns the current version, or an error when the database
// is newer than this binary.
func (db *DB) checkVersion(ctx context.Context) (int, error) {
	cur, err := db.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	if latest := LatestSchemaVersion(); cur > latest {
		return cur, fmt.Errorf("store: %s: database schema version %d is newer than this binary's version %d: use a newer pressroom", db.path, cur, latest)
	}
	return cur, nil
}

// Migrate applies every pending migration in one transaction and returns
// the schema versions before and after. It refuses a database newer than
// the binary. Running it on an up-to-date database changes nothing.
func (db *DB) Migrate(ctx context.Context) (from, to int, err error) {
	ms, err := migrations()
	if err != nil {
		return 0, 0, err
	}
	err = db.Write(ctx, func(tx *sql.Tx) error {
		// Read the version inside the write transaction: a second process
		// opening the same file waits here and then finds nothing to do.
		from, err = schemaVersion(ctx, tx)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		to = from
		latest := ms[len(ms)-1].version
		if from > latest {
			return fmt.Errorf("store: %s: database schema version %d is newer than this binary's version %d: use a newer pressroom", db.path, from, latest)
		}
		if from == latest {
			return nil
		}
		if _, err := tx.ExecContext(ctx, schemaTable); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		now := time.Now().Unix()
		for _, m := range ms[from:] {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, now); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.name, err)
			}
			to = m.version
		}
		return nil
	})
	if err != nil {
		return from, from, err
	}
	if to != from {
		db.logger.Info("Migrated database", "path", db.path, "from", from, "to", to)
	}
	return from, to, nil
}
