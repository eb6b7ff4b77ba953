package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// ImportViews stores hourly view counts in one write transaction. fill
// calls put once per count; an error from fill rolls everything back.
// A count's time is floored to the start of its UTC hour, and the count
// replaces what the bucket held, so importing the same file twice is
// harmless. put fails with an error wrapping ErrNotFound for an unknown
// article id. It returns the number of buckets written.
func (db *DB) ImportViews(ctx context.Context, fill func(put func(news.ViewCount) error) error) (int, error) {
	n := 0
	err := db.Write(ctx, func(tx *sql.Tx) error {
		sel, err := tx.PrepareContext(ctx, `SELECT seq FROM articles WHERE id = ?`)
		if err != nil {
			return fmt.Errorf("store: import views: %w", err)
		}
		defer sel.Close()
		ups, err := tx.PrepareContext(ctx, `INSERT INTO article_views (article_seq, hour, count) VALUES (?, ?, ?)
			ON CONFLICT (article_seq, hour) DO UPDATE SET count = excluded.count`)
		if err != nil {
			return fmt.Errorf("store: import views: %w", err)
		}
		defer ups.Close()
		// Consecutive lines usually name the same article.
		lastID, lastSeq := "", int64(0)
		put := func(v news.ViewCount) error {
			if v.Count < 0 {
				return fmt.Errorf("store: views of %q: %w", v.ArticleID, &news.FieldError{Field: "count", Msg: "negative"})
			}
			if v.At.IsZero() {
				return fmt.Errorf("store: views of %q: %w", v.ArticleID, &news.FieldError{Field: "at", Msg: "required"})
			}
			if v.ArticleID != lastID || lastID == "" {
				err := sel.QueryRowContext(ctx, v.ArticleID).Scan(&lastSeq)
				if errors.Is(err, sql.ErrNoRows) {
					lastID = ""
					return fmt.Errorf("store: views: %w: %w", &news.FieldError{Field: "article_id",
						Msg: fmt.Sprintf("no article with id %q", v.ArticleID)}, ErrNotFound)
				}
				if err != nil {
					lastID = ""
					return fmt.Errorf("store: views of article %q: %w", v.ArticleID, ctxErr(ctx, err))
				}
				lastID = v.ArticleID
			}
			if _, err := ups.ExecContext(ctx, lastSeq, hourOf(v.At), v.Count); err != nil {
				return fmt.Errorf("store: views of article %q: %w", v.ArticleID, ctxErr(ctx, err))
			}
			n++
			return nil
		}
		if err := fill(put); err != nil {
			return err
		}
		if n > 0 {
			return bumpVersion(ctx, tx, db.now()) // most-read lists may change
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// hourOf returns the unix second that starts t's UTC hour.
func hourOf(t time.Time) int64 {
	s := t.Unix()
	return s - ((s%3600)+3600)%3600
}

// MostRead returns up to limit articles published at or before until,
// ordered by their views summed over the hourly buckets that start in
// [since, until), most first, then newest, ties by id. Articles without
// views in the window are left out.
func (db *DB) MostRead(ctx context.Context, since, until time.Time, limit int) ([]news.Article, error) {
	if err := checkLimit("most read", limit); err != nil {
		return nil, err
	}
	return db.articles(ctx, "most read", mostReadQuery, since.Unix(), until.Unix(), until.Unix(), limit)
}

// mostReadQuery sums the window with a range scan of the covering
// (hour, article_seq, count) index, ranks the summed articles reading only
// their published_at and id, and fetches whole rows for the top ones only.
// Its cost follows the number of buckets in the window, not the table size.
const mostReadQuery = `WITH v AS (
		SELECT article_seq, sum(count) AS views FROM article_views
		WHERE hour >= ? AND hour < ? GROUP BY article_seq
	), top AS (
		SELECT v.article_seq, v.views, a.published_at, a.id FROM v JOIN articles a ON a.seq = v.article_seq
		WHERE a.published_at <= ? AND v.views > 0
		ORDER BY v.views DESC, a.published_at DESC, a.id LIMIT ?
	)
	SELECT ` + articleCols + ` FROM top JOIN articles a ON a.seq = top.article_seq
	ORDER BY top.views DESC, top.published_at DESC, top.id`

// ArticleViews returns the views of one article summed over the buckets
// that start in [since, until), or an error wrapping ErrNotFound for an
// unknown id.
func (db *DB) ArticleViews(ctx context.Context, id string, since, until time.Time) (int64, error) {
	var (
		seq   int64
		total int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT seq FROM articles WHERE id = ?`, id).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: views of article %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: views of article %q: %w", id, err)
	}
	err = db.read.QueryRowContext(ctx, `SELECT coalesce(sum(count), 0) FROM article_views
		WHERE article_seq = ? AND hour >= ? AND hour < ?`, seq, since.Unix(), until.Unix()).Scan(&total)
	if err != nil {
		return 0, fmt.Errorf("store: views of article %q: %w", id, err)
	}
	return total, nil
}
