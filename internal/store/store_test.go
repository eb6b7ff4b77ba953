package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

func TestOpenMigratesFreshFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fresh.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := store.LatestSchemaVersion(); v != want || want < 1 {
		t.Errorf("SchemaVersion = %d, want %d (>= 1)", v, want)
	}
	// Every pooled connection has the DSN pragmas.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var pageSize int
	if err := raw.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	if pageSize != 16384 {
		t.Errorf("page_size = %d, want 16384", pageSize)
	}
	for _, table := range []string{"sections", "articles", "article_views", "subscribers", "editions", "deliveries", "schema_migrations"} {
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
}

func TestMigrateIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := store.Open(ctx, path, store.Options{SkipMigrate: true})
	if err != nil {
		t.Fatalf("Open(SkipMigrate): %v", err)
	}
	from, to, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if from != 0 || to != store.LatestSchemaVersion() {
		t.Errorf("first Migrate = %d, %d, want 0, %d", from, to, store.LatestSchemaVersion())
	}
	if err := db.AddSection(ctx, testSections[0]); err != nil {
		t.Fatal(err)
	}
	before := dump(t, path)
	from, to, err = db.Migrate(ctx)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if from != to || to != store.LatestSchemaVersion() {
		t.Errorf("second Migrate = %d, %d, want %d, %d", from, to, to, to)
	}
	db.Close()
	// Reopening applies nothing either.
	db, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if diff := cmp.Diff(before, dump(t, path)); diff != "" {
		t.Errorf("data changed by repeated migration (-before +after):\n%s", diff)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	newer := store.LatestSchemaVersion() + 1
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)`, newer); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	for _, skip := range []bool{false, true} {
		db, err := store.Open(ctx, path, store.Options{SkipMigrate: skip})
		if err == nil {
			db.Close()
			t.Fatalf("Open(SkipMigrate=%v) of a newer database succeeded", skip)
		}
		msg := err.Error()
		for _, want := range []string{"newer", "version " + strconv.Itoa(newer), "version " + strconv.Itoa(store.LatestSchemaVersion())} {
			if !strings.Contains(msg, want) {
				t.Errorf("Open(SkipMigrate=%v) error %q does not mention %q", skip, msg, want)
			}
		}
	}
}

func TestOpenBadOptions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		path string
		opts store.Options
	}{
		{"", store.Options{}},
		{":memory:", store.Options{}},
		{filepath.Join(dir, "x.db"), store.Options{Synchronous: "sometimes"}},
		{filepath.Join(dir, "no-such-dir", "x.db"), store.Options{}},
	} {
		db, err := store.Open(ctx, tc.path, tc.opts)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q, %+v) succeeded, want error", tc.path, tc.opts)
		}
	}
}

func TestOpenPathWithQuestionMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd?name#1%.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	defer db.Close()
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the path given: %v", err)
	}
}

func TestSections(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	got, err := db.Sections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testSections, got); diff != "" {
		t.Errorf("Sections (-want +got):\n%s", diff)
	}
	err = db.AddSection(ctx, news.Section{Slug: "politics", Title: "Again"})
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("AddSection(existing) = %v, want ErrExists", err)
	}
	if err := db.AddSection(ctx, news.Section{Slug: "Bad Slug", Title: "x"}); err == nil {
		t.Error("AddSection(bad slug) succeeded")
	}
	// Same position: ordered by slug.
	if err := db.AddSection(ctx, news.Section{Slug: "aaa", Title: "A", Position: 7}); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Sections(ctx)
	if g := got[len(got)-2].Slug; g != "aaa" {
		t.Errorf("section before sport = %q, want aaa", g)
	}
	if _, err := db.Section(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Section(nope) = %v, want ErrNotFound", err)
	}
}

// sameArticle compares articles including each time's offset.
func sameArticle(t *testing.T, got, want news.Article) {
	t.Helper()
	opt := cmp.Comparer(func(a, b time.Time) bool {
		_, oa := a.Zone()
		_, ob := b.Zone()
		return a.Equal(b) && oa == ob
	})
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("article %s (-want +got):\n%s", want.ID, diff)
	}
}

func TestArticleRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	pub := time.Date(2017, 1, 29, 2, 41, 0, 0, msk)
	full := article(1, "politics", pub)
	full.UpdatedAt = time.Date(2017, 1, 29, 0, 0, 0, 0, time.UTC)
	full.Title = "Лавров: переговоры продолжатся"
	full.Image = &news.Image{URL: "https://example.com/i.jpg", Caption: "<b>Caption</b>", Credit: "TASS",
		Type: "image/jpeg", Width: 1200, Height: 800, Length: 12345}
	full.Related = []news.Link{{Title: "Earlier", URL: "https://example.com/0"}, {Title: "Другое", URL: "http://example.org/x"}}
	full.TopStory = true
	// Strings that look like the JSON around them must survive.
	full.Authors = []string{`Ivan "Vanya" Petrov`, `x","y`, "<b>Anna</b> & Co", "Иван\\Петров"}
	full.Tags = []string{"politics", "США", `a"]`}
	full.Related = append(full.Related, news.Link{Title: `x","url":"y"},{"title":"z`, URL: "https://example.com/q"},
		news.Link{Title: "{title:} ]", URL: "https://example.com/r"})
	bare := news.Article{ID: "bare", URL: "https://example.com/bare", Section: "world", Title: "T",
		BodyHTML: "<p>b</p>", PublishedAt: time.Date(2017, 1, 28, 10, 0, 0, 0, time.UTC)}

	c := importAll(t, db, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), full, bare)
	if c != (store.ImportCounts{Inserted: 2}) {
		t.Errorf("counts = %+v, want 2 inserted", c)
	}
	got, err := db.Article(ctx, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameArticle(t, got, full)
	got, err = db.Article(ctx, "bare")
	if err != nil {
		t.Fatal(err)
	}
	bare.UpdatedAt = bare.PublishedAt // a new article's updated_at defaults to publication
	sameArticle(t, got, bare)

	if _, err := db.Article(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Article(missing) = %v, want ErrNotFound", err)
	}
}

func TestImportUpsertSemantics(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	pub := time.Date(2017, 1, 29, 9, 0, 0, 0, msk)
	t0 := time.Date(2017, 1, 29, 12, 0, 0, 0, time.UTC)
	a1, a2, a3 := article(1, "politics", pub), article(2, "world", pub), article(3, "sport", pub)

	if c := importAll(t, db, t0, a1, a2, a3); c != (store.ImportCounts{Inserted: 3}) {
		t.Fatalf("first import counts = %+v", c)
	}

	// Same content again: unchanged, updated_at stays.
	t1 := t0.Add(time.Hour)
	if c := importAll(t, db, t1, a1, a2, a3); c != (store.ImportCounts{Unchanged: 3}) {
		t.Errorf("re-import counts = %+v, want 3 unchanged", c)
	}
	got, _ := db.Article(ctx, a1.ID)
	if !got.UpdatedAt.Equal(pub) {
		t.Errorf("unchanged article updated_at = %v, want %v", got.UpdatedAt, pub)
	}

	// Content change without updated_at: updated_at becomes the import time.
	t2 := t0.Add(2 * time.Hour)
	a1b := a1
	a1b.Title = "New title"
	// updated_at given explicitly and content unchanged: still an update.
	a2b := a2
	a2b.UpdatedAt = time.Date(2017, 1, 29, 13, 30, 0, 0, msk)
	c := importAll(t, db, t2, a1b, a2b, a3)
	if want := (store.ImportCounts{Updated: 2, Unchanged: 1}); c != want {
		t.Errorf("update counts = %+v, want %+v", c, want)
	}
	got, _ = db.Article(ctx, a1.ID)
	if got.Title != "New title" || !got.UpdatedAt.Equal(t2) {
		t.Errorf("changed article = %q updated %v, want %q updated %v", got.Title, got.UpdatedAt, "New title", t2)
	}
	got, _ = db.Article(ctx, a2.ID)
	if !got.UpdatedAt.Equal(a2b.UpdatedAt) {
		t.Errorf("explicit updated_at = %v, want %v", got.UpdatedAt, a2b.UpdatedAt)
	}
	// Same explicit updated_at again: unchanged.
	if c := importAll(t, db, t2.Add(time.Hour), a2b); c != (store.ImportCounts{Unchanged: 1}) {
		t.Errorf("re-import with same updated_at counts = %+v", c)
	}
	// Sending it again without updated_at and same content: unchanged, stored time kept.
	if c := importAll(t, db, t2.Add(time.Hour), a2); c != (store.ImportCounts{Unchanged: 1}) {
		t.Errorf("re-import without updated_at counts = %+v", c)
	}
	got, _ = db.Article(ctx, a2.ID)
	if !got.UpdatedAt.Equal(a2b.UpdatedAt) {
		t.Errorf("updated_at after no-op = %v, want %v", got.UpdatedAt, a2b.UpdatedAt)
	}

	// Every content field counts as content.
	changes := map[string]func(*news.Article){
		"url":       func(a *news.Article) { a.URL += "?v=2" },
		"section":   func(a *news.Article) { a.Section = "economy" },
		"lead":      func(a *news.Article) { a.Lead = "" },
		"body":      func(a *news.Article) { a.BodyHTML += " " },
		"dateline":  func(a *news.Article) { a.Dateline = "KAZAN" },
		"authors":   func(a *news.Article) { a.Authors = append(a.Authors, "B") },
		"published": func(a *news.Article) { a.PublishedAt = a.PublishedAt.Add(time.Second) },
		"offset":    func(a *news.Article) { a.PublishedAt = a.PublishedAt.UTC() },
		"image":     func(a *news.Article) { a.Image = &news.Image{URL: "https://e.com/i.png"} },
		"related":   func(a *news.Article) { a.Related = []news.Link{{Title: "x", URL: "https://e.com/"}} },
		"tags":      func(a *news.Article) { a.Tags = a.Tags[:1] },
		"top":       func(a *news.Article) { a.TopStory = true },
	}
	for name, change := range changes {
		b := a3
		change(&b)
		if c := importAll(t, db, t2, b); c != (store.ImportCounts{Updated: 1}) {
			t.Errorf("change %s: counts = %+v, want 1 updated", name, c)
		}
		if c := importAll(t, db, t2, a3); c != (store.ImportCounts{Updated: 1}) {
			t.Errorf("change %s back: counts = %+v, want 1 updated", name, c)
		}
	}
}

func TestImportRollsBackOnError(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	pub := time.Date(2017, 1, 29, 9, 0, 0, 0, msk)
	importAll(t, db, pub, article(1, "politics", pub))
	before := dump(t, path)
	hashBefore := fileHash(t, db, path)

	boom := errors.New("boom")
	bad := article(9, "politics", pub)
	bad.URL = "/relative"
	for _, tc := range []struct {
		name string
		fill func(put func(news.Article) error) error
	}{
		{"fill error after puts", func(put func(news.Article) error) error {
			for i := 2; i < 500; i++ {
				if err := put(article(i, "world", pub)); err != nil {
					return err
				}
			}
			return boom
		}},
		{"invalid article", func(put func(news.Article) error) error {
			if err := put(article(2, "world", pub)); err != nil {
				return err
			}
			return put(bad)
		}},
		{"unknown section", func(put func(news.Article) error) error {
			return put(article(3, "nosuch", pub))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := db.ImportArticles(ctx, pub, tc.fill)
			if err == nil {
				t.Fatal("ImportArticles succeeded, want error")
			}
			if c != (store.ImportCounts{}) {
				t.Errorf("counts after failure = %+v, want zero", c)
			}
			if diff := cmp.Diff(before, dump(t, path)); diff != "" {
				t.Errorf("database changed (-before +after):\n%s", diff)
			}
			if h := fileHash(t, db, path); h != hashBefore {
				t.Errorf("file hash changed after failed import")
			}
		})
	}
	var fe *news.FieldError
	_, err := db.ImportArticles(ctx, pub, func(put func(news.Article) error) error { return put(article(3, "nosuch", pub)) })
	if !errors.As(err, &fe) || fe.Field != "section" {
		t.Errorf("unknown section error = %v, want a FieldError for section", err)
	}
}

func TestLatestArticlesAndEmbargo(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	base := time.Date(2017, 1, 29, 0, 0, 0, 0, time.UTC)
	var as []news.Article
	for i := 1; i <= 10; i++ {
		sec := "politics"
		if i%2 == 0 {
			sec = "world"
		}
		as = append(as, article(i, sec, base.Add(time.Duration(i)*time.Hour)))
	}
	// Two articles at the same instant: ties by id ascending.
	as = append(as, article(20, "politics", base.Add(5*time.Hour)))
	importAll(t, db, base, as...)
	now := base.Add(7 * time.Hour) // 8, 9, 10 are embargoed

	for _, tc := range []struct {
		section string
		limit   int
		want    []string
	}{
		{"", 100, []string{"000007", "000006", "000005", "000020", "000004", "000003", "000002", "000001"}},
		{"", 3, []string{"000007", "000006", "000005"}},
		{"politics", 100, []string{"000007", "000005", "000020", "000003", "000001"}},
		{"world", 2, []string{"000006", "000004"}},
		{"sport", 10, nil},
	} {
		got, err := db.LatestArticles(ctx, tc.section, tc.limit, now)
		if err != nil {
			t.Fatalf("LatestArticles(%q, %d): %v", tc.section, tc.limit, err)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" && !(len(tc.want) == 0 && len(got) == 0) {
			t.Errorf("LatestArticles(%q, %d) (-want +got):\n%s", tc.section, tc.limit, diff)
		}
	}
	// The embargo lifts exactly at published_at.
	got, _ := db.LatestArticles(ctx, "", 1, base.Add(10*time.Hour))
	if diff := cmp.Diff([]string{"000010"}, ids(got)); diff != "" {
		t.Errorf("at publication instant (-want +got):\n%s", diff)
	}
	if _, err := db.LatestArticles(ctx, "nosuch", 5, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestArticles(nosuch) = %v, want ErrNotFound", err)
	}
	if _, err := db.LatestArticles(ctx, "", 0, now); err == nil {
		t.Error("LatestArticles(limit 0) succeeded")
	}
}

func TestTopStories(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	base := time.Date(2017, 1, 29, 0, 0, 0, 0, time.UTC)
	var as []news.Article
	for i := 1; i <= 6; i++ {
		a := article(i, "economy", base.Add(time.Duration(i)*time.Hour))
		a.TopStory = i%2 == 1
		as = append(as, a)
	}
	importAll(t, db, base, as...)
	got, err := db.TopStories(ctx, 10, base.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"000003", "000001"}, ids(got)); diff != "" {
		t.Errorf("TopStories (-want +got):\n%s", diff)
	}
	got, _ = db.TopStories(ctx, 1, base.Add(24*time.Hour))
	if diff := cmp.Diff([]string{"000005"}, ids(got)); diff != "" {
		t.Errorf("TopStories limit 1 (-want +got):\n%s", diff)
	}
}

func TestArticlesBetween(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	day := time.Date(2017, 1, 29, 0, 0, 0, 0, msk)
	a := func(n int, sec string, h int, top bool) news.Article {
		x := article(n, sec, day.Add(time.Duration(h)*time.Hour))
		x.TopStory = top
		return x
	}
	importAll(t, db, day,
		a(1, "sport", 10, false),
		a(2, "politics", 9, false),
		a(3, "politics", 11, false),
		a(4, "politics", 8, true),
		a(5, "world", 12, false),
		a(6, "world", 24, false), // exactly at the end: included
		a(7, "world", 0, false),  // exactly at the start: excluded
		a(8, "economy", 30, true),
	)
	got, err := db.ArticlesBetween(ctx, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"000004", "000003", "000002", "000006", "000005", "000001"}
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("ArticlesBetween (-want +got):\n%s", diff)
	}
}

func TestDeleteArticleAndChangeMark(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	base := time.Date(2017, 1, 29, 0, 0, 0, 0, time.UTC)
	now := base.Add(time.Hour)
	importAll(t, db, base, article(1, "politics", base), article(2, "politics", base.Add(2*time.Hour)))
	m1, err := db.ChangeMark(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := db.ChangeMark(ctx, now); m != m1 {
		t.Errorf("ChangeMark not stable: %q then %q", m1, m)
	}
	// An embargo lifting changes the mark.
	m2, _ := db.ChangeMark(ctx, base.Add(2*time.Hour))
	if m2 == m1 {
		t.Errorf("ChangeMark did not change when article 2 became visible: %q", m2)
	}
	// An unchanged re-import does not.
	importAll(t, db, now, article(1, "politics", base))
	if m, _ := db.ChangeMark(ctx, now); m != m1 {
		t.Errorf("ChangeMark changed on a no-op import: %q -> %q", m1, m)
	}
	// An update does.
	b := article(1, "politics", base)
	b.Title = "Changed"
	importAll(t, db, now, b)
	m3, _ := db.ChangeMark(ctx, now)
	if m3 == m1 {
		t.Errorf("ChangeMark unchanged after an update: %q", m3)
	}
	if err := db.DeleteArticle(ctx, "000001"); err != nil {
		t.Fatal(err)
	}
	if m, _ := db.ChangeMark(ctx, now); m == m3 {
		t.Errorf("ChangeMark unchanged after a delete: %q", m)
	}
	if _, err := db.Article(ctx, "000001"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Article after delete = %v, want ErrNotFound", err)
	}
	if err := db.DeleteArticle(ctx, "000001"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteArticle = %v, want ErrNotFound", err)
	}
}
