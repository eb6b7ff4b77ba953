package store_test

// End-to-end: ingest reading JSON Lines into a real database file, the way
// the CLI wires them.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/ingest"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

func importFile(db *store.DB, now time.Time, name string, r io.Reader) (store.ImportCounts, error) {
	ctx := context.Background()
	secs, err := db.Sections(ctx)
	if err != nil {
		return store.ImportCounts{}, err
	}
	return db.ImportArticles(ctx, now, func(put func(news.Article) error) error {
		_, err := ingest.Articles(r, name, secs, put)
		return err
	})
}

func importViewsFile(db *store.DB, name string, r io.Reader) (int, error) {
	return db.ImportViews(context.Background(), func(put func(news.ViewCount) error) error {
		_, err := ingest.Views(r, name, put)
		return err
	})
}

func jsonLine(t testing.TB, a news.Article) string {
	t.Helper()
	b, err := ingest.ArticleJSON(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestImportFileBadInputLeavesDatabaseUnchanged(t *testing.T) {
	db, path := openDB(t)
	pub := time.Date(2017, 1, 29, 2, 41, 0, 0, msk)
	now := pub.Add(time.Hour)
	var seed strings.Builder
	for i := 1; i <= 20; i++ {
		fmt.Fprintln(&seed, jsonLine(t, article(i, testSections[i%len(testSections)].Slug, pub.Add(time.Duration(i)*time.Minute))))
	}
	c, err := importFile(db, now, "seed.jsonl", strings.NewReader(seed.String()))
	if err != nil || c.Inserted != 20 {
		t.Fatalf("seed import = %+v, %v", c, err)
	}
	if _, err := importViewsFile(db, "v", strings.NewReader(`{"article_id":"000001","at":"2017-01-29T00:00:00Z","count":5}`)); err != nil {
		t.Fatal(err)
	}
	before := dump(t, path)
	hash := fileHash(t, db, path)

	// Every file starts with good lines (an update and a new article) so
	// that something was written before the bad line is found.
	changed := article(1, "world", pub)
	changed.Title = "changed"
	head := jsonLine(t, changed) + "\n" + jsonLine(t, article(100, "politics", pub)) + "\n"
	good := func(n int) string { return jsonLine(t, article(n, "politics", pub)) }
	for _, tc := range []struct {
		name, line, want string
	}{
		{"invalid JSON", `{"id":"x"`, `f.jsonl:3: invalid JSON`},
		{"missing field", strings.Replace(good(101), `"title":"Title 000101",`, "", 1), `f.jsonl:3: field "title": required`},
		{"bad time", strings.Replace(good(101), `2017-01-29T02:41:00+03:00`, `2017-01-29 02:41`, 1), `f.jsonl:3: field "published_at": not an RFC 3339 time`},
		{"unknown section", strings.Replace(good(101), `"section":"politics"`, `"section":"culture"`, 1), `f.jsonl:3: field "section": unknown section "culture" (known: politics, world, economy, sport)`},
		{"relative url", strings.Replace(good(101), `"url":"https://example.com/politics/000101"`, `"url":"/politics/000101"`, 1), `f.jsonl:3: field "url": not an absolute URL`},
		{"duplicate id", good(100), `f.jsonl:3: field "id": duplicate id "000100" (first on line 2)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := head + tc.line + "\n" + good(102) + "\n"
			c, err := importFile(db, now.Add(time.Hour), "f.jsonl", strings.NewReader(in))
			if err == nil {
				t.Fatalf("import succeeded: %+v", c)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %q, want prefix %q", err, tc.want)
			}
			if diff := cmp.Diff(before, dump(t, path)); diff != "" {
				t.Errorf("database changed (-before +after):\n%s", diff)
			}
			if h := fileHash(t, db, path); h != hash {
				t.Error("database file changed after failed import")
			}
		})
	}

	t.Run("views with unknown article", func(t *testing.T) {
		in := `{"article_id":"000002","at":"2017-01-29T00:00:00Z","count":5}
{"article_id":"nope","at":"2017-01-29T00:00:00Z","count":5}
`
		_, err := importViewsFile(db, "v.jsonl", strings.NewReader(in))
		if want := `v.jsonl:2: field "article_id": no article with id "nope"`; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("error %v does not wrap ErrNotFound", err)
		}
		if diff := cmp.Diff(before, dump(t, path)); diff != "" {
			t.Errorf("database changed (-before +after):\n%s", diff)
		}
	})
	t.Run("views with bad line", func(t *testing.T) {
		in := `{"article_id":"000002","at":"2017-01-29T00:00:00Z","count":5}
{"article_id":"000002","at":"2017-01-29T01:00:00Z","count":-1}
`
		if _, err := importViewsFile(db, "v.jsonl", strings.NewReader(in)); err == nil {
			t.Error("import succeeded")
		}
		if diff := cmp.Diff(before, dump(t, path)); diff != "" {
			t.Errorf("database changed (-before +after):\n%s", diff)
		}
	})
}

func TestImportFileCounts(t *testing.T) {
	db, _ := openDB(t)
	pub := time.Date(2017, 1, 29, 2, 41, 0, 0, msk)
	var b strings.Builder
	for i := 1; i <= 5; i++ {
		fmt.Fprintln(&b, jsonLine(t, article(i, "politics", pub)))
	}
	first := b.String()
	c, err := importFile(db, pub, "a", strings.NewReader(first))
	if err != nil || c != (store.ImportCounts{Inserted: 5}) {
		t.Fatalf("first = %+v, %v", c, err)
	}
	changed := article(2, "politics", pub)
	changed.Lead = "new lead"
	second := first + jsonLine(t, article(6, "sport", pub)) + "\n"
	second = strings.Replace(second, jsonLine(t, article(2, "politics", pub)), jsonLine(t, changed), 1)
	c, err = importFile(db, pub.Add(time.Hour), "a", strings.NewReader(second))
	if want := (store.ImportCounts{Inserted: 1, Updated: 1, Unchanged: 4}); err != nil || c != want {
		t.Errorf("second = %+v, %v; want %+v", c, err, want)
	}
}

func TestMostRead(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	day := time.Date(2017, 1, 29, 0, 0, 0, 0, time.UTC)
	importAll(t, db, day,
		article(1, "politics", day.Add(-48*time.Hour)),
		article(2, "world", day.Add(-time.Hour)),
		article(3, "sport", day.Add(2*time.Hour)),
		article(4, "economy", day.Add(30*time.Hour)), // published after the window
		article(5, "economy", day.Add(-time.Hour)),
	)
	views := `{"article_id":"000001","at":"2017-01-28T23:00:00Z","count":1000}
{"article_id":"000001","at":"2017-01-29T01:00:00Z","count":10}
{"article_id":"000001","at":"2017-01-29T05:00:00Z","count":10}
{"article_id":"000002","at":"2017-01-29T03:15:00Z","count":15}
{"article_id":"000002","at":"2017-01-30T00:00:00Z","count":1000}
{"article_id":"000003","at":"2017-01-29T23:59:00Z","count":30}
{"article_id":"000004","at":"2017-01-29T12:00:00Z","count":500}
{"article_id":"000005","at":"2017-01-29T12:00:00Z","count":20}
`
	n, err := importViewsFile(db, "v", strings.NewReader(views))
	if err != nil || n != 8 {
		t.Fatalf("ImportViews = %d, %v", n, err)
	}
	got, err := db.MostRead(ctx, day, day.Add(24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	// 3: 30; 1: 20 (older, ties with 5 broken by newest); 5: 20; 2: 15. 4 is not published by then.
	if diff := cmp.Diff([]string{"000003", "000005", "000001", "000002"}, ids(got)); diff != "" {
		t.Errorf("MostRead (-want +got):\n%s", diff)
	}
	got, _ = db.MostRead(ctx, day, day.Add(24*time.Hour), 1)
	if diff := cmp.Diff([]string{"000003"}, ids(got)); diff != "" {
		t.Errorf("MostRead limit 1 (-want +got):\n%s", diff)
	}
	// Re-importing replaces bucket counts instead of adding.
	if _, err := importViewsFile(db, "v", strings.NewReader(views)); err != nil {
		t.Fatal(err)
	}
	total, err := db.ArticleViews(ctx, "000001", day, day.Add(24*time.Hour))
	if err != nil || total != 20 {
		t.Errorf("ArticleViews after re-import = %d, %v; want 20", total, err)
	}
	// Deleting an article drops its views.
	if err := db.DeleteArticle(ctx, "000003"); err != nil {
		t.Fatal(err)
	}
	got, _ = db.MostRead(ctx, day, day.Add(24*time.Hour), 1)
	if diff := cmp.Diff([]string{"000005"}, ids(got)); diff != "" {
		t.Errorf("MostRead after delete (-want +got):\n%s", diff)
	}
}

// TestImportBatchedMatchesOneByOne checks that one import of many articles,
// which the store writes in batches, leaves the database exactly as
// importing the same articles one import each would: same rows, same seq
// order, same updated_at, same counts. The input crosses several batch
// boundaries and repeats ids both within a batch and across batches.
func TestImportBatchedMatchesOneByOne(t *testing.T) {
	ctx := context.Background()
	pub := time.Date(2017, 1, 29, 9, 0, 0, 0, msk)
	now := pub.Add(5 * time.Hour)
	var seed []news.Article
	for i := range 300 {
		seed = append(seed, article(i, testSections[i%len(testSections)].Slug, pub.Add(time.Duration(i)*time.Minute)))
	}
	var in []news.Article
	for i := range 900 {
		a := article(i, testSections[i%len(testSections)].Slug, pub.Add(time.Duration(i)*time.Minute))
		switch {
		case i >= 300: // new
		case i%3 == 1: // changed, updated_at from the import time
			a.Title = "Changed " + a.ID
		case i%3 == 2: // unchanged content, explicit updated_at
			a.UpdatedAt = a.PublishedAt.Add(time.Hour)
		}
		in = append(in, a)
		switch i {
		case 10, 400, 520: // the same id again in the same batch: changed, then as sent
			b := a
			b.Lead = "second copy"
			in = append(in, b, a)
		}
	}
	// Ids repeated a batch or more later: unchanged, changed, and a new
	// article from this very import changed.
	in = append(in, in[3], in[700])
	again := in[800]
	again.BodyHTML = "<p>rewritten</p>"
	in = append(in, again)

	oneByOne, pathA := openDB(t)
	batched, pathB := openDB(t)
	importAll(t, oneByOne, pub, seed...)
	importAll(t, batched, pub, seed...)
	var want store.ImportCounts
	for _, a := range in {
		c := importAll(t, oneByOne, now, a)
		want.Inserted += c.Inserted
		want.Updated += c.Updated
		want.Unchanged += c.Unchanged
	}
	got := importAll(t, batched, now, in...)
	if got != want {
		t.Errorf("batched counts = %+v, want %+v (one by one)", got, want)
	}
	if want.Inserted != 600 || want.Unchanged == 0 || want.Updated == 0 {
		t.Errorf("one-by-one counts %+v: the test does not exercise every case", want)
	}
	// The articles table only: the others hold migration times and the
	// change counter, which one import per article raises each time.
	articlesOf := func(d string) string {
		start := strings.Index(d, "== articles\n")
		end := strings.Index(d[start+1:], "\n== ")
		if start < 0 || end < 0 {
			t.Fatalf("no articles table in the dump:\n%s", d)
		}
		return d[start : start+1+end]
	}
	if diff := cmp.Diff(articlesOf(dump(t, pathA)), articlesOf(dump(t, pathB))); diff != "" {
		t.Errorf("articles after one import differ from one import per article (-one by one +batched):\n%s", diff)
	}
	n, err := batched.ArticleCount(ctx)
	if err != nil || n != 900 {
		t.Errorf("ArticleCount = %d, %v; want 900", n, err)
	}
}
