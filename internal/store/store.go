// Package store keeps Pressroom's data in one SQLite file (modernc.org/sqlite,
// no cgo) and holds every SQL statement of the project.
//
// A DB has two connection pools on the same file: a single-connection write
// pool whose transactions begin with BEGIN IMMEDIATE, and a read pool whose
// connections are query-only. The file is in WAL mode, so readers see the
// last committed state and never wait for the writer; writers queue on the
// one write connection instead of failing with SQLITE_BUSY.
//
// The schema comes from the numbered files in migrations/, embedded in the
// binary and applied in one transaction by Open (or Migrate).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is wrapped by errors for a missing article, section or other
// row. Test for it with errors.Is.
var ErrNotFound = errors.New("not found")

// Options configure a DB. The zero value is usable.
type Options struct {
	// Logger receives migration and maintenance events; nil discards them.
	Logger *slog.Logger
	// Synchronous is SQLite's synchronous setting: OFF, NORMAL (default),
	// FULL or EXTRA. NORMAL in WAL mode never corrupts the file but may lose
	// the last commits on power loss; use FULL where a commit is a proof.
	Synchronous string
	// ReadConns is the size of the read pool; 0 means max(4, GOMAXPROCS).
	ReadConns int
	// SkipMigrate makes Open leave pending migrations for Migrate to apply
	// (the CLI's migrate command reports what it did). A database newer than
	// the binary is refused either way.
	SkipMigrate bool
	// Now is the clock for writes that are given no time (DeleteArticle,
	// AddSection, ImportViews) to date the change of the article set; nil
	// means time.Now.
	Now func() time.Time
}

// DB is an open Pressroom database. It is safe for concurrent use.
type DB struct {
	write  *sql.DB // one connection: SQLite allows one writer at a time
	read   *sql.DB // query-only connections
	logger *slog.Logger
	path   string
	now    func() time.Time
	stmts  stmtCache
}

// stmtCache holds statements prepared on the read pool, by query text.
// database/sql re-prepares a *sql.Stmt on each connection as needed;
// preparing once saves parsing the SQL on every call, which for the
// listing queries costs about as much as running them.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// readStmt returns query prepared on the read pool, preparing it on first
// use (not at Open: before Migrate the tables may not exist yet).
func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if st, ok := db.stmts.m[query]; ok {
		return st, nil
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if db.stmts.m == nil {
		db.stmts.m = map[string]*sql.Stmt{}
	}
	db.stmts.m[query] = st
	return st, nil
}

// Open opens (creating if needed) the database file at path, applies
// pending migrations in one transaction unless opts.SkipMigrate, and
// refuses a database whose schema is newer than this binary knows.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: open: empty database path")
	}
	if strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("store: open %q: want a file path, not a URI or the in-memory database", path)
	}
	syncMode := strings.ToUpper(opts.Synchronous)
	switch syncMode {
	case "":
		syncMode = "NORMAL"
	case "OFF", "NORMAL", "FULL", "EXTRA":
	default:
		return nil, fmt.Errorf("store: open %s: synchronous %q: want OFF, NORMAL, FULL or EXTRA", path, opts.Synchronous)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	readConns := opts.ReadConns
	if readConns <= 0 {
		readConns = max(4, runtime.GOMAXPROCS(0))
	}

	write, err := sql.Open("sqlite", dsn(path, syncMode, false))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	db := &DB{write: write, logger: logger, path: path, now: now}
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if opts.SkipMigrate {
		if _, err := db.checkVersion(ctx); err != nil {
			write.Close()
			return nil, err
		}
	} else if _, _, err := db.Migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}

	read, err := sql.Open("sqlite", dsn(path, syncMode, true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.read = read
	return db, nil
}

// dsn builds the modernc DSN. Pragmas in the DSN run on every new pooled
// connection; busy_timeout comes first so that setting journal_mode waits
// for a concurrent opener instead of failing. _txlock=immediate makes
// every transaction take the write lock at BEGIN: a deferred transaction
// that reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT under
// WAL, ignoring busy_timeout.
func dsn(path, syncMode string, readOnly bool) string {
	// SQLite decodes %XX in URI file names; escape what would end the path.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	var b strings.Builder
	b.WriteString("file:")
	b.WriteString(p)
	b.WriteString("?_pragma=busy_timeout(10000)")
	// 16 KiB pages: a 2-3 KB article fits several to a page, and a large
	// import makes a quarter of the WAL writes of 4 KiB pages. It only
	// takes effect when the file is created, so it must run before
	// journal_mode: the _journal_mode key is applied after every _pragma.
	b.WriteString("&_pragma=page_size(16384)")
	b.WriteString("&_pragma=foreign_keys(1)")
	b.WriteString("&_pragma=synchronous(" + syncMode + ")")
	// A 16 MiB page cache per connection keeps the index pages of a large
	// article table hot without letting RSS grow with the table.
	b.WriteString("&_pragma=cache_size(-16384)")
	b.WriteString("&_pragma=temp_store(MEMORY)")
	b.WriteString("&_journal_mode=WAL")
	if readOnly {
		b.WriteString("&_query_only=1") // applied after every _pragma
	} else {
		b.WriteString("&_txlock=immediate")
	}
	return b.String()
}

// Close closes both pools. The last connection to close checkpoints the
// WAL into the main file.
func (db *DB) Close() error {
	var errs []error
	db.stmts.mu.Lock()
	for _, st := range db.stmts.m {
		errs = append(errs, st.Close())
	}
	db.stmts.m = nil
	db.stmts.mu.Unlock()
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

// Ping checks that the database answers a query. It uses the read pool
// only, so a health check never waits behind a long import.
func (db *DB) Ping(ctx context.Context) error {
	var v int64
	if err := db.read.QueryRowContext(ctx, "SELECT articles_version FROM store_state WHERE id = 1").Scan(&v); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Write runs fn in one write transaction (BEGIN IMMEDIATE on the single
// write connection) and commits when fn returns nil; otherwise it rolls
// back and returns fn's error unchanged. Every store file uses it for
// writes, so multi-row writes are always one transaction.
func (db *DB) Write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", ctxErr(ctx, err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", ctxErr(ctx, err))
	}
	return nil
}

// ctxErr returns err, or ctx's error when ctx is done: database/sql rolls
// a transaction back as soon as its context is canceled, so a statement
// in it may fail with "statement is closed" instead of the cause.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// Checkpoint copies the WAL into the main database file and truncates it.
// Tests use it to compare files; the CLI may call it after a large import.
func (db *DB) Checkpoint(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
}
