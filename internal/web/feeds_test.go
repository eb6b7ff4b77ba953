package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mmcdole/gofeed"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/net/html"

	"github.com/pressroom/pressroom/feeds"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// countingSource is the real store with a count of the calls feeds make,
// to show that a steady-state request touches no database.
type countingSource struct {
	*store.DB
	calls atomic.Int64
}

func (c *countingSource) Sections(ctx context.Context) ([]news.Section, error) {
	c.calls.Add(1)
	return c.DB.Sections(ctx)
}

func (c *countingSource) LatestArticles(ctx context.Context, section string, limit int, now time.Time) ([]news.Article, error) {
	c.calls.Add(1)
	return c.DB.LatestArticles(ctx, section, limit, now)
}

func (c *countingSource) TopStories(ctx context.Context, limit int, now time.Time) ([]news.Article, error) {
	c.calls.Add(1)
	return c.DB.TopStories(ctx, limit, now)
}

func (c *countingSource) MostRead(ctx context.Context, since, until time.Time, limit int) ([]news.Article, error) {
	c.calls.Add(1)
	return c.DB.MostRead(ctx, since, until, limit)
}

func (c *countingSource) ChangeMark(ctx context.Context, now time.Time) (string, error) {
	c.calls.Add(1)
	return c.DB.ChangeMark(ctx, now)
}

type feedHarness struct {
	t     *testing.T
	db    *store.DB
	src   *countingSource
	srv   *web.Server
	clock *clock
}

const feedBase = "https://news.example.com"

var feedNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func feedArticle(id, section string, pub time.Time, top bool) news.Article {
	return news.Article{
		ID: id, URL: "https://tass.example/" + section + "/" + id, Section: section,
		Title: "Title " + id, Lead: "Lead " + id, BodyHTML: "<p>Body " + id + "</p>", Dateline: "MOSCOW",
		Authors: []string{"Ivan Petrov"}, PublishedAt: pub, Tags: []string{"tag"}, TopStory: top,
		Image: &news.Image{URL: "https://tass.example/img/" + id + ".jpg", Caption: "Caption", Type: "image/jpeg", Length: 1000},
	}
}

func newFeedHarness(t *testing.T, tweak func(*web.FeedOptions)) *feedHarness {
	t.Helper()
	ctx := context.Background()
	c := &clock{now: feedNow}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "feeds.db"), store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range testSections {
		if err := db.AddSection(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	h := &feedHarness{t: t, db: db, src: &countingSource{DB: db}, clock: c}
	h.importArticles(
		feedArticle("1", "politics", feedNow.Add(-3*time.Hour), true),
		feedArticle("2", "world", feedNow.Add(-2*time.Hour), false),
		feedArticle("3", "politics", feedNow.Add(-1*time.Hour), false),
		feedArticle("4", "politics", feedNow.Add(30*time.Minute), false), // embargoed until 12:30
	)
	fo := &web.FeedOptions{Source: h.src, MaxAge: 90 * time.Second}
	if tweak != nil {
		tweak(fo)
	}
	srv, err := web.New(web.Options{Store: db, BaseURL: feedBase, Now: h.clock.Now, Feeds: fo})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	return h
}

func (h *feedHarness) importArticles(as ...news.Article) {
	h.t.Helper()
	_, err := h.db.ImportArticles(context.Background(), h.clock.Now(), func(put func(news.Article) error) error {
		for _, a := range as {
			if err := put(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *feedHarness) do(method, target string, header ...string) *http.Response {
	h.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec.Result()
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFeedsServe(t *testing.T) {
	h := newFeedHarness(t, nil)
	for _, tt := range []struct{ path, ctype, feedType string }{
		{"/feeds/politics.rss", "application/rss+xml; charset=utf-8", "rss"},
		{"/feeds/politics.atom", "application/atom+xml; charset=utf-8", "atom"},
		{"/feeds/politics.json", "application/feed+json; charset=utf-8", "json"},
		{"/feeds/all.rss", "application/rss+xml; charset=utf-8", "rss"},
		{"/feeds/top.atom", "application/atom+xml; charset=utf-8", "atom"},
		{"/feeds/most-read.json", "application/feed+json; charset=utf-8", "json"},
		{"/feeds/sport.rss", "application/rss+xml; charset=utf-8", "rss"},
	} {
		resp := h.do("GET", tt.path)
		body := readAll(t, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d\n%s", tt.path, resp.StatusCode, body)
		}
		hd := resp.Header
		if hd.Get("Content-Type") != tt.ctype {
			t.Errorf("GET %s Content-Type = %q, want %q", tt.path, hd.Get("Content-Type"), tt.ctype)
		}
		if et := hd.Get("ETag"); !strings.HasPrefix(et, `"`) || strings.HasPrefix(et, "W/") {
			t.Errorf("GET %s ETag = %q, want a strong tag", tt.path, et)
		}
		if _, err := http.ParseTime(hd.Get("Last-Modified")); err != nil {
			t.Errorf("GET %s Last-Modified = %q: %v", tt.path, hd.Get("Last-Modified"), err)
		}
		if hd.Get("Cache-Control") != "public, max-age=90" {
			t.Errorf("GET %s Cache-Control = %q", tt.path, hd.Get("Cache-Control"))
		}
		if hd.Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s Vary = %q", tt.path, hd.Get("Vary"))
		}
		if hd.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("GET %s Content-Length = %q, body %d bytes", tt.path, hd.Get("Content-Length"), len(body))
		}
		f, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("GET %s: gofeed: %v", tt.path, err)
		}
		if f.FeedType != tt.feedType || f.FeedLink != feedBase+tt.path {
			t.Errorf("GET %s: type %q self %q", tt.path, f.FeedType, f.FeedLink)
		}
	}
	// The politics feed holds 3 then 1 (newest first); 4 is embargoed.
	f, _ := gofeed.NewParser().Parse(h.do("GET", "/feeds/politics.rss").Body)
	var ids []string
	for _, it := range f.Items {
		ids = append(ids, it.GUID)
	}
	if strings.Join(ids, " ") != "https://tass.example/politics/3 https://tass.example/politics/1" {
		t.Errorf("politics items = %v", ids)
	}
	// The first build after start cannot know what an earlier process
	// served: it dates the feed by the last change of the articles (the
	// import at feedNow), later than its newest article (11:00).
	if lm := h.do("GET", "/feeds/politics.rss").Header.Get("Last-Modified"); lm != feedNow.Format(http.TimeFormat) {
		t.Errorf("Last-Modified = %q, want the last import's time %q", lm, feedNow.Format(http.TimeFormat))
	}
	opml := h.do("GET", "/feeds.opml")
	if opml.StatusCode != 200 || opml.Header.Get("Content-Type") != "text/x-opml; charset=utf-8" || !bytes.Contains(readAll(t, opml.Body), []byte(feedBase+"/feeds/sport.json")) {
		t.Errorf("GET /feeds.opml = %d %q", opml.StatusCode, opml.Header.Get("Content-Type"))
	}
}

func TestFeedsConditionalHeadGzip(t *testing.T) {
	h := newFeedHarness(t, nil)
	first := h.do("GET", "/feeds/world.atom")
	plain := readAll(t, first.Body)
	etag, lm := first.Header.Get("ETag"), first.Header.Get("Last-Modified")

	for _, tt := range []struct {
		name   string
		header []string
		want   int
	}{
		{"If-None-Match", []string{"If-None-Match", etag}, 304},
		{"If-None-Match weak", []string{"If-None-Match", "W/" + etag}, 304},
		{"If-None-Match list", []string{"If-None-Match", `"nope", ` + etag}, 304},
		{"If-None-Match star", []string{"If-None-Match", "*"}, 304},
		{"If-None-Match other", []string{"If-None-Match", `"nope"`}, 200},
		{"If-Modified-Since same", []string{"If-Modified-Since", lm}, 304},
		{"If-Modified-Since later", []string{"If-Modified-Since", feedNow.Format(http.TimeFormat)}, 304},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", feedNow.Add(-30 * 24 * time.Hour).Format(http.TimeFormat)}, 200},
		{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"nope"`, "If-Modified-Since", lm}, 200},
	} {
		resp := h.do("GET", "/feeds/world.atom", tt.header...)
		body := readAll(t, resp.Body)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
		if tt.want == 304 {
			if len(body) != 0 || resp.Header.Get("ETag") != etag || resp.Header.Get("Cache-Control") == "" {
				t.Errorf("%s: 304 with body %d bytes, ETag %q, Cache-Control %q", tt.name, len(body), resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
			}
		}
	}

	head := h.do("HEAD", "/feeds/world.atom")
	if b := readAll(t, head.Body); head.StatusCode != 200 || len(b) != 0 || head.Header.Get("Content-Length") != strconv.Itoa(len(plain)) || head.Header.Get("ETag") != etag {
		t.Errorf("HEAD: %d, body %d bytes, headers %v", head.StatusCode, len(b), head.Header)
	}

	gz := h.do("GET", "/feeds/world.atom", "Accept-Encoding", "br;q=1.0, gzip;q=0.8")
	if gz.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip not used: %v", gz.Header)
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, zr); !bytes.Equal(got, plain) {
		t.Error("gzip body does not decompress to the feed")
	}
	gzTag := gz.Header.Get("ETag")
	if gzTag == etag || gzTag == "" {
		t.Errorf("gzip ETag %q must differ from identity ETag %q", gzTag, etag)
	}
	if resp := h.do("GET", "/feeds/world.atom", "Accept-Encoding", "gzip", "If-None-Match", gzTag); resp.StatusCode != 304 || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("conditional gzip GET: %d, Vary %q", resp.StatusCode, resp.Header.Get("Vary"))
	}
	for _, ae := range []string{"gzip;q=0", "identity", "deflate, br"} {
		if resp := h.do("GET", "/feeds/world.atom", "Accept-Encoding", ae); resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("Accept-Encoding %q got Content-Encoding %q", ae, resp.Header.Get("Content-Encoding"))
		}
	}
}

func TestFeeds404(t *testing.T) {
	h := newFeedHarness(t, nil)
	for _, tt := range []struct{ path, want string }{
		{"/feeds/nosuch.rss", `there is no feed named "nosuch"`},
		{"/feeds/politics.xml", `unknown format ".xml"`},
		{"/feeds/politics", `unknown format ""`},
		{"/feeds/feeds.opml", `unknown format ".opml"`},
	} {
		resp := h.do("GET", tt.path)
		body := string(readAll(t, resp.Body))
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("GET %s = %d %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(body, tt.want) || !strings.Contains(body, "politics, world, economy, sport, all, top, most-read") {
			t.Errorf("GET %s body = %q, want it to say %q and list the feeds", tt.path, body, tt.want)
		}
	}
	// Without feed options, the routes exist but explain.
	srv, err := web.New(web.Options{Store: h.db, BaseURL: feedBase})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/feeds/all.rss", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "not enabled") {
		t.Errorf("feeds off: %d %q", rec.Code, rec.Body.String())
	}
}

// TestFeedsRebuildOnChange: a steady-state request reads no database; a
// changed article, a lifted embargo and new views each change exactly the
// feeds they concern once RefreshFeeds runs.
func TestFeedsRebuildOnChange(t *testing.T) {
	h := newFeedHarness(t, nil)
	ctx := context.Background()
	etags := func() map[string]string {
		m := map[string]string{}
		for _, p := range []string{"/feeds/politics.rss", "/feeds/world.rss", "/feeds/all.json", "/feeds/most-read.atom", "/feeds/sport.rss"} {
			m[p] = h.do("GET", p).Header.Get("ETag")
		}
		return m
	}
	before := etags()
	calls := h.src.calls.Load()
	for range 20 {
		h.do("GET", "/feeds/politics.rss")
		h.do("GET", "/feeds/world.atom", "If-None-Match", before["/feeds/world.rss"])
	}
	if got := h.src.calls.Load(); got != calls {
		t.Errorf("steady-state requests made %d store calls, want 0", got-calls)
	}
	if err := h.srv.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.src.calls.Load(); got != calls+1 {
		t.Errorf("an unchanged refresh made %d store calls, want 1 (the change mark)", got-calls)
	}
	if after := etags(); after["/feeds/politics.rss"] != before["/feeds/politics.rss"] {
		t.Error("refresh without a change changed an ETag")
	}

	// An edited world article.
	a := feedArticle("2", "world", feedNow.Add(-2*time.Hour), false)
	a.Title = "Title 2, corrected"
	h.importArticles(a)
	if err := h.srv.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	after := etags()
	// The edit dates the article now, the site's newest: the empty sport
	// feed, dated by the site, moves with it.
	for p, changed := range map[string]bool{"/feeds/politics.rss": false, "/feeds/world.rss": true, "/feeds/all.json": true, "/feeds/sport.rss": true} {
		if (after[p] != before[p]) != changed {
			t.Errorf("after editing a world article, %s ETag changed = %v, want %v", p, after[p] != before[p], changed)
		}
	}
	if !bytes.Contains(readAll(t, h.do("GET", "/feeds/world.rss").Body), []byte("Title 2, corrected")) {
		t.Error("world.rss lacks the corrected title")
	}
	if resp := h.do("GET", "/feeds/world.rss", "If-None-Match", before["/feeds/world.rss"]); resp.StatusCode != 200 {
		t.Errorf("old ETag after the change: %d, want 200", resp.StatusCode)
	}

	// The embargo on article 4 lifts at 12:30.
	before = after
	h.clock.Advance(45 * time.Minute)
	if err := h.srv.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	after = etags()
	if after["/feeds/politics.rss"] == before["/feeds/politics.rss"] {
		t.Error("politics.rss unchanged after the embargo lifted")
	}
	if !bytes.Contains(readAll(t, h.do("GET", "/feeds/politics.rss").Body), []byte("https://tass.example/politics/4")) {
		t.Error("politics.rss lacks article 4 after its embargo")
	}

	// Views make article 1 the most read.
	before = after
	if _, err := h.db.ImportViews(ctx, func(put func(news.ViewCount) error) error {
		return put(news.ViewCount{ArticleID: "1", At: h.clock.Now().Add(-time.Hour), Count: 500})
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	after = etags()
	if after["/feeds/most-read.atom"] == before["/feeds/most-read.atom"] {
		t.Error("most-read.atom unchanged after views were imported")
	}
	if after["/feeds/sport.rss"] != before["/feeds/sport.rss"] {
		t.Error("sport.rss (empty, dated by the site) changed though the newest article did not")
	}
}

// TestFeedsRetraction: when the newest article is deleted the feed's own
// date moves back, but Last-Modified must not, or If-Modified-Since
// clients would keep the retracted article.
func TestFeedsRetraction(t *testing.T) {
	h := newFeedHarness(t, nil)
	ctx := context.Background()
	before := h.do("GET", "/feeds/politics.rss")
	lm := before.Header.Get("Last-Modified")
	h.clock.Advance(10 * time.Minute)
	if err := h.db.DeleteArticle(ctx, "3"); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	after := h.do("GET", "/feeds/politics.rss", "If-Modified-Since", lm)
	if after.StatusCode != 200 {
		t.Fatalf("If-Modified-Since the old date after a retraction: %d, want 200", after.StatusCode)
	}
	if bytes.Contains(readAll(t, after.Body), []byte("politics/3")) {
		t.Error("the retracted article is still in the feed")
	}
	if got, want := after.Header.Get("Last-Modified"), h.clock.Now().Format(http.TimeFormat); got != want {
		t.Errorf("Last-Modified = %q, want the rebuild time %q", got, want)
	}
	// An unchanged feed keeps its date across rebuilds.
	world := h.do("GET", "/feeds/world.rss").Header.Get("Last-Modified")
	h.importArticles(feedArticle("11", "economy", feedNow.Add(-5*time.Hour), false))
	if err := h.srv.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.do("GET", "/feeds/world.rss").Header.Get("Last-Modified"); got != world {
		t.Errorf("world.rss Last-Modified moved from %q to %q without a change", world, got)
	}
}

// TestFeedsRunRefresher: the background refresher picks a change up
// without anyone calling RefreshFeeds.
func TestFeedsRunRefresher(t *testing.T) {
	h := newFeedHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.srv.RunFeeds(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	old := h.do("GET", "/feeds/sport.rss").Header.Get("ETag")
	h.importArticles(feedArticle("9", "sport", feedNow.Add(-time.Minute), false))
	deadline := time.Now().Add(20 * time.Second)
	for h.do("GET", "/feeds/sport.rss").Header.Get("ETag") == old {
		if time.Now().After(deadline) {
			t.Fatal("the refresher did not rebuild sport.rss within 20s of the import")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFeedsWebSub runs a hub and checks that a rebuild tells it exactly
// which feeds changed.
func TestFeedsWebSub(t *testing.T) {
	var mu sync.Mutex
	var topics []string
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("hub.mode") != "publish" {
			http.Error(w, "bad publish", http.StatusBadRequest)
			return
		}
		mu.Lock()
		topics = append(topics, r.PostForm.Get("hub.url"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hub.Close()
	h := newFeedHarness(t, func(fo *web.FeedOptions) {
		fo.Feeds.Hub = hub.URL + "/"
		fo.Publisher = &feeds.WebSub{Hub: hub.URL + "/", Backoff: time.Millisecond}
	})
	ctx := context.Background()
	body := readAll(t, h.do("GET", "/feeds/world.atom").Body)
	if !bytes.Contains(body, []byte(`rel="hub"`)) {
		t.Error("world.atom has no rel=hub link")
	}
	if len(topics) != 0 {
		t.Errorf("the first build published %v; nothing is known to have changed", topics)
	}
	h.importArticles(feedArticle("10", "economy", feedNow.Add(-time.Minute), false))
	if err := h.srv.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{}
	for _, name := range []string{"all", "economy"} {
		for _, ext := range []string{"rss", "atom", "json"} {
			want[feedBase+"/feeds/"+name+"."+ext] = true
		}
	}
	// Empty feeds (sport; most-read, as nothing has views) take the site's
	// newest date, so their RSS and Atom change too; JSON Feed has no
	// feed date.
	for _, ext := range []string{"rss", "atom"} {
		want[feedBase+"/feeds/sport."+ext] = true
		want[feedBase+"/feeds/most-read."+ext] = true
	}
	got := map[string]bool{}
	for _, tp := range topics {
		got[tp] = true
	}
	for tp := range want {
		if !got[tp] {
			t.Errorf("hub was not told about %s", tp)
		}
	}
	for tp := range got {
		if !want[tp] {
			t.Errorf("hub was told about unchanged %s", tp)
		}
	}
}

// alternates parses an HTML page and returns its <link rel="alternate">
// tags as "type title href" lines.
func alternates(t *testing.T, page []byte) []string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "link" {
			a := map[string]string{}
			for _, at := range n.Attr {
				a[at.Key] = at.Val
			}
			if a["rel"] == "alternate" {
				out = append(out, a["type"]+" "+a["title"]+" "+a["href"])
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func TestFeedAutodiscovery(t *testing.T) {
	h := newFeedHarness(t, nil)
	page := readAll(t, h.do("GET", "/").Body)
	got := alternates(t, page)
	// Feed finders that match markup rather than parse it need the type
	// written plainly, not as "application/rss&#43;xml".
	if !strings.Contains(string(page), `<link rel="alternate" type="application/rss+xml"`) {
		t.Errorf("index page does not write the RSS link's type plainly:\n%s", page)
	}
	want := []string{
		"application/rss+xml Pressroom: Latest news (RSS 2.0) https://news.example.com/feeds/all.rss",
		"application/atom+xml Pressroom: Latest news (Atom 1.0) https://news.example.com/feeds/all.atom",
		"application/feed+json Pressroom: Latest news (JSON Feed 1.1) https://news.example.com/feeds/all.json",
		"application/rss+xml Pressroom: Russian Politics & Diplomacy (RSS 2.0) https://news.example.com/feeds/politics.rss",
		"application/rss+xml Pressroom: World (RSS 2.0) https://news.example.com/feeds/world.rss",
		"application/rss+xml Pressroom: Business & Economy (RSS 2.0) https://news.example.com/feeds/economy.rss",
		"application/rss+xml Pressroom: Sport (RSS 2.0) https://news.example.com/feeds/sport.rss",
		"application/rss+xml Pressroom: Top stories (RSS 2.0) https://news.example.com/feeds/top.rss",
		"application/rss+xml Pressroom: Most read (RSS 2.0) https://news.example.com/feeds/most-read.rss",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("index page alternates (-want +got):\n%s", diff)
	}
	// Every other HTML page (here the 404 page for the subscription
	// pages, which are off) offers the main feed.
	other := h.do("GET", "/subscribe")
	if !strings.HasPrefix(other.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /subscribe: %d %s", other.StatusCode, other.Header.Get("Content-Type"))
	}
	if diff := cmp.Diff(want[:3], alternates(t, readAll(t, other.Body))); diff != "" {
		t.Errorf("other page alternates (-want +got):\n%s", diff)
	}
}

// TestFeedsOverTCP serves feeds from a real http.Server to concurrent
// keep-alive clients, as in production: every response carries the same
// precomputed headers and bytes, 304s and HEADs stay bodiless, every
// request gets its own id, and the metrics count each request once under
// its route and code (the series are resolved once and shared).
func TestFeedsOverTCP(t *testing.T) {
	h := newFeedHarness(t, nil)
	m := web.NewMetrics(nil, nil)
	srv, err := web.New(web.Options{Store: h.db, BaseURL: feedBase, Now: h.clock.Now, Metrics: m, Feeds: &web.FeedOptions{Source: h.src}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	url := ts.URL + "/feeds/politics.rss"

	plainClient := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer plainClient.CloseIdleConnections()
	first, err := plainClient.Get(url) // the first request builds the feeds: a miss
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, first.Body)
	first.Body.Close()
	etag := first.Header.Get("ETag")

	const workers, rounds = 8, 25 // each round: a 200, a gzip 200, a 304 and a HEAD
	var (
		mu  sync.Mutex
		ids = map[string]bool{first.Header.Get("X-Request-Id"): true}
	)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			defer client.CloseIdleConnections()
			for range rounds {
				for _, rq := range []struct {
					method, header, value string
					status                int
				}{
					{"GET", "", "", 200},
					{"GET", "Accept-Encoding", "gzip, deflate, br", 200},
					{"GET", "If-None-Match", etag, 304},
					{"HEAD", "", "", 200},
				} {
					req, _ := http.NewRequest(rq.method, url, nil)
					if rq.header != "" {
						req.Header.Set(rq.header, rq.value)
					}
					resp, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != rq.status {
						t.Errorf("%s %s %s: %d, %v", rq.method, rq.header, rq.value, resp.StatusCode, err)
						return
					}
					if rq.header == "Accept-Encoding" {
						zr, err := gzip.NewReader(bytes.NewReader(body))
						if err != nil {
							t.Error(err)
							return
						}
						body = readAll(t, zr)
					}
					switch {
					case rq.method == "GET" && rq.status == 200 && !bytes.Equal(body, want):
						t.Errorf("%s %s: body differs from the first response", rq.method, rq.header)
					case (rq.method == "HEAD" || rq.status == 304) && len(body) != 0:
						t.Errorf("%s %s: %d-byte body", rq.method, rq.header, len(body))
					}
					if rq.header != "Accept-Encoding" && resp.Header.Get("ETag") != etag {
						t.Errorf("%s %s: ETag %q, want %q", rq.method, rq.header, resp.Header.Get("ETag"), etag)
					}
					if resp.Header.Get("Vary") != "Accept-Encoding" || resp.Header.Get("Last-Modified") != first.Header.Get("Last-Modified") {
						t.Errorf("%s %s: headers %v", rq.method, rq.header, resp.Header)
					}
					id := resp.Header.Get("X-Request-Id")
					mu.Lock()
					dup := ids[id]
					ids[id] = true
					mu.Unlock()
					if dup || len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
						t.Errorf("request id %q: duplicate %v or not 16 hex digits", id, dup)
					}
				}
			}
		})
	}
	wg.Wait()

	n := float64(workers * rounds)
	reqs := family(t, m, "pressroom_http_requests_total")
	results := family(t, m, "pressroom_feed_requests_total")
	for _, c := range []struct {
		f      *dto.MetricFamily
		labels map[string]string
		want   float64
	}{
		{reqs, map[string]string{"route": "GET /feeds/{file}", "method": "GET", "code": "200"}, 2*n + 1},
		{reqs, map[string]string{"route": "GET /feeds/{file}", "method": "GET", "code": "304"}, n},
		{reqs, map[string]string{"route": "GET /feeds/{file}", "method": "HEAD", "code": "200"}, n},
		{results, map[string]string{"result": "hit"}, 3 * n},
		{results, map[string]string{"result": "not_modified"}, n},
		{results, map[string]string{"result": "miss"}, 1},
		{results, map[string]string{"result": "not_found"}, 0},
	} {
		if got := labelled(c.f, c.labels); got == nil || got.GetCounter().GetValue() != c.want {
			t.Errorf("%v = %v, want %v", c.labels, got, c.want)
		}
	}
	dur := labelled(family(t, m, "pressroom_http_request_duration_seconds"), map[string]string{"route": "GET /feeds/{file}", "method": "GET"})
	if dur == nil || dur.GetHistogram().GetSampleCount() != uint64(3*n+1) {
		t.Errorf("GET feed latency samples = %v, want %v", dur, 3*n+1)
	}
}
