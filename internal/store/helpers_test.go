package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

// testSections are the demo's sections (a subset), in position order.
var testSections = []news.Section{
	{Slug: "politics", Title: "Russian Politics & Diplomacy", Position: 1},
	{Slug: "world", Title: "World", Position: 2},
	{Slug: "economy", Title: "Business & Economy", Position: 3},
	{Slug: "sport", Title: "Sport", Position: 7},
}

var msk = time.FixedZone("", 3*3600)

// openDB opens a fresh database file with testSections.
func openDB(t testing.TB) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range testSections {
		if err := db.AddSection(context.Background(), s); err != nil {
			t.Fatalf("AddSection(%q): %v", s.Slug, err)
		}
	}
	return db, path
}

// article returns a valid article n in section sec published at pub.
func article(n int, sec string, pub time.Time) news.Article {
	id := fmt.Sprintf("%06d", n)
	return news.Article{
		ID:          id,
		URL:         "https://example.com/" + sec + "/" + id,
		Section:     sec,
		Title:       "Title " + id,
		Lead:        "Lead " + id,
		BodyHTML:    "<p>Body " + id + "</p>",
		Dateline:    "MOSCOW",
		Authors:     []string{"Ivan Petrov"},
		PublishedAt: pub,
		Tags:        []string{"tag-a", "tag-b"},
	}
}

// importAll imports as in one call.
func importAll(t testing.TB, db *store.DB, now time.Time, as ...news.Article) store.ImportCounts {
	t.Helper()
	c, err := db.ImportArticles(context.Background(), now, func(put func(news.Article) error) error {
		for _, a := range as {
			if err := put(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ImportArticles: %v", err)
	}
	return c
}

// ids lists the ids of as.
func ids(as []news.Article) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// dump returns every row of every table of the database file at path, read
// through a separate connection, as text: two equal dumps mean equal data.
func dump(t testing.TB, path string) string {
	t.Helper()
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, tb := range tables {
		fmt.Fprintf(&b, "== %s\n", tb)
		r, err := c.Query(`SELECT * FROM "` + tb + `" ORDER BY 1, 2`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for r.Next() {
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = hex.EncodeToString(bs)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteByte('\n')
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	return b.String()
}

// fileHash checkpoints db and hashes its main file.
func fileHash(t testing.TB, db *store.DB, path string) string {
	t.Helper()
	if err := db.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
