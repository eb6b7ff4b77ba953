package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mmcdole/gofeed"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	dto "github.com/prometheus/client_model/go"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// opsArticle is one import line for section sec.
func opsArticle(id, sec string, pub time.Time) string {
	return fmt.Sprintf(`{"id":%q,"url":"https://news.example.org/%s/%s","section":%q,"title":"Article %s","lead":"Lead %s","body_html":"<p>Body %s</p>","published_at":%q}`,
		id, sec, id, sec, id, id, id, pub.Format(time.RFC3339))
}

// createToken runs `tokens create NAME` and returns the token it prints.
func createToken(t *testing.T, db, name string) string {
	t.Helper()
	r := pressroom(t, "", "tokens", "create", "--db", db, name)
	r.want(t, 0)
	tok := strings.TrimSpace(r.stdout)
	if !regexp.MustCompile(`^prt_[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("tokens create printed %q, want prt_ and 43 base64url characters", r.stdout)
	}
	return tok
}

func TestTokensCommands(t *testing.T) {
	db := newsroom(t)
	cms := createToken(t, db, "cms")
	other := createToken(t, db, "backfill")
	if cms == other {
		t.Fatal("two tokens are equal")
	}
	pressroom(t, "", "tokens", "create", "--db", db, "cms").want(t, 1, `a token named "cms" exists already`)
	pressroom(t, "", "tokens", "create", "--db", db, "bad name").want(t, 2, `field "name"`)
	pressroom(t, "", "tokens", "create", "--db", db).want(t, 2, "want NAME")
	pressroom(t, "", "tokens", "revoke", "--db", db, "cms").want(t, 0)
	pressroom(t, "", "tokens", "revoke", "--db", db, "nobody").want(t, 1, `no API token named "nobody"`)

	r := pressroom(t, "", "tokens", "list", "--db", db, "--tz", "UTC")
	r.want(t, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !regexp.MustCompile(`^backfill\s+\S+\s+active$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^cms\s+\S+\s+revoked \d{4}-`).MatchString(lines[2]) {
		t.Errorf("tokens list =\n%s", r.stdout)
	}
	// Only hashes are stored: neither token appears in the database file.
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if wal, err := os.ReadFile(db + "-wal"); err == nil {
		raw = append(raw, wal...)
	}
	for _, tok := range []string{cms, other} {
		if bytes.Contains(raw, []byte(tok)) || strings.Contains(r.stdout, tok) {
			t.Errorf("token %s is stored or listed in clear", tok)
		}
	}
}

// apiClient calls the admin API of a running serve.
type apiClient struct {
	t    *testing.T
	base string
}

// do sends a request and returns the status, headers and body.
func (c apiClient) do(method, path, token, contentType, body string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// apiErrorBody is the JSON of an API error.
type apiErrorBody struct {
	Error  string `json:"error"`
	Errors []struct {
		Line    int    `json:"line"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func decodeAPIError(t *testing.T, body string) apiErrorBody {
	t.Helper()
	var e apiErrorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("error body %q is not {\"error\": ...}: %v", body, err)
	}
	return e
}

func TestAdminAPI(t *testing.T) {
	db := newsroom(t)
	tok := createToken(t, db, "cms")
	revoked := createToken(t, db, "old-cms")
	pressroom(t, "", "tokens", "revoke", "--db", db, "old-cms").want(t, 0)
	base, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", db,
		"--addr", "127.0.0.1:0", "--log-format", "json", "--outbox", t.TempDir(), "--api-max-body", "64KiB")
	c := apiClient{t: t, base: base}
	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	good := opsArticle("5001", "politics", now)
	// Serve itself writes digest_slots (a missed digest slot at start-up)
	// whenever it gets to it: compare everything but that.
	apiTables := func() string {
		return regexp.MustCompile(`(?s)== digest_slots .*?\n(== |$)`).ReplaceAllString(dump(t, db), "$1")
	}
	unchanged := apiTables()

	t.Run("authentication", func(t *testing.T) {
		for _, tc := range []struct {
			name, token string
			want        int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"unknown token", "prt_" + strings.Repeat("A", 43), http.StatusUnauthorized},
			{"token with one character changed", tok[:len(tok)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(tok, "A")], http.StatusUnauthorized},
			{"revoked token", revoked, http.StatusForbidden},
		} {
			code, hdr, body := c.do("POST", "/api/articles", tc.token, "application/x-ndjson", good+"\n")
			if code != tc.want {
				t.Errorf("%s: POST /api/articles = %d %s, want %d", tc.name, code, body, tc.want)
			}
			decodeAPIError(t, body)
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate = %q", tc.name, hdr.Get("WWW-Authenticate"))
			}
		}
		// "Basic" is not a bearer token.
		req, _ := http.NewRequest("DELETE", base+"/api/articles/1", nil)
		req.SetBasicAuth("cms", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Basic auth: %d, want 401", resp.StatusCode)
		}
		for _, path := range []string{"/api/views", "/api/sections"} {
			if code, _, _ := c.do("POST", path, revoked, "application/json", "{}"); code != http.StatusForbidden {
				t.Errorf("POST %s with a revoked token = %d, want 403", path, code)
			}
		}
		if code, _, _ := c.do("DELETE", "/api/articles/1001", "", "", ""); code != http.StatusUnauthorized {
			t.Errorf("DELETE without token = %d, want 401", code)
		}
	})

	t.Run("rejected input writes nothing", func(t *testing.T) {
		big := strings.Repeat(good+"\n", 65<<10/len(good)+1)
		for _, tc := range []struct {
			name, ctype, body string
			want              int
			lines             map[int]string // line -> field ("" for none)
		}{
			{"too large", "application/x-ndjson", big, http.StatusRequestEntityTooLarge, nil},
			{"bad JSON", "application/json", `{"id": "5002", "title": `, http.StatusBadRequest, map[int]string{1: ""}},
			{"bad fields in a batch", "application/x-ndjson",
				opsArticle("5003", "politics", now) + "\n" +
					strings.Replace(opsArticle("5004", "politics", now), now.Format(time.RFC3339), "yesterday", 1) + "\n" +
					opsArticle("5005", "culture", now) + "\n" +
					`{"id":"5006","url":"/relative","section":"sport","title":"T","body_html":"<p>x</p>","published_at":"2026-11-27T10:00:00Z"}` + "\n" +
					opsArticle("5003", "sport", now) + "\n",
				http.StatusBadRequest, map[int]string{2: "published_at", 3: "section", 4: "url", 5: "id"}},
			{"unknown field", "application/json", `{"id":"5007","url":"https://news.example.org/x","section":"sport","title":"T","body_html":"<p>x</p>","published_at":"2026-11-27T10:00:00Z","publised":"x"}`,
				http.StatusBadRequest, map[int]string{1: "publised"}},
			{"empty body", "application/x-ndjson", "\n\n", http.StatusBadRequest, nil},
			{"wrong content type", "text/plain", good, http.StatusUnsupportedMediaType, nil},
		} {
			code, _, body := c.do("POST", "/api/articles", tok, tc.ctype, tc.body)
			if code != tc.want {
				t.Errorf("%s: POST /api/articles = %d %s, want %d", tc.name, code, body, tc.want)
				continue
			}
			e := decodeAPIError(t, body)
			got := map[int]string{}
			for _, le := range e.Errors {
				if le.Message == "" {
					t.Errorf("%s: line %d has no message", tc.name, le.Line)
				}
				got[le.Line] = le.Field
			}
			if tc.lines != nil && fmt.Sprint(got) != fmt.Sprint(tc.lines) {
				t.Errorf("%s: errors by line = %v, want %v\n%s", tc.name, got, tc.lines, body)
			}
		}
		if after := apiTables(); after != unchanged {
			t.Errorf("rejected requests changed the database:\n%s", cmp.Diff(unchanged, after))
		}
	})

	t.Run("accepted articles", func(t *testing.T) {
		// One article, pretty-printed JSON.
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, []byte(good), "", "  "); err != nil {
			t.Fatal(err)
		}
		code, _, body := c.do("POST", "/api/articles", tok, "application/json; charset=utf-8", pretty.String())
		if code != http.StatusOK || !strings.Contains(body, `"inserted":1`) {
			t.Fatalf("POST one article = %d %s", code, body)
		}
		// A batch: two new, one updated; then the same batch again:
		// all unchanged.
		batch := opsArticle("5010", "sport", now) + "\n" + opsArticle("5011", "politics", now) + "\n" +
			strings.Replace(good, "Lead 5001", "A new lead", 1) + "\n"
		for i, want := range []map[string]int{
			{"inserted": 2, "updated": 1, "unchanged": 0},
			{"inserted": 0, "updated": 0, "unchanged": 3},
		} {
			code, _, body = c.do("POST", "/api/articles", tok, "application/x-ndjson", batch)
			var got map[string]int
			if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("POST batch #%d = %d %s, want 200 %v", i+1, code, body, want)
			}
		}
		code, body = httpGet(t, base+"/")
		if code != 200 || !strings.Contains(body, "Article 5001") {
			t.Errorf("the accepted article is not on the index page: %d", code)
		}
	})

	t.Run("retraction", func(t *testing.T) {
		if code, _, body := c.do("DELETE", "/api/articles/5001", tok, "", ""); code != http.StatusNoContent {
			t.Fatalf("DELETE /api/articles/5001 = %d %s", code, body)
		}
		if code, _, body := c.do("DELETE", "/api/articles/5001", tok, "", ""); code != http.StatusNotFound {
			t.Errorf("second DELETE = %d %s, want 404", code, body)
		}
		if _, body := httpGet(t, base+"/"); strings.Contains(body, "Article 5001") {
			t.Error("the retracted article is still on the index page")
		}
	})

	t.Run("views", func(t *testing.T) {
		hour := now.Truncate(time.Hour).UTC().Format(time.RFC3339)
		code, _, body := c.do("POST", "/api/views", tok, "application/x-ndjson",
			fmt.Sprintf(`{"article_id":"5010","at":%q,"count":42}`+"\n", hour))
		if code != http.StatusOK || !strings.Contains(body, `"imported":1`) {
			t.Errorf("POST /api/views = %d %s", code, body)
		}
		before := apiTables()
		code, _, body = c.do("POST", "/api/views", tok, "application/x-ndjson",
			fmt.Sprintf(`{"article_id":"5010","at":%q,"count":1}`+"\n"+`{"article_id":"nope","at":%q,"count":1}`+"\n", hour, hour))
		if code != http.StatusBadRequest {
			t.Errorf("POST /api/views with an unknown article = %d %s, want 400", code, body)
		} else if e := decodeAPIError(t, body); len(e.Errors) != 1 || e.Errors[0].Line != 2 {
			t.Errorf("errors = %+v, want one on line 2", e.Errors)
		}
		if apiTables() != before {
			t.Error("a rejected views batch changed the database")
		}
	})

	t.Run("sections", func(t *testing.T) {
		code, _, body := c.do("POST", "/api/sections", tok, "application/json", `{"slug":"science","title":"Science & Space","position":5}`)
		if code != http.StatusCreated {
			t.Fatalf("POST /api/sections = %d %s", code, body)
		}
		if code, _, body := c.do("POST", "/api/sections", tok, "application/json", `{"slug":"science","title":"Again"}`); code != http.StatusConflict {
			t.Errorf("duplicate section = %d %s, want 409", code, body)
		}
		code, _, body = c.do("POST", "/api/sections", tok, "application/json", `{"slug":"Bad Slug!","title":"X"}`)
		if code != http.StatusBadRequest {
			t.Errorf("bad slug = %d %s, want 400", code, body)
		} else if e := decodeAPIError(t, body); len(e.Errors) != 1 || e.Errors[0].Field != "slug" {
			t.Errorf("bad slug errors = %+v", e.Errors)
		}
		if code, _, body := c.do("POST", "/api/sections", tok, "application/json", `{"slug":"x",`); code != http.StatusBadRequest {
			t.Errorf("bad JSON section = %d %s, want 400", code, body)
		}
		// The new section accepts articles at once.
		if code, _, body := c.do("POST", "/api/articles", tok, "application/x-ndjson", opsArticle("5020", "science", now)); code != http.StatusOK {
			t.Errorf("article in the new section = %d %s", code, body)
		}
	})

	t.Run("readyz", func(t *testing.T) {
		if code, body := httpGet(t, base+"/readyz"); code != 200 || body != "ready\n" {
			t.Errorf("GET /readyz = %d %q", code, body)
		}
	})

	t.Run("metrics moved", func(t *testing.T) {
		fams := scrape(t, base)
		for _, tc := range []struct {
			name   string
			labels map[string]string
			min    float64
		}{
			{"pressroom_http_requests_total", map[string]string{"route": "POST /api/articles", "code": "401"}, 3},
			{"pressroom_http_requests_total", map[string]string{"route": "POST /api/articles", "code": "403"}, 1},
			{"pressroom_http_requests_total", map[string]string{"route": "POST /api/articles", "code": "413"}, 1},
			{"pressroom_http_requests_total", map[string]string{"route": "DELETE /api/articles/{id}", "code": "204"}, 1},
			{"pressroom_http_requests_total", map[string]string{"route": "GET /{$}", "method": "GET", "code": "200"}, 2},
			{"pressroom_http_request_duration_seconds", map[string]string{"route": "POST /api/articles"}, 10},
			{"pressroom_ingest_items_total", map[string]string{"kind": "articles", "outcome": "inserted"}, 2},
			{"pressroom_ingest_items_total", map[string]string{"kind": "articles", "outcome": "deleted"}, 1},
			{"pressroom_ingest_items_total", map[string]string{"kind": "views", "outcome": "imported"}, 1},
			{"pressroom_ingest_rejected_total", map[string]string{"kind": "articles", "reason": "unauthorized"}, 5},
			{"pressroom_ingest_rejected_total", map[string]string{"kind": "articles", "reason": "too_large"}, 1},
			{"pressroom_ingest_rejected_total", map[string]string{"kind": "articles", "reason": "invalid"}, 4},
			{"pressroom_ingest_rejected_total", map[string]string{"kind": "views", "reason": "invalid"}, 1},
		} {
			if got := sample(fams, tc.name, tc.labels); got < tc.min {
				t.Errorf("%s%v = %v, want at least %v", tc.name, tc.labels, got, tc.min)
			}
		}
		for _, name := range []string{"pressroom_process_resident_memory_bytes", "pressroom_go_goroutines"} {
			if _, ok := fams[name]; !ok {
				t.Errorf("no %s", name)
			}
		}
		for name := range fams {
			if !strings.HasPrefix(name, "pressroom_") {
				t.Errorf("metric %s lacks the pressroom_ prefix", name)
			}
		}
	})

	r := stop()
	r.want(t, 0)
	// Never a token in the logs.
	for _, s := range []string{tok, revoked} {
		if strings.Contains(r.stderr, s) {
			t.Errorf("serve's log contains a token")
		}
	}
	if !strings.Contains(r.stderr, `"msg":"API request with a revoked token","request_id"`) {
		t.Errorf("no log line for the revoked token's use")
	}
}

// scrape fetches /metrics and parses it with Prometheus's own text
// parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample sums the samples of family name whose labels include labels:
// counter and gauge values, histogram sample counts.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	var sum float64
metrics:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue metrics
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestBackupWhileServing takes `pressroom backup` snapshots while serve
// keeps accepting article batches through the API, restores each, and
// checks its row counts: whole batches only, and no more than the source.
func TestBackupWhileServing(t *testing.T) {
	db := newsroom(t)
	tok := createToken(t, db, "cms")
	base, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", db,
		"--addr", "127.0.0.1:0", "--log-format", "json", "--outbox", t.TempDir())
	c := apiClient{t: t, base: base}
	const perBatch = 25
	now := time.Now().Add(-time.Hour)
	batch := func(b int) string {
		var sb strings.Builder
		for i := range perBatch {
			sb.WriteString(opsArticle(fmt.Sprintf("b%05d-%02d", b, i), []string{"politics", "sport"}[i%2], now) + "\n")
		}
		return sb.String()
	}
	for b := range 20 {
		if code, _, body := c.do("POST", "/api/articles", tok, "application/x-ndjson", batch(b)); code != 200 {
			t.Fatalf("batch %d: %d %s", b, code, body)
		}
	}
	stopWriting := make(chan struct{})
	var wg sync.WaitGroup
	var batches int
	wg.Go(func() {
		for b := 20; ; b++ {
			select {
			case <-stopWriting:
				return
			default:
			}
			req, _ := http.NewRequest("POST", base+"/api/articles", strings.NewReader(batch(b)))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/x-ndjson")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("batch %d: %v", b, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("batch %d: %d", b, resp.StatusCode)
				return
			}
			batches = b + 1
		}
	})
	time.Sleep(100 * time.Millisecond)
	dir := t.TempDir()
	var snaps []string
	for i := range 3 {
		snap := filepath.Join(dir, fmt.Sprintf("snap%d.db", i))
		r := pressroom(t, "", "backup", "--db", db, snap)
		r.want(t, 0)
		if !strings.Contains(r.stdout, "written to "+snap) {
			t.Errorf("backup said %q", r.stdout)
		}
		snaps = append(snaps, snap)
	}
	close(stopWriting)
	wg.Wait()
	if batches <= 20 {
		t.Fatal("no batch was written while the backups ran")
	}
	pressroom(t, "", "backup", "--db", db, snaps[0]).want(t, 1, "file already exists")
	stop().want(t, 0)

	final := openDB(t, db)
	total, err := final.ArticleCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	prev := 0
	for _, snap := range snaps {
		restored := filepath.Join(t.TempDir(), "pressroom.db")
		raw, err := os.ReadFile(snap)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(restored, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		rdb, err := store.Open(context.Background(), restored, store.Options{})
		if err != nil {
			t.Fatalf("restore %s: %v", snap, err)
		}
		n, err := rdb.ArticleCount(context.Background())
		rdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d articles; %d at the end", filepath.Base(snap), n, total)
		if n%perBatch != 0 || n < 20*perBatch || n > total || n < prev {
			t.Errorf("%s holds %d articles: want whole batches of %d, at least %d, at most %d, not fewer than the snapshot before (%d)",
				snap, n, perBatch, 20*perBatch, total, prev)
		}
		prev = n
		// The restored file serves: its sections and tokens are there.
		r := pressroom(t, "", "tokens", "list", "--db", restored)
		r.want(t, 0)
		if !strings.Contains(r.stdout, "cms") {
			t.Errorf("restored tokens list = %q", r.stdout)
		}
	}
}

// TestAPIChangesReachFeeds runs the web server the way serve builds it,
// over a real store: an article accepted by the API is in its section's
// feed as soon as the API has answered, and a retracted one is gone; the
// feed metrics count what happened.
func TestAPIChangesReachFeeds(t *testing.T) {
	path := newsroom(t)
	tok := createToken(t, path, "cms")
	db := openDB(t, path)
	metrics := web.NewMetrics(db, nil)
	srv, err := web.New(web.Options{
		Store:   db,
		BaseURL: "https://news.example.com",
		Metrics: metrics,
		Feeds:   &web.FeedOptions{},
		API:     &web.APIOptions{Store: apiStore{db}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := apiClient{t: t, base: ts.URL}

	feedLinks := func() (map[string]bool, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + "/feeds/politics.rss")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /feeds/politics.rss = %d", resp.StatusCode)
		}
		f, err := gofeed.NewParser().Parse(resp.Body)
		if err != nil {
			t.Fatalf("parse the politics feed: %v", err)
		}
		links := map[string]bool{}
		for _, it := range f.Items {
			links[it.Link] = true
		}
		return links, resp.Header.Get("ETag")
	}
	before, etag := feedLinks()
	url := "https://news.example.org/politics/7001"
	if before[url] {
		t.Fatal("article 7001 is in the feed before it was posted")
	}
	if code, _, body := c.do("POST", "/api/articles", tok, "application/json", opsArticle("7001", "politics", time.Now().Add(-time.Minute))); code != 200 {
		t.Fatalf("POST = %d %s", code, body)
	}
	after, etag2 := feedLinks()
	if !after[url] || etag2 == etag {
		t.Errorf("right after the API answered, the feed has 7001: %v (ETag %s -> %s)", after[url], etag, etag2)
	}
	// A reader polling with the new ETag gets 304.
	req, _ := http.NewRequest("GET", ts.URL+"/feeds/politics.rss", nil)
	req.Header.Set("If-None-Match", etag2)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", resp.StatusCode)
	}
	if code, _, body := c.do("DELETE", "/api/articles/7001", tok, "", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", code, body)
	}
	if gone, _ := feedLinks(); gone[url] {
		t.Error("the retracted article is still in the feed")
	}

	fams := scrape(t, ts.URL)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"pressroom_feed_requests_total", map[string]string{"result": "hit"}, 2},
		{"pressroom_feed_requests_total", map[string]string{"result": "miss"}, 1},
		{"pressroom_feed_requests_total", map[string]string{"result": "not_modified"}, 1},
		{"pressroom_feed_build_duration_seconds", nil, 3}, // first build, after the POST, after the DELETE
		{"pressroom_http_requests_total", map[string]string{"route": "GET /feeds/{file}", "code": "304"}, 1},
	} {
		if got := sample(fams, tc.name, tc.labels); got < tc.min {
			t.Errorf("%s%v = %v, want at least %v", tc.name, tc.labels, got, tc.min)
		}
	}
}

func TestAPIEditionStatus(t *testing.T) {
	path := newsroom(t)
	for _, addr := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		pressroom(t, "", "subscribers", "add", "--db", path, "--active", addr).want(t, 0)
	}
	tok := createToken(t, path, "dashboard")
	db := openDB(t, path)
	cutoff := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	ed := news.Edition{Date: "2026-11-27", From: cutoff.Add(-24 * time.Hour), Cutoff: cutoff, PlannedAt: cutoff.Add(time.Minute)}
	if _, _, err := db.CreateEdition(context.Background(), &ed, []news.Delivery{
		{SubscriberID: 1, State: news.DeliveryQueued},
		{SubscriberID: 2, State: news.DeliveryQueued},
		{SubscriberID: 3, State: news.DeliverySkipped, Reason: "no articles in the chosen sections"},
	}); err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Options{Store: db, API: &web.APIOptions{Store: apiStore{db}}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := apiClient{t: t, base: ts.URL}

	code, _, body := c.do("GET", "/api/editions/2026-11-27", tok, "", "")
	if code != 200 {
		t.Fatalf("GET /api/editions/2026-11-27 = %d %s", code, body)
	}
	var got struct {
		Date       string         `json:"date"`
		Cutoff     time.Time      `json:"cutoff"`
		Deliveries map[string]int `json:"deliveries"`
		Total      int            `json:"total"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"queued": 2, "skipped": 1, "sending": 0, "sent": 0, "deferred": 0, "failed": 0, "unknown": 0}
	if got.Date != "2026-11-27" || !got.Cutoff.Equal(cutoff) || got.Total != 3 || fmt.Sprint(got.Deliveries) != fmt.Sprint(want) {
		t.Errorf("edition status = %+v, want 3 deliveries %v", got, want)
	}
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/api/editions/2026-11-26", tok, http.StatusNotFound},
		{"/api/editions/27.11.2026", tok, http.StatusBadRequest},
		{"/api/editions/2026-11-27", "", http.StatusUnauthorized},
	} {
		if code, _, body := c.do("GET", tc.path, tc.token, "", ""); code != tc.want {
			t.Errorf("GET %s = %d %s, want %d", tc.path, code, body, tc.want)
		}
	}
	// The deliveries gauge reads the ledger at scrape time.
	fams := scrape(t, ts.URL)
	for state, want := range map[string]float64{"queued": 2, "skipped": 1} {
		if got := sample(fams, "pressroom_deliveries", map[string]string{"state": state}); got != want {
			t.Errorf("pressroom_deliveries{state=%s} = %v, want %v", state, got, want)
		}
	}
}

// TestRetentionJob runs serve with the retention job every second: view
// buckets older than the period go, newer ones and the articles stay, and
// /metrics shows the job's runs and last success.
func TestRetentionJob(t *testing.T) {
	db := newsroom(t)
	now := time.Now().UTC()
	pressroom(t, "", "import", "--db", db, writeFile(t, "a.jsonl", opsArticle("8001", "politics", now.Add(-30*24*time.Hour))+"\n")).want(t, 0)
	var views strings.Builder
	for _, age := range []time.Duration{20 * 24 * time.Hour, 11 * 24 * time.Hour, 9 * 24 * time.Hour, 2 * time.Hour} {
		fmt.Fprintf(&views, `{"article_id":"8001","at":%q,"count":10}`+"\n", now.Add(-age).Truncate(time.Hour).Format(time.RFC3339))
	}
	pressroom(t, "", "views", "import", "--db", db, writeFile(t, "v.jsonl", views.String())).want(t, 0)
	base, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", db,
		"--addr", "127.0.0.1:0", "--log-format", "json", "--outbox", t.TempDir(),
		"--retention-cron", "@every 1s", "--retention-views", "10d")
	deadline := time.Now().Add(10 * time.Second)
	for sample(scrape(t, base), "pressroom_job_runs_total", map[string]string{"job": "retention"}) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the retention job did not run within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	fams := scrape(t, base)
	if got := sample(fams, "pressroom_job_last_success_timestamp_seconds", map[string]string{"job": "retention"}); got < float64(now.Unix()) {
		t.Errorf("retention last success = %v, want after %d", got, now.Unix())
	}
	if got := sample(fams, "pressroom_job_failures_total", map[string]string{"job": "retention"}); got > 0 {
		t.Errorf("retention failures = %v", got)
	}
	r := stop()
	r.want(t, 0)
	if !strings.Contains(r.stderr, `"msg":"Retention pruned old rows","view_buckets":2`) {
		t.Errorf("no log line for 2 pruned view buckets:\n%s", r.stderr)
	}
	d := openDB(t, db)
	total, err := d.ArticleViews(context.Background(), "8001", now.Add(-365*24*time.Hour), now.Add(time.Hour))
	if err != nil || total != 20 {
		t.Errorf("views left = %d, %v; want the 2 buckets younger than 10 days (20)", total, err)
	}
	if n, err := d.ArticleCount(context.Background()); err != nil || n != 1 {
		t.Errorf("articles = %d, %v; retention must not touch them", n, err)
	}
}

// TestRetractionBeforePlanning: an article retracted through the API is
// not in an edition planned afterwards.
func TestRetractionBeforePlanning(t *testing.T) {
	path := newsroom(t)
	tok := createToken(t, path, "cms")
	db := openDB(t, path)
	srv, err := web.New(web.Options{Store: db, API: &web.APIOptions{Store: apiStore{db}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := apiClient{t: t, base: ts.URL}
	pub := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	batch := opsArticle("9001", "politics", pub) + "\n" + opsArticle("9002", "politics", pub.Add(time.Hour)) + "\n"
	if code, _, body := c.do("POST", "/api/articles", tok, "application/x-ndjson", batch); code != 200 {
		t.Fatalf("POST = %d %s", code, body)
	}
	if code, _, body := c.do("DELETE", "/api/articles/9002", tok, "", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", code, body)
	}
	r := pressroom(t, "", "digest", "plan", "--db", path, "--tz", "UTC", "--cutoff", "08:00", "--date", "2026-11-21")
	r.want(t, 0)
	if !strings.Contains(r.stdout, "articles: 1\n") {
		t.Errorf("digest plan output:\n%s", r.stdout)
	}
	ed, err := db.EditionByDate(context.Background(), "2026-11-21")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range ed.Sections {
		for _, a := range s.Articles {
			ids = append(ids, a.ID)
		}
	}
	if fmt.Sprint(ids) != "[9001]" {
		t.Errorf("planned edition holds %v, want only 9001 (9002 was retracted)", ids)
	}
}

// TestAPIBodyCapWhileStreaming: a chunked body (no Content-Length) that
// grows past the cap is cut off while it streams: 413, nothing written.
func TestAPIBodyCapWhileStreaming(t *testing.T) {
	path := newsroom(t)
	tok := createToken(t, path, "cms")
	db := openDB(t, path)
	srv, err := web.New(web.Options{Store: db, API: &web.APIOptions{Store: apiStore{db}, MaxBody: 64 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	pr, pw := io.Pipe()
	go func() {
		now := time.Now().Add(-time.Hour)
		for i := 0; i < 2000; i++ {
			if _, err := fmt.Fprintln(pw, opsArticle(fmt.Sprintf("c%05d", i), "sport", now)); err != nil {
				return // the server stopped reading
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", ts.URL+"/api/articles", pr)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pr.CloseWithError(io.ErrClosedPipe)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized POST = %d %s, want 413", resp.StatusCode, body)
	}
	if n, err := db.ArticleCount(context.Background()); err != nil || n != 0 {
		t.Errorf("%d articles after the rejected stream (%v), want 0", n, err)
	}
}
