package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

// storeState reads store_state's row of the database file at path through
// a separate connection.
func storeState(t *testing.T, path string) (version, changedAt int64) {
	t.Helper()
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.QueryRow(`SELECT articles_version, articles_changed_at FROM store_state WHERE id = 1`).Scan(&version, &changedAt); err != nil {
		t.Fatal(err)
	}
	return version, changedAt
}

// TestArticlesChangedAt: every write that raises articles_version dates
// the change in the same transaction (imports with the now they are given,
// the others with Options.Now); a write that changes nothing leaves both
// alone; an embargo lifting counts as a change.
func TestArticlesChangedAt(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := base
	path := filepath.Join(t.TempDir(), "changed.db")
	db, err := store.Open(ctx, path, store.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	lastVersion, _ := storeState(t, path)
	step := func(name string, want time.Time, write func()) {
		t.Helper()
		write()
		v, at := storeState(t, path)
		if v != lastVersion+1 {
			t.Errorf("%s: articles_version = %d, want %d", name, v, lastVersion+1)
		}
		if at != want.Unix() {
			t.Errorf("%s: articles_changed_at = %s, want %s", name, time.Unix(at, 0).UTC(), want)
		}
		lastVersion = v
	}

	clock = base.Add(time.Minute)
	step("add section", clock, func() {
		if err := db.AddSection(ctx, testSections[0]); err != nil {
			t.Fatal(err)
		}
	})
	// Imports use their now (fractions dropped), not Options.Now.
	importNow := base.Add(2*time.Minute + 500*time.Millisecond)
	step("import insert", base.Add(2*time.Minute), func() {
		importAll(t, db, importNow, article(1, "politics", base), article(2, "politics", base.Add(3*time.Hour)))
	})
	importNow = base.Add(4 * time.Minute)
	_, unchanged := storeState(t, path)
	importAll(t, db, importNow, article(1, "politics", base))
	if v, at := storeState(t, path); v != lastVersion || at != unchanged {
		t.Errorf("no-op import: state = %d, %d, want %d, %d unchanged", v, at, lastVersion, unchanged)
	}
	edited := article(1, "politics", base)
	edited.Title = "Corrected"
	step("import update", importNow, func() { importAll(t, db, importNow, edited) })
	clock = base.Add(5 * time.Minute)
	step("import views", clock, func() {
		if _, err := db.ImportViews(ctx, func(put func(news.ViewCount) error) error {
			return put(news.ViewCount{ArticleID: "000001", At: base, Count: 7})
		}); err != nil {
			t.Fatal(err)
		}
	})
	clock = base.Add(6 * time.Minute)
	step("delete", clock, func() {
		if err := db.DeleteArticle(ctx, "000001"); err != nil {
			t.Fatal(err)
		}
	})

	// ArticlesChangedAt: the last write, or a later embargo lifting
	// (article 2 becomes visible at 12:00).
	for _, tt := range []struct {
		now, want time.Time
	}{
		{base.Add(time.Hour), base.Add(6 * time.Minute)},
		{base.Add(3 * time.Hour), base.Add(3 * time.Hour)},
		{base.Add(5 * time.Hour), base.Add(3 * time.Hour)},
	} {
		got, err := db.ArticlesChangedAt(ctx, tt.now)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ArticlesChangedAt(%s) = %s, want %s", tt.now, got, tt.want)
		}
	}
}

// TestMigrate0007 opens a database left at schema version 6 with data in
// it: the migration dates the unknown past changes when it runs (never
// earlier than a retraction that may just have happened) and keeps
// everything else.
func TestMigrate0007(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v6.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) < 7 {
		t.Fatalf("migrations = %v, want at least 7", files)
	}
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i, f := range files[:6] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)`, i+1, filepath.Base(f)); err != nil {
			t.Fatal(err)
		}
	}
	// A version-6 database with a section and a version raised by past
	// writes.
	for _, q := range []string{
		`INSERT INTO sections (slug, title, description, position) VALUES ('politics', 'Politics', '', 1)`,
		`UPDATE store_state SET articles_version = 41 WHERE id = 1`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	before := time.Now().Unix()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("Open of a version-6 database: %v", err)
	}
	defer db.Close()
	after := time.Now().Unix()
	if v, err := db.SchemaVersion(ctx); err != nil || v != 7 {
		t.Fatalf("SchemaVersion = %d, %v, want 7", v, err)
	}
	v, at := storeState(t, path)
	if v != 41 {
		t.Errorf("articles_version = %d after the migration, want 41 kept", v)
	}
	if at < before || at > after {
		t.Errorf("articles_changed_at = %d, want the migration time in [%d, %d]", at, before, after)
	}
	if _, err := db.Section(ctx, "politics"); err != nil {
		t.Errorf("section lost by the migration: %v", err)
	}
	got, err := db.ArticlesChangedAt(ctx, time.Unix(after, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got.Unix() != at {
		t.Errorf("ArticlesChangedAt = %d, want the migration time %d", got.Unix(), at)
	}
}
