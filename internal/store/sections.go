package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// ErrExists is wrapped by errors for a row that is already there, such as
// a section slug added twice. Test for it with errors.Is.
var ErrExists = errors.New("already exists")

// AddSection stores a new section. It fails with an error wrapping
// ErrExists when the slug is taken.
func (db *DB) AddSection(ctx context.Context, s news.Section) error {
	if fe := news.ValidateSection(s); fe != nil {
		return fmt.Errorf("store: add section %q: %w", s.Slug, fe)
	}
	return db.Write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sections WHERE slug = ?`, s.Slug).Scan(&n); err != nil {
			return fmt.Errorf("store: add section %q: %w", s.Slug, err)
		}
		if n > 0 {
			return fmt.Errorf("store: add section %q: %w", s.Slug, ErrExists)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO sections (slug, title, description, position) VALUES (?, ?, ?, ?)`,
			s.Slug, s.Title, s.Description, s.Position); err != nil {
			return fmt.Errorf("store: add section %q: %w", s.Slug, err)
		}
		return bumpVersion(ctx, tx, db.now())
	})
}

// Sections returns every section ordered by position, then slug.
func (db *DB) Sections(ctx context.Context) ([]news.Section, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT slug, title, description, position FROM sections ORDER BY position, slug`)
	if err != nil {
		return nil, fmt.Errorf("store: sections: %w", err)
	}
	defer rows.Close()
	var out []news.Section
	for rows.Next() {
		var s news.Section
		if err := rows.Scan(&s.Slug, &s.Title, &s.Description, &s.Position); err != nil {
			return nil, fmt.Errorf("store: sections: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sections: %w", err)
	}
	return out, nil
}

// Section returns the section with the given slug, or an error wrapping
// ErrNotFound.
func (db *DB) Section(ctx context.Context, slug string) (news.Section, error) {
	s := news.Section{Slug: slug}
	err := db.read.QueryRowContext(ctx,
		`SELECT title, description, position FROM sections WHERE slug = ?`, slug).
		Scan(&s.Title, &s.Description, &s.Position)
	if errors.Is(err, sql.ErrNoRows) {
		return news.Section{}, fmt.Errorf("store: section %q: %w", slug, ErrNotFound)
	}
	if err != nil {
		return news.Section{}, fmt.Errorf("store: section %q: %w", slug, err)
	}
	return s, nil
}

// bumpVersion marks that feed content may have changed at now; see
// ChangeMark and ArticlesChangedAt.
func bumpVersion(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if _, err := tx.ExecContext(ctx,
		`UPDATE store_state SET articles_version = articles_version + 1, articles_changed_at = ? WHERE id = 1`,
		now.Unix()); err != nil {
		return fmt.Errorf("store: bump version: %w", err)
	}
	return nil
}
