package main

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// TestAPIEveryRouteRejects runs every admin API route through every
// error the issue names: 401 without a token, 403 with a revoked one,
// and for the routes that take a body 413 beyond the cap, 400 for bad
// JSON and 400 naming the bad field. Nothing rejected may change the
// database.
func TestAPIEveryRouteRejects(t *testing.T) {
	path := newsroom(t)
	tok := createToken(t, path, "cms")
	revoked := createToken(t, path, "old")
	pressroom(t, "", "tokens", "revoke", "--db", path, "old").want(t, 0)
	pub := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	pressroom(t, "", "import", "--db", path, writeFile(t, "a.jsonl", opsArticle("6001", "politics", pub)+"\n")).want(t, 0)
	db := openDB(t, path)
	const maxBody = 2 << 10
	srv, err := web.New(web.Options{Store: db, API: &web.APIOptions{Store: apiStore{db}, MaxBody: maxBody}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := apiClient{t: t, base: ts.URL}
	before := dump(t, path)

	hour := pub.Truncate(time.Hour).Format(time.RFC3339)
	for _, rt := range []struct {
		method, path, ctype string
		good                string // a body the route would accept ("" for none)
		badJSON             string
		badField            string // a well-formed body with one bad field
		field               string // the field named for badField
	}{
		{"POST", "/api/articles", "application/x-ndjson", opsArticle("6002", "sport", pub) + "\n",
			`{"id":"6003",` + "\n", opsArticle("6004", "weather", pub) + "\n", "section"},
		{"DELETE", "/api/articles/6001", "", "", "", "", ""},
		{"POST", "/api/views", "application/x-ndjson", `{"article_id":"6001","at":"` + hour + `","count":3}` + "\n",
			`{"article_id":"6001","at":` + "\n", `{"article_id":"6001","at":"` + hour + `","count":-1}` + "\n", "count"},
		{"POST", "/api/sections", "application/json", `{"slug":"science","title":"Science"}`,
			`{"slug":"science",`, `{"slug":"Science!","title":"Science"}`, "slug"},
		{"GET", "/api/editions/2026-11-21", "", "", "", "", ""},
	} {
		name := rt.method + " " + rt.path
		t.Run(name, func(t *testing.T) {
			code, hdr, body := c.do(rt.method, rt.path, "", rt.ctype, rt.good)
			if code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("without a token: %d (WWW-Authenticate %q) %s, want 401 with a Bearer challenge", code, hdr.Get("WWW-Authenticate"), body)
			}
			decodeAPIError(t, body)
			code, _, body = c.do(rt.method, rt.path, "prt_"+strings.Repeat("x", 43), rt.ctype, rt.good)
			if code != http.StatusUnauthorized {
				t.Errorf("with an unknown token: %d %s, want 401", code, body)
			}
			code, _, body = c.do(rt.method, rt.path, revoked, rt.ctype, rt.good)
			if code != http.StatusForbidden {
				t.Errorf("with a revoked token: %d %s, want 403", code, body)
			}
			decodeAPIError(t, body)
			if rt.ctype == "" {
				return
			}
			// Over the cap: a valid body padded with blank lines
			// (JSON Lines) or spaces (one JSON object).
			pad := strings.Repeat("\n", maxBody)
			if rt.ctype == "application/json" {
				pad = strings.Repeat(" ", maxBody)
			}
			code, _, body = c.do(rt.method, rt.path, tok, rt.ctype, rt.good+pad)
			if code != http.StatusRequestEntityTooLarge {
				t.Errorf("body over the cap: %d %s, want 413", code, body)
			}
			decodeAPIError(t, body)
			code, _, body = c.do(rt.method, rt.path, tok, rt.ctype, rt.badJSON)
			if code != http.StatusBadRequest {
				t.Errorf("bad JSON: %d %s, want 400", code, body)
			} else if e := decodeAPIError(t, body); len(e.Errors) != 1 || e.Errors[0].Line != 1 || e.Errors[0].Message == "" {
				t.Errorf("bad JSON: errors = %+v, want one on line 1", e.Errors)
			}
			code, _, body = c.do(rt.method, rt.path, tok, rt.ctype, rt.badField)
			if code != http.StatusBadRequest {
				t.Errorf("bad field: %d %s, want 400", code, body)
			} else if e := decodeAPIError(t, body); len(e.Errors) != 1 || e.Errors[0].Field != rt.field {
				t.Errorf("bad field: errors = %+v, want one naming %q", e.Errors, rt.field)
			}
		})
	}
	if after := dump(t, path); after != before {
		t.Errorf("rejected requests changed the database:\n%s", cmp.Diff(before, after))
	}
	// The same bodies are accepted with the token: the rejections above
	// were for the reasons tested, not for the bodies.
	for _, tc := range []struct{ method, path, ctype, body string }{
		{"POST", "/api/articles", "application/x-ndjson", opsArticle("6002", "sport", pub) + "\n"},
		{"POST", "/api/views", "application/x-ndjson", `{"article_id":"6001","at":"` + hour + `","count":3}` + "\n"},
		{"POST", "/api/sections", "application/json", `{"slug":"science","title":"Science"}`},
		{"DELETE", "/api/articles/6001", "", ""},
	} {
		if code, _, body := c.do(tc.method, tc.path, tok, tc.ctype, tc.body); code/100 != 2 {
			t.Errorf("%s %s with a valid token = %d %s, want 2xx", tc.method, tc.path, code, body)
		}
	}
}

// TestReadyzNeedsMigrations: /readyz answers 503 naming the fix while the
// database's schema is not the one the binary needs, 200 once it is.
func TestReadyzNeedsMigrations(t *testing.T) {
	db := openDB(t, newsroom(t))
	for _, tc := range []struct {
		need int
		code int
		want string
	}{
		{store.LatestSchemaVersion(), http.StatusOK, "ready\n"},
		{store.LatestSchemaVersion() + 1, http.StatusServiceUnavailable, "run pressroom migrate"},
	} {
		srv, err := web.New(web.Options{Store: db, SchemaVersion: tc.need})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		code, body := httpGet(t, ts.URL+"/readyz")
		ts.Close()
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET /readyz needing schema %d = %d %q, want %d with %q", tc.need, code, body, tc.code, tc.want)
		}
	}
}

// TestServeLogsNoSecrets runs serve with an SMTP password, a link secret
// and an API token in use, then reads every line it logged: none of the
// three may appear.
func TestServeLogsNoSecrets(t *testing.T) {
	db := newsroom(t)
	tok := createToken(t, db, "cms")
	const (
		password = "pw-Zq8Lr2Xv"
		secret   = "secret-Hk3Jd9Wm7Np4"
	)
	base, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", db,
		"--addr", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug", "--secret", secret,
		"--smtp-url", "smtp://digest:"+password+"@127.0.0.1:1?tls=none")
	c := apiClient{t: t, base: base}
	if code, _, body := c.do("POST", "/api/articles", tok, "application/json", opsArticle("6101", "politics", time.Now().Add(-time.Hour))); code != 200 {
		t.Errorf("POST /api/articles = %d %s", code, body)
	}
	if code, _, _ := c.do("POST", "/api/articles?token="+tok, "", "application/json", "{}"); code != http.StatusUnauthorized {
		t.Errorf("POST without a header = %d, want 401", code)
	}
	httpGet(t, base+"/subscribe")
	r := stop()
	r.want(t, 0)
	if !strings.Contains(r.stderr, `"msg":"Sending mail over SMTP","relay":"smtp://digest@127.0.0.1:1`) {
		t.Errorf("serve did not log its SMTP relay (without the password):\n%s", r.stderr)
	}
	for name, s := range map[string]string{"SMTP password": password, "link secret": secret, "API token": tok} {
		if strings.Contains(r.stderr, s) {
			t.Errorf("serve logged the %s:\n%s", name, r.stderr)
		}
	}
}
