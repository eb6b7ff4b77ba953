package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// benchServer is the web server as serve builds it (feeds and API on)
// over a fresh store with two sections and an API token.
func benchServer(b *testing.B) (*store.DB, *httptest.Server, string) {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for i, s := range []string{"politics", "sport"} {
		if err := db.AddSection(ctx, news.Section{Slug: s, Title: s, Position: i}); err != nil {
			b.Fatal(err)
		}
	}
	tok, hash := newAPIToken()
	if err := db.CreateAPIToken(ctx, "bench", hash, time.Now()); err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(web.Options{Store: db, BaseURL: "https://news.example.com",
		Feeds: &web.FeedOptions{}, API: &web.APIOptions{Store: apiStore{db}}})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	b.Cleanup(ts.Close)
	return db, ts, tok
}

func post(b *testing.B, url, tok, body string) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("POST = %d", resp.StatusCode)
	}
}

// BenchmarkAPIArticles posts batches of 500 new articles: HTTP, token
// check, validation, one write transaction, and the feed rebuild before
// the answer.
func BenchmarkAPIArticles(b *testing.B) {
	_, ts, tok := benchServer(b)
	const batch = 500
	now := time.Now().Add(-time.Hour)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		var sb strings.Builder
		for range batch {
			n++
			sb.WriteString(opsArticle(fmt.Sprintf("a%08d", n), []string{"politics", "sport"}[n%2], now) + "\n")
		}
		post(b, ts.URL+"/api/articles", tok, sb.String())
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "articles/s")
}

// BenchmarkBackup snapshots a database of 20,000 articles.
func BenchmarkBackup(b *testing.B) {
	db, ts, tok := benchServer(b)
	now := time.Now().Add(-time.Hour)
	for k := range 20 {
		var sb strings.Builder
		for i := range 1000 {
			sb.WriteString(opsArticle(fmt.Sprintf("a%03d-%04d", k, i), "politics", now) + "\n")
		}
		post(b, ts.URL+"/api/articles", tok, sb.String())
	}
	dir := b.TempDir()
	var size int64
	i := 0
	b.ResetTimer()
	for b.Loop() {
		i++
		p := filepath.Join(dir, fmt.Sprintf("snap%d.db", i))
		if err := db.Backup(context.Background(), p); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		size = st.Size()
		os.Remove(p)
		b.StartTimer()
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB/snapshot")
}

// BenchmarkMetricsScrape measures one GET /metrics after some traffic.
func BenchmarkMetricsScrape(b *testing.B) {
	_, ts, _ := benchServer(b)
	for range 50 {
		resp, err := http.Get(ts.URL + "/feeds/politics.rss")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.Get(ts.URL + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
