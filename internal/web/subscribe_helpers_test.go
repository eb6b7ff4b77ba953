package web_test

// Test harness for the subscription pages: the real web.Server over a real
// SQLite file (internal/store) and internal/mail's file outbox, with a
// clock the test controls. This is an external test package, so that the
// web package itself never imports the store.

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/mail"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t      *testing.T
	db     *store.DB
	dbPath string
	srv    *web.Server
	outbox string
	signer *news.TokenSigner
	clock  *clock
	base   string
}

var testSections = []news.Section{
	{Slug: "politics", Title: "Russian Politics & Diplomacy", Position: 1},
	{Slug: "world", Title: "World", Position: 2},
	{Slug: "economy", Title: "Business & Economy", Position: 3},
	{Slug: "sport", Title: "Sport", Position: 7},
}

// newHarness opens a fresh database with four sections and builds the
// server with BaseURL base ("" means http://example.com, the host
// httptest.NewRequest uses).
func newHarness(t *testing.T, base string, tweak func(*web.SubscribeOptions)) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	h := &harness{t: t, dbPath: filepath.Join(dir, "pressroom.db"), outbox: filepath.Join(dir, "outbox"),
		clock: &clock{now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}, base: base}
	if h.base == "" {
		h.base = "http://example.com"
	}
	db, err := store.Open(ctx, h.dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	for _, s := range testSections {
		if err := db.AddSection(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	secret, err := db.LinkSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.signer, err = news.NewTokenSigner(secret); err != nil {
		t.Fatal(err)
	}
	ob, err := mail.NewOutbox(h.outbox, mail.OutboxOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	so := &web.SubscribeOptions{
		Signer: h.signer,
		Mailer: ob,
		From:   &netmail.Address{Name: "Pressroom Дайджест", Address: "digest@news.example"},
	}
	if tweak != nil {
		tweak(so)
	}
	h.srv, err = web.New(web.Options{
		Store:         db,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseURL:       h.base,
		Now:           h.clock.Now,
		SiteName:      "Pressroom",
		Subscriptions: so,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// request is one request to the handler.
type request struct {
	method, target string
	form           url.Values // sent url-encoded when not nil
	body           string     // raw body when form is nil
	header         map[string]string
	ip             string // client IP; default 192.0.2.1
}

func (h *harness) do(rq request) *httptest.ResponseRecorder {
	h.t.Helper()
	var body io.Reader
	switch {
	case rq.form != nil:
		body = strings.NewReader(rq.form.Encode())
	case rq.body != "":
		body = strings.NewReader(rq.body)
	}
	req := httptest.NewRequest(rq.method, rq.target, body)
	if rq.form != nil || rq.body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if rq.method == http.MethodPost {
		req.Header.Set("Sec-Fetch-Site", "same-origin") // what a browser sends for the site's own form
	}
	req.Header.Set("User-Agent", "HarnessBrowser/1.0")
	for k, v := range rq.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	ip := rq.ip
	if ip == "" {
		ip = "192.0.2.1"
	}
	req.RemoteAddr = ip + ":40000"
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

func (h *harness) get(target string) *httptest.ResponseRecorder {
	return h.do(request{method: http.MethodGet, target: target})
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken fetches the sign-up form and returns its CSRF token.
func (h *harness) formToken() string {
	h.t.Helper()
	rec := h.get("/subscribe")
	m := csrfRE.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		h.t.Fatalf("GET /subscribe = %d without a csrf field:\n%s", rec.Code, rec.Body.String())
	}
	return m[1]
}

// signUp posts the sign-up form.
func (h *harness) signUp(email, name string, sections ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	f := url.Values{"email": {email}, "name": {name}, "sections": sections, "csrf": {h.formToken()}}
	return h.do(request{method: http.MethodPost, target: "/subscribe", form: f})
}

// snapshot is every subscriber with its consent log, to prove that a
// request changed nothing.
func (h *harness) snapshot() string {
	h.t.Helper()
	ctx := context.Background()
	subs, err := h.db.ListSubscribers(ctx, "", "")
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range subs {
		fmt.Fprintf(&b, "%+v\n", s)
		log, err := h.db.ConsentLog(ctx, s.ID)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, e := range log {
			fmt.Fprintf(&b, "  %+v\n", e)
		}
	}
	return b.String()
}

func (h *harness) subscriber(email string) news.Subscriber {
	h.t.Helper()
	s, err := h.db.SubscriberByEmail(context.Background(), email)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) consentLog(id int64) []news.ConsentEvent {
	h.t.Helper()
	log, err := h.db.ConsentLog(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return log
}

// token signs a link token for id as the server would.
func (h *harness) token(id int64, p news.TokenPurpose) string {
	var exp time.Time
	if p == news.PurposeConfirm {
		exp = h.clock.Now().Add(7 * 24 * time.Hour)
	}
	return h.signer.Sign(id, p, exp)
}

// mails returns the outbox's messages, oldest file first.
func (h *harness) mails() []parsedMail {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.srv.FlushMail(ctx); err != nil {
		h.t.Fatal(err)
	}
	return readOutbox(h.t, h.outbox)
}

// parsedMail is a message from the outbox as an independent parser
// (net/mail, mime/multipart) reads it.
type parsedMail struct {
	File   string
	Header netmail.Header
	Text   string
	HTML   string
}

func readOutbox(t testing.TB, dir string) []parsedMail {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "[^.]*.eml")) // not the outbox's .tmp-* files
	if err != nil {
		t.Fatal(err)
	}
	type fileTime struct {
		path string
		mod  time.Time
	}
	var files []fileTime
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fileTime{p, st.ModTime()})
	}
	slices.SortStableFunc(files, func(a, b fileTime) int { return a.mod.Compare(b.mod) })
	var out []parsedMail
	for _, f := range files {
		out = append(out, parseEML(t, f.path))
	}
	return out
}

func parseEML(t testing.TB, path string) parsedMail {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	pm := parsedMail{File: path, Header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s: Content-Type: %v", path, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("%s: Content-Type %s, want multipart/alternative", path, mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var r io.Reader = p
		switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, p)
		case "quoted-printable":
			r = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: part: %v", path, err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "text/plain":
			pm.Text = string(b)
		case "text/html":
			pm.HTML = string(b)
		}
	}
	return pm
}

var linkRE = regexp.MustCompile(`https?://\S+/(confirm|preferences|unsubscribe)\?t=[A-Za-z0-9._-]+`)

// link returns the first subscription link in the message's text part.
func (m parsedMail) link(t testing.TB) string {
	t.Helper()
	l := linkRE.FindString(m.Text)
	if l == "" {
		t.Fatalf("%s: no subscription link in the text part:\n%s", m.File, m.Text)
	}
	return l
}

// path strips scheme and host from a link for httptest.NewRequest.
func path(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}
