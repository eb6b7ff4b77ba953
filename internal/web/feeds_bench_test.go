package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler, not a recorder's buffer.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkServeFeed serves a 50-item feed from memory through the whole
// handler chain (request id, logging middleware, routing): a full 200,
// the gzip copy, and a 304.
func BenchmarkServeFeed(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, s := range testSections {
		if err := db.AddSection(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.ImportArticles(ctx, feedNow, func(put func(news.Article) error) error {
		for i := range 60 {
			if err := put(feedArticle(fmt.Sprint(100+i), "politics", feedNow.Add(-time.Duration(i)*time.Minute), i%5 == 0)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(web.Options{Store: db, BaseURL: feedBase, Now: func() time.Time { return feedNow }, Feeds: &web.FeedOptions{}})
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/feeds/politics.rss", nil))
	etag := rec.Header().Get("ETag")
	for _, bc := range []struct {
		name   string
		header [2]string
	}{
		{"200", [2]string{}},
		{"200-gzip", [2]string{"Accept-Encoding", "gzip"}},
		{"304", [2]string{"If-None-Match", etag}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/feeds/politics.rss", nil)
			if bc.header[0] != "" {
				req.Header.Set(bc.header[0], bc.header[1])
			}
			b.ReportAllocs()
			for b.Loop() {
				srv.ServeHTTP(&discardWriter{h: http.Header{}}, req)
			}
		})
	}
}
