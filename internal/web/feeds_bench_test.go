package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// benchFeedServer is a server with a 50-item politics feed built,
// logging to logger (nil: nothing).
func benchFeedServer(b *testing.B, logger *slog.Logger) *web.Server {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
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
	srv, err := web.New(web.Options{Store: db, Logger: logger, BaseURL: feedBase, Now: func() time.Time { return feedNow }, Feeds: &web.FeedOptions{}})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.RefreshFeeds(ctx); err != nil {
		b.Fatal(err)
	}
	return srv
}

// feedBenchCases are the requests both serving benchmarks make.
func feedBenchCases(etag string) []struct {
	name   string
	header [2]string
	status int
} {
	return []struct {
		name   string
		header [2]string
		status int
	}{
		{"200", [2]string{}, http.StatusOK},
		{"200-gzip", [2]string{"Accept-Encoding", "gzip"}, http.StatusOK},
		{"304", [2]string{"If-None-Match", etag}, http.StatusNotModified},
	}
}

// BenchmarkServeFeed serves a 50-item feed from memory through the whole
// handler chain (request id, logging middleware, metrics, routing) into
// a discarding ResponseWriter: a full 200, the gzip copy, and a 304;
// "logged" with serve's JSON request log line, written to io.Discard
// (the line is built; the write system call is not measured).
func BenchmarkServeFeed(b *testing.B) {
	for _, logged := range []bool{false, true} {
		var logger *slog.Logger
		name := "quiet"
		if logged {
			logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
			name = "logged"
		}
		srv := benchFeedServer(b, logger)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/feeds/politics.rss", nil))
		for _, bc := range feedBenchCases(rec.Header().Get("ETag")) {
			b.Run(name+"/"+bc.name, func(b *testing.B) {
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
}

// BenchmarkServeFeedTCP serves the same feed from a real http.Server on
// loopback to 32 keep-alive connections, as wrk does against `pressroom
// serve`: net/http's connection handling, the kernel's TCP and the
// handler together, in a form `go test -cpuprofile` can profile.
// Client and server share the CPUs, as wrk and the server do.
func BenchmarkServeFeedTCP(b *testing.B) {
	srv := benchFeedServer(b, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	go func() { _ = hs.Serve(ln) }()
	b.Cleanup(func() { _ = hs.Close() })
	addr := ln.Addr().String()
	resp, err := http.Get("http://" + addr + "/feeds/politics.rss")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	for _, bc := range feedBenchCases(resp.Header.Get("ETag")) {
		b.Run(bc.name, func(b *testing.B) {
			req := "GET /feeds/politics.rss HTTP/1.1\r\nHost: " + addr + "\r\n"
			if bc.header[0] != "" {
				req += bc.header[0] + ": " + bc.header[1] + "\r\n"
			}
			req += "\r\n"
			b.SetParallelism(16) // 32 connections on 2 CPUs, like wrk -c32
			b.RunParallel(func(pb *testing.PB) {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				br := bufio.NewReader(conn)
				for pb.Next() {
					if _, err := io.WriteString(conn, req); err != nil {
						b.Error(err)
						return
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						b.Error(err)
						return
					}
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != bc.status {
						b.Errorf("status %d, error %v; want %d", resp.StatusCode, err, bc.status)
						return
					}
				}
			})
		})
	}
}
