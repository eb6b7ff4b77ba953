package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// feedProcess is one run of a server over the database file at path: the
// store opened as serve opens it, the feeds wired as serve wires them
// (Options.Store, FeedOptions without a Source), served over TCP.
type feedProcess struct {
	db *store.DB
	ts *httptest.Server
}

func startFeedProcess(t *testing.T, path string, c *clock) *feedProcess {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Options{Store: db, BaseURL: feedBase, Now: c.Now, Feeds: &web.FeedOptions{}})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return &feedProcess{db: db, ts: httptest.NewServer(srv)}
}

func (p *feedProcess) stop(t *testing.T) {
	t.Helper()
	p.ts.Close()
	if err := p.db.Close(); err != nil {
		t.Fatal(err)
	}
}

func (p *feedProcess) get(t *testing.T, path, header, value string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", p.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := p.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestFeedsRetractionWhileDown: the newest article is retracted while
// the server is down. The restarted server has no memory of the
// Last-Modified it gave out, and the feed's own date is now the older
// remaining article's; a client revalidating with If-Modified-Since
// alone must still get the new feed, not 304.
func TestFeedsRetractionWhileDown(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "restart.db")
	c := &clock{now: feedNow.Add(-2 * time.Hour)}

	// 10:00: the desk imports article 1 (09:00) and article 3, embargoed
	// until 11:00.
	p := startFeedProcess(t, path, c)
	for _, s := range testSections {
		if err := p.db.AddSection(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.db.ImportArticles(ctx, c.Now(), func(put func(news.Article) error) error {
		for _, a := range []news.Article{
			feedArticle("1", "politics", feedNow.Add(-3*time.Hour), false),
			feedArticle("3", "politics", feedNow.Add(-1*time.Hour), false),
		} {
			if err := put(a); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// 12:00: a reader fetches the feed, dated by its newest article.
	c.Advance(2 * time.Hour)
	first := p.get(t, "/feeds/politics.rss", "", "")
	oldLM := first.Header.Get("Last-Modified")
	if first.StatusCode != 200 || oldLM != feedNow.Add(-time.Hour).Format(http.TimeFormat) {
		t.Fatalf("first GET = %d, Last-Modified %q, want 200 and article 3's date %q", first.StatusCode, oldLM, feedNow.Add(-time.Hour).Format(http.TimeFormat))
	}
	p.stop(t)

	// 12:10, server down: article 3 is retracted as the API does it.
	c.Advance(10 * time.Minute)
	retractedAt := c.Now()
	db, err := store.Open(ctx, path, store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteArticle(ctx, "3"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// 12:20: a new server on the same database.
	c.Advance(10 * time.Minute)
	p = startFeedProcess(t, path, c)
	defer p.stop(t)
	resp := p.get(t, "/feeds/politics.rss", "If-Modified-Since", oldLM)
	if resp.StatusCode != 200 {
		t.Fatalf("If-Modified-Since %q after a retraction while down: %d, want 200", oldLM, resp.StatusCode)
	}
	f, err := gofeed.NewParser().Parse(resp.Body)
	if err != nil {
		t.Fatalf("gofeed: %v", err)
	}
	var guids []string
	for _, it := range f.Items {
		guids = append(guids, it.GUID)
	}
	if want := []string{"https://tass.example/politics/1"}; !slices.Equal(guids, want) {
		t.Errorf("items after the retraction = %v, want %v", guids, want)
	}
	newLM := resp.Header.Get("Last-Modified")
	if want := retractedAt.Format(http.TimeFormat); newLM != want {
		t.Errorf("Last-Modified = %q, want the retraction's time %q", newLM, want)
	}
	etag := resp.Header.Get("ETag")
	for _, rq := range []struct{ header, value string }{{"If-None-Match", etag}, {"If-Modified-Since", newLM}} {
		if r := p.get(t, "/feeds/politics.rss", rq.header, rq.value); r.StatusCode != 304 {
			t.Errorf("%s %q on the restarted server: %d, want 304", rq.header, rq.value, r.StatusCode)
		}
	}
}
