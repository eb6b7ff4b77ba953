package digest

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// benchEdition is an edition of realistic size: 8 sections of 8 articles,
// every other one with a thumbnail, half of the sections in Cyrillic.
func benchEdition(tb testing.TB) *news.Edition {
	loc := moscow(tb)
	cutoff := time.Date(2017, 1, 29, 8, 0, 0, 0, loc)
	ed := &news.Edition{ID: 1, Date: "2017-01-29", From: cutoff.Add(-24 * time.Hour), Cutoff: cutoff}
	for s := range 8 {
		sec := news.Section{Slug: fmt.Sprintf("section-%d", s), Title: fmt.Sprintf("Section %d", s), Position: s}
		es := news.EditionSection{Section: sec}
		for a := range 8 {
			art := news.Article{
				ID:          fmt.Sprintf("a%d-%d", s, a),
				URL:         fmt.Sprintf("https://press.example.com/%s/2017/01/29/article-%d-%d", sec.Slug, s, a),
				Section:     sec.Slug,
				Title:       "Government and opposition agree on a timetable for the budget debate after a week of talks",
				Lead:        "The agreement, reached late on Saturday, sets the first reading for the second week of February and leaves the most contested items, pensions and defence, to a conciliation committee of both chambers.",
				Dateline:    "MOSCOW",
				PublishedAt: cutoff.Add(-time.Duration(s*8+a) * 17 * time.Minute),
				TopStory:    a == 0,
			}
			if s%2 == 1 {
				art.Title = "Правительство и оппозиция договорились о графике бюджетных слушаний после недели переговоров"
				art.Lead = "Соглашение, достигнутое поздно вечером в субботу, назначает первое чтение на вторую неделю февраля и оставляет самые спорные статьи согласительной комиссии обеих палат."
				art.Dateline = "МОСКВА"
			}
			if a%2 == 0 {
				art.Image = &news.Image{URL: "https://img.example.com/" + art.ID + ".jpg", Caption: "A caption", Width: 1200, Height: 800}
			}
			es.Articles = append(es.Articles, art)
		}
		ed.Sections = append(ed.Sections, es)
	}
	for i := range 5 {
		ed.MostRead = append(ed.MostRead, ed.Sections[i*3%8].Articles[i])
	}
	return ed
}

// benchReaders makes n deliveries: a quarter take all sections, the rest
// a random subset of one to four sections.
func benchReaders(n int) []*news.Delivery {
	rng := rand.New(rand.NewPCG(1, 2))
	ds := make([]*news.Delivery, n)
	for i := range ds {
		d := &news.Delivery{ID: int64(i + 1), SubscriberID: int64(i + 1), EditionID: 1, EditionDate: "2017-01-29",
			Email:          fmt.Sprintf("reader%d@example.org", i),
			PreferencesURL: fmt.Sprintf("https://press.example.com/preferences?t=%032x", rng.Uint64()),
			UnsubscribeURL: fmt.Sprintf("https://press.example.com/unsubscribe?t=%032x", rng.Uint64())}
		if i%4 != 0 {
			for _, s := range rng.Perm(8)[:1+rng.IntN(4)] {
				d.Sections = append(d.Sections, fmt.Sprintf("section-%d", s))
			}
		}
		ds[i] = d
	}
	return ds
}

// BenchmarkCompose100k prepares one edition and composes it for 100,000
// readers on GOMAXPROCS workers; it reports messages per second.
func BenchmarkCompose100k(b *testing.B) {
	r := newFixtureRenderer(b)
	ed := benchEdition(b)
	readers := benchReaders(100_000)
	now := time.Date(2017, 1, 29, 5, 0, 0, 0, time.UTC)
	workers := runtime.GOMAXPROCS(0)
	var bytes atomic.Int64
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime(b)
	for b.Loop() {
		p, err := r.Prepare(ed)
		if err != nil {
			b.Fatal(err)
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(len(readers)) {
						return
					}
					m, err := p.Compose(readers[i], now)
					if err != nil {
						b.Error(err)
						return
					}
					bytes.Add(int64(len(m.HTML) + len(m.Text)))
				}
			})
		}
		wg.Wait()
	}
	elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
	msgs := float64(b.N) * float64(len(readers))
	b.ReportMetric(msgs/elapsed.Seconds(), "msgs/s")
	// CPU seconds (user+system, all threads, GC included) per message: on
	// a machine shared with other work, wall-clock rates understate what
	// two free cores do; this figure does not.
	b.ReportMetric(float64(cpu.Microseconds())/msgs, "cpu-µs/msg")
	b.ReportMetric(float64(bytes.Load())/msgs, "bytes/msg")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkComposeOne is the per-message cost on one goroutine.
func BenchmarkComposeOne(b *testing.B) {
	r := newFixtureRenderer(b)
	p, err := r.Prepare(benchEdition(b))
	if err != nil {
		b.Fatal(err)
	}
	readers := benchReaders(1024)
	now := time.Date(2017, 1, 29, 5, 0, 0, 0, time.UTC)
	i := 0
	for b.Loop() {
		if _, err := p.Compose(readers[i%len(readers)], now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPrepare is the once-per-edition cost of rendering the blocks.
func BenchmarkPrepare(b *testing.B) {
	r := newFixtureRenderer(b)
	ed := benchEdition(b)
	for b.Loop() {
		if _, err := r.Prepare(ed); err != nil {
			b.Fatal(err)
		}
	}
}
