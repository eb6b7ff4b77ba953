package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// This file holds the operations queries (issue 7): admin API tokens,
// online backups, retention and the counts the metrics read.

// CreateAPIToken stores a new token's name and SHA-256 hash. It fails
// with an error wrapping ErrExists when the name is taken, revoked or not.
func (db *DB) CreateAPIToken(ctx context.Context, name string, hash []byte, now time.Time) error {
	if fe := news.CheckTokenName(name); fe != nil {
		return fmt.Errorf("store: create token: %w", fe)
	}
	if len(hash) != 32 {
		return fmt.Errorf("store: create token %q: hash is %d bytes, want a SHA-256 (32)", name, len(hash))
	}
	return db.Write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens WHERE name = ?`, name).Scan(&n); err != nil {
			return fmt.Errorf("store: create token %q: %w", name, err)
		}
		if n > 0 {
			return fmt.Errorf("store: create token %q: %w", name, ErrExists)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO api_tokens (name, hash, created_at) VALUES (?, ?, ?)`, name, hash, now.Unix()); err != nil {
			return fmt.Errorf("store: create token %q: %w", name, err)
		}
		return nil
	})
}

// RevokeAPIToken marks a token revoked. Revoking a revoked token keeps
// its first revocation time. It fails with an error wrapping ErrNotFound
// for an unknown name.
func (db *DB) RevokeAPIToken(ctx context.Context, name string, now time.Time) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE name = ?`, now.Unix(), name)
		if err != nil {
			return fmt.Errorf("store: revoke token %q: %w", name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: revoke token %q: %w", name, err)
		} else if n == 0 {
			return fmt.Errorf("store: revoke token %q: %w", name, ErrNotFound)
		}
		return nil
	})
}

// APITokens returns every token, revoked ones included, by name.
func (db *DB) APITokens(ctx context.Context) ([]news.APIToken, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT name, hash, created_at, revoked_at FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []news.APIToken
	for rows.Next() {
		var (
			t       news.APIToken
			created int64
			revoked sql.NullInt64
		)
		if err := rows.Scan(&t.Name, &t.Hash, &created, &revoked); err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		t.CreatedAt = time.Unix(created, 0).UTC()
		if revoked.Valid {
			t.RevokedAt = time.Unix(revoked.Int64, 0).UTC()
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	return out, nil
}

// Backup writes a consistent snapshot of the database to path with
// SQLite's VACUUM INTO. It reads one snapshot of the WAL database, so
// writers (a running serve) go on while it runs and the copy holds exactly
// the transactions committed before it started. The snapshot is written
// to a temporary file next to path and renamed into place only when
// complete; an existing path is never overwritten.
func (db *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("store: backup to %s: %w", path, os.ErrExist)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	tmp := path + ".partial"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	// VACUUM INTO only reads this database, inside one read transaction.
	// The read pool's connections are query_only, which refuses it, and
	// the single write connection must stay free for writers: use a
	// connection of its own.
	conn, err := sql.Open("sqlite", dsn(db.path, "NORMAL", false))
	if err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	// Link, not rename: it fails instead of replacing a file that
	// appeared meanwhile.
	if err := os.Link(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return os.Remove(tmp)
}

// syncFile flushes a written file to stable storage.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PruneViews deletes the hourly view buckets that start before before and
// returns how many it deleted. Retention periods are far longer than the
// most-read window (a day), so no feed changes.
func (db *DB) PruneViews(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM article_views WHERE hour < ?`, before.Unix())
		if err != nil {
			return fmt.Errorf("store: prune views: %w", err)
		}
		n, err = res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: prune views: %w", err)
		}
		return nil
	})
	return n, err
}

// PruneDeliveries deletes the delivery rows, and the bounce events
// matched to them, of editions whose window closed before before, and
// returns how many deliveries it deleted. The editions themselves (the
// archive), subscribers and their consent logs are kept.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		const old = `SELECT d.id FROM deliveries d JOIN editions e ON e.id = d.edition_id WHERE e.cutoff < ?`
		if _, err := tx.ExecContext(ctx, `DELETE FROM bounce_events WHERE delivery_id IN (`+old+`)`, before.Unix()); err != nil {
			return fmt.Errorf("store: prune deliveries: bounce events: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE id IN (`+old+`)`, before.Unix())
		if err != nil {
			return fmt.Errorf("store: prune deliveries: %w", err)
		}
		n, err = res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: prune deliveries: %w", err)
		}
		return nil
	})
	return n, err
}

// DeliveryStateCounts returns how many deliveries the ledger holds in each
// state.
func (db *DB) DeliveryStateCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT state, count(*) FROM deliveries GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("store: delivery counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			state string
			n     int64
		)
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("store: delivery counts: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: delivery counts: %w", err)
	}
	return out, nil
}
