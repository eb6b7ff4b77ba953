package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressroom/pressroom/digest"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

// The archive handlers run over a real SQLite store (a test-only import)
// holding editions planned by digest.Planner.

func archiveServer(t *testing.T, withDigest bool) (*httptest.Server, *store.DB) {
	t.Helper()
	ctx := context.Background()
	msk := time.FixedZone("MSK", 3*3600)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "web.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range []news.Section{{Slug: "politics", Title: "Politics", Position: 1}, {Slug: "culture", Title: "Культура", Position: 2}} {
		if err := db.AddSection(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.ImportArticles(ctx, time.Date(2017, 1, 29, 9, 0, 0, 0, msk), func(put func(news.Article) error) error {
		for _, a := range []news.Article{
			{ID: "p1", URL: "https://press.example.com/politics/p1", Section: "politics", Title: "Kremlin & White House talk", Lead: "An hour.", BodyHTML: "<p>x</p>", PublishedAt: time.Date(2017, 1, 29, 6, 0, 0, 0, msk), TopStory: true},
			{ID: "c1", URL: "https://press.example.com/culture/c1", Section: "culture", Title: "Большой театр", BodyHTML: "<p>x</p>", PublishedAt: time.Date(2017, 1, 29, 5, 0, 0, 0, msk)},
			{ID: "c2", URL: "https://press.example.com/culture/c2", Section: "culture", Title: "Next day", BodyHTML: "<p>x</p>", PublishedAt: time.Date(2017, 1, 30, 5, 0, 0, 0, msk)},
		} {
			if err := put(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	planner, err := digest.NewPlanner(db, digest.PlanOptions{Location: msk})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"2017-01-29", "2017-01-30"} {
		day, _ := time.ParseInLocation("2006-01-02", d, msk)
		if _, err := planner.Plan(ctx, d, day.Add(9*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{Store: db, BaseURL: "https://press.example.com", Location: msk}
	if withDigest {
		r, err := digest.NewRenderer(digest.Options{BaseURL: "https://press.example.com", PostalAddress: "1 Press St, Moscow", Location: msk})
		if err != nil {
			t.Fatal(err)
		}
		opts.Digest = &DigestOptions{Renderer: r}
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, db
}

func fetchURL(t *testing.T, url string, h http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestDigestArchive(t *testing.T) {
	srv, _ := archiveServer(t, true)

	resp, body := fetchURL(t, srv.URL+"/digest/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /digest/ = %d", resp.StatusCode)
	}
	i29, i30 := strings.Index(body, `href="/digest/2017-01-29"`), strings.Index(body, `href="/digest/2017-01-30"`)
	if i29 < 0 || i30 < 0 || i30 > i29 {
		t.Errorf("GET /digest/ does not list both editions newest first:\n%s", body)
	}
	if !strings.Contains(body, "2 stories, led by “Kremlin &amp; White House talk”") {
		t.Errorf("GET /digest/ lacks the 29th's summary:\n%s", body)
	}

	resp, body = fetchURL(t, srv.URL+"/digest/2017-01-29", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /digest/2017-01-29 = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`href="https://press.example.com/politics/p1"`, `href="https://press.example.com/culture/c1"`, "Большой театр", "web archive"} {
		if !strings.Contains(body, want) {
			t.Errorf("edition page lacks %q", want)
		}
	}
	for _, no := range []string{"/culture/c2", "nsubscribe"} {
		if strings.Contains(body, no) {
			t.Errorf("edition page contains %q", no)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script") {
		t.Errorf("edition CSP = %q, want no scripts", csp)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatalf("edition page has no ETag")
	}
	resp, _ = fetchURL(t, srv.URL+"/digest/2017-01-29", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", resp.StatusCode)
	}

	for _, tc := range []struct{ path, want string }{
		{"/digest/2017-01-31", "There is no press review of 2017-01-31"},
		{"/digest/29.01.2017", "not an edition date"},
		{"/digest/2017-02-30", "not an edition date"},
	} {
		resp, body := fetchURL(t, srv.URL+tc.path, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s = %d, want 404 saying %q; body:\n%s", tc.path, resp.StatusCode, tc.want, body)
		}
	}
}

func TestDigestArchiveOff(t *testing.T) {
	srv, _ := archiveServer(t, false)
	for _, p := range []string{"/digest/", "/digest/2017-01-29"} {
		if resp, _ := fetchURL(t, srv.URL+p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without the archive = %d, want 404", p, resp.StatusCode)
		}
	}
}
