package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkArticles measures parsing and validation alone, per line.
func BenchmarkArticles(b *testing.B) {
	var buf bytes.Buffer
	body := strings.Repeat("<p>MOSCOW, January 29. /TASS/. Russian Foreign Minister Sergey Lavrov held talks on Sunday. Стороны обсудили отношения.</p>", 14)
	for i := 0; i < b.N; i++ {
		a := news.Article{
			ID: fmt.Sprintf("%08d", i), URL: fmt.Sprintf("https://tass.example/politics/%08d", i), Section: "politics",
			Title: "Лавров обсудил с госсекретарём США ситуацию", Lead: "Министр иностранных дел России провёл разговор.",
			BodyHTML: body, Dateline: "MOSCOW", Authors: []string{"Ivan Petrov"},
			PublishedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
			Image:       &news.Image{URL: "https://tass.example/i.jpg", Width: 1200, Height: 800, Type: "image/jpeg"},
			Related:     []news.Link{{Title: "Earlier", URL: "https://tass.example/1"}},
			Tags:        []string{"russia", "usa"},
		}
		line, err := ArticleJSON(a)
		if err != nil {
			b.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	b.SetBytes(int64(buf.Len() / b.N))
	cpu0 := cpuTime()
	b.ResetTimer()
	n, err := Articles(&buf, "bench", sections, func(news.Article) error { return nil })
	b.StopTimer()
	if err != nil || n != b.N {
		b.Fatalf("Articles = %d, %v", n, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "articles/s")
	// On a shared machine wall time depends on the neighbours; CPU time
	// per article says what the code costs.
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "articles/cpu-s")
}
