package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// fakeStore is an in-memory CoreStore for handler tests; the end-to-end
// tests in cmd/pressroom run the same handlers over a real SQLite store.
type fakeStore struct {
	mu        sync.Mutex
	pingErr   error
	sections  []news.Section
	articles  map[string][]news.Article
	gotNow    time.Time
	panicWith any
}

func (f *fakeStore) Ping(context.Context) error { return f.pingErr }

func (f *fakeStore) Sections(context.Context) ([]news.Section, error) {
	if f.panicWith != nil {
		panic(f.panicWith)
	}
	return f.sections, nil
}

func (f *fakeStore) LatestArticles(_ context.Context, section string, limit int, now time.Time) ([]news.Article, error) {
	f.mu.Lock()
	f.gotNow = now
	f.mu.Unlock()
	a := f.articles[section]
	if len(a) > limit {
		a = a[:limit]
	}
	return a, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var fixedNow = time.Date(2017, 1, 29, 12, 0, 0, 0, time.UTC)

func demoStore(t *testing.T) *fakeStore {
	t.Helper()
	msk := time.FixedZone("MSK", 3*3600)
	return &fakeStore{
		sections: []news.Section{
			{Slug: "politics", Title: "Russian Politics & Diplomacy", Description: "Kremlin, parliament, foreign policy", Position: 1},
			{Slug: "sport", Title: "Sport", Position: 7},
		},
		articles: map[string][]news.Article{
			"politics": {
				{ID: "2", URL: "https://tass.com/politics/2", Section: "politics", Title: "Лавров: переговоры <продолжатся>", PublishedAt: time.Date(2017, 1, 29, 10, 5, 0, 0, msk), TopStory: true},
				{ID: "1", URL: "https://tass.com/politics/1", Section: "politics", Title: "Putin & Trump talk by phone", PublishedAt: time.Date(2017, 1, 28, 21, 0, 0, 0, time.UTC)},
			},
		},
	}
}

func newTestServer(t *testing.T, st Store) (*Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		Store:    st,
		Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
		BaseURL:  "https://news.example.com/",
		Location: moscow,
		Now:      func() time.Time { return fixedNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

func get(t *testing.T, h http.Handler, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIndexListsSectionsAndHeadlines(t *testing.T) {
	st := demoStore(t)
	s, _ := newTestServer(t, st)
	resp := get(t, s, "/", nil)
	got := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d, want 200; body:\n%s", resp.StatusCode, got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	for _, want := range []string{
		`<html lang="en">`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<title>Pressroom</title>`,
		`<h2 id="s-politics">Russian Politics &amp; Diplomacy</h2>`,
		`Kremlin, parliament, foreign policy`,
		// Cyrillic kept, markup in a title escaped.
		`<a href="https://tass.com/politics/2">Лавров: переговоры &lt;продолжатся&gt;</a>`,
		// Times shown in the newsroom's zone (Moscow), machine-readable in the original offset.
		`<time datetime="2017-01-29T10:05:00&#43;03:00">29 Jan 2017, 10:05</time>`,
		`<time datetime="2017-01-28T21:00:00Z">29 Jan 2017, 00:00</time>`,
		`Top story`,
		`<h2 id="s-sport">Sport</h2>`,
		`No articles published yet.`,
		`<link rel="stylesheet" href="/static/style.css?v=`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("index page lacks %q; page:\n%s", want, got)
		}
	}
	if strings.Index(got, "s-politics") > strings.Index(got, "s-sport") {
		t.Error("sections not in the store's order")
	}
	if !st.gotNow.Equal(fixedNow) {
		t.Errorf("LatestArticles got now = %v, want the server's clock %v", st.gotNow, fixedNow)
	}
}

func TestIndexWithoutSections(t *testing.T) {
	s, _ := newTestServer(t, &fakeStore{})
	got := body(t, get(t, s, "/", nil))
	if !strings.Contains(got, "No sections yet") {
		t.Errorf("empty index page lacks the hint; page:\n%s", got)
	}
}

func TestHealthz(t *testing.T) {
	st := demoStore(t)
	s, logs := newTestServer(t, st)
	resp := get(t, s, "/healthz", nil)
	if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", resp.StatusCode, got)
	}
	st.pingErr = errors.New("sqlite: database is closed")
	resp = get(t, s, "/healthz", nil)
	if got := body(t, resp); resp.StatusCode != http.StatusServiceUnavailable || got != "database unavailable\n" {
		t.Errorf("GET /healthz with a dead DB = %d %q, want 503", resp.StatusCode, got)
	}
	if !strings.Contains(logs.String(), "database is closed") {
		t.Errorf("the ping error was not logged; log:\n%s", logs)
	}
}

func TestStylesheet(t *testing.T) {
	s, _ := newTestServer(t, demoStore(t))
	resp := get(t, s, s.pages.styleURL, nil)
	css := body(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(css, "prefers-color-scheme") {
		t.Fatalf("GET %s = %d %q", s.pages.styleURL, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned stylesheet Cache-Control = %q", cc)
	}
	etag := resp.Header.Get("ETag")
	resp = get(t, s, "/static/style.css", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", resp.StatusCode)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newTestServer(t, demoStore(t))
	for _, path := range []string{"/nope", "/static/other.css"} {
		if resp := get(t, s, path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", rec.Code)
	}
}

func TestErrorPageTemplate(t *testing.T) {
	s, _ := newTestServer(t, demoStore(t))
	rec := httptest.NewRecorder()
	s.errorPage(rec, httptest.NewRequest(http.MethodGet, "/x", nil), http.StatusBadRequest, "This link is not valid.")
	got := rec.Body.String()
	if rec.Code != http.StatusBadRequest || !strings.Contains(got, "<h1>Bad Request</h1>") || !strings.Contains(got, "This link is not valid.") || !strings.Contains(got, "<title>Bad Request · Pressroom</title>") {
		t.Errorf("errorPage = %d:\n%s", rec.Code, got)
	}
}

// pageSamples holds a representative view model for every page template.
// A feature adding a page adds its sample here.
var pageSamples = map[string]any{
	"index.html": []indexSection{{
		Section:   news.Section{Slug: "world", Title: "World", Description: "Everywhere else"},
		Headlines: []news.Article{{ID: "1", URL: "https://tass.com/world/1", Title: "Headline", PublishedAt: fixedNow, TopStory: true}},
	}},
	"error.html": errorData{Status: 404, Message: "No such page."},
}

// TestEveryPageTemplateExecutes renders each page template with its
// sample: a template referring to a missing field fails here, not in
// front of a reader.
func TestEveryPageTemplateExecutes(t *testing.T) {
	s, _ := newTestServer(t, demoStore(t))
	if len(s.pages.tmpl) == 0 {
		t.Fatal("no page templates parsed")
	}
	for name, tmpl := range s.pages.tmpl {
		data, ok := pageSamples[name]
		if !ok {
			t.Errorf("%s: no sample view model in pageSamples", name)
			continue
		}
		var buf bytes.Buffer
		p := Page{Site: "Pressroom", Title: name, StyleURL: "/static/style.css", Data: data,
			Alternates: []Alternate{{Type: "application/rss+xml", Title: "All news", Href: "/feeds/all.rss"}}}
		if err := tmpl.ExecuteTemplate(&buf, "layout", p); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := buf.String()
		if !strings.Contains(got, "</html>") || !strings.Contains(got, `<link rel="alternate" type="application/rss+xml" title="All news" href="/feeds/all.rss">`) {
			t.Errorf("%s: incomplete page:\n%s", name, got)
		}
	}
}

func TestRequestLogging(t *testing.T) {
	s, logs := newTestServer(t, demoStore(t))
	resp := get(t, s, "/healthz?t=SECRET-TOKEN", nil)
	id := resp.Header.Get("X-Request-Id")
	if len(id) != 16 {
		t.Errorf("X-Request-Id = %q, want 16 hex digits", id)
	}
	resp = get(t, s, "/", http.Header{"X-Request-Id": {"proxy-id-42"}})
	if got := resp.Header.Get("X-Request-Id"); got != "proxy-id-42" {
		t.Errorf("a proxy's request id was replaced by %q", got)
	}
	resp = get(t, s, "/", http.Header{"X-Request-Id": {"evil\" id with spaces"}})
	if got := resp.Header.Get("X-Request-Id"); len(got) != 16 {
		t.Errorf("an unsafe incoming request id was kept: %q", got)
	}
	if strings.Contains(logs.String(), "SECRET-TOKEN") {
		t.Errorf("the query string was logged:\n%s", logs)
	}
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["msg"] == "HTTP request" {
			recs = append(recs, m)
		}
	}
	if len(recs) != 3 {
		t.Fatalf("%d request log lines, want 3:\n%s", len(recs), logs)
	}
	first := recs[0]
	if first["request_id"] != id || first["path"] != "/healthz" || first["route"] != "GET /healthz" || first["status"] != float64(200) || first["method"] != "GET" {
		t.Errorf("request log = %v", first)
	}
	if _, ok := first["duration"]; !ok {
		t.Errorf("request log has no duration: %v", first)
	}
	if recs[1]["request_id"] != "proxy-id-42" {
		t.Errorf("second request logged id %v", recs[1]["request_id"])
	}
}

func TestPanicBecomes500(t *testing.T) {
	st := demoStore(t)
	st.panicWith = "boom"
	s, logs := newTestServer(t, st)
	resp := get(t, s, "/", nil)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("GET / with a panicking store = %d, want 500", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), `"msg":"Handler panic"`) || !strings.Contains(logs.String(), `"status":500`) {
		t.Errorf("panic not logged:\n%s", logs)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{}); err == nil || !strings.Contains(err.Error(), "Store is required") {
		t.Errorf("New without a store = %v", err)
	}
	_, err := New(Options{Store: &fakeStore{}, BaseURL: "news.example.com"})
	if err == nil || !strings.Contains(err.Error(), `field "base_url": not an absolute URL`) {
		t.Errorf("New with a relative base URL = %v", err)
	}
}
