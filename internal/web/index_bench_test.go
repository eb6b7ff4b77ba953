package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// BenchmarkIndexPage renders the index page for eight sections of five
// headlines each, through the logging middleware, from an in-memory
// store: the web layer's own cost per request, without the database.
func BenchmarkIndexPage(b *testing.B) {
	st := &fakeStore{articles: map[string][]news.Article{}}
	for i := range 8 {
		slug := fmt.Sprintf("section-%d", i)
		st.sections = append(st.sections, news.Section{Slug: slug, Title: "Section " + slug, Description: "What it covers", Position: i})
		for j := range 5 {
			st.articles[slug] = append(st.articles[slug], news.Article{
				ID: fmt.Sprint(i*10 + j), URL: fmt.Sprintf("https://news.example.org/%s/%d", slug, j),
				Title: "Заголовок новости номер " + fmt.Sprint(j), PublishedAt: fixedNow.Add(-time.Duration(j) * time.Hour), TopStory: j == 0,
			})
		}
	}
	s, err := New(Options{Store: st, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: func() time.Time { return fixedNow }})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
