package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/ingest"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

// benchSections are the demo's eight sections.
var benchSections = []news.Section{
	{Slug: "politics", Title: "Russian Politics & Diplomacy", Position: 1},
	{Slug: "world", Title: "World", Position: 2},
	{Slug: "economy", Title: "Business & Economy", Position: 3},
	{Slug: "defense", Title: "Military & Defense", Position: 4},
	{Slug: "science", Title: "Science & Space", Position: 5},
	{Slug: "society", Title: "Society & Culture", Position: 6},
	{Slug: "sport", Title: "Sport", Position: 7},
	{Slug: "pressreview", Title: "Press Review", Position: 8},
}

var benchEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, msk)

// benchArticle is a wire-realistic article: ~2 KB of HTML, Cyrillic text,
// an image on every other one, related links and tags.
func benchArticle(i int) news.Article {
	id := fmt.Sprintf("%08d", i)
	sec := benchSections[i%len(benchSections)].Slug
	a := news.Article{
		ID:          id,
		URL:         "https://tass.example/" + sec + "/" + id,
		Section:     sec,
		Title:       fmt.Sprintf("Лавров обсудил с госсекретарём США ситуацию, выпуск %d", i),
		Lead:        "Министр иностранных дел России провёл телефонный разговор с коллегой; стороны договорились продолжить контакты.",
		BodyHTML:    strings.Repeat("<p>MOSCOW, January 29. /TASS/. Russian Foreign Minister Sergey Lavrov held talks on Sunday, the ministry said. Стороны обсудили двусторонние отношения.</p>", 12),
		Dateline:    "MOSCOW",
		Authors:     []string{"Ivan Petrov", "Anna Smirnova"},
		PublishedAt: benchEpoch.Add(time.Duration(i) * time.Minute),
		Tags:        []string{"russia", "usa", "diplomacy"},
		Related: []news.Link{
			{Title: "Earlier talks", URL: "https://tass.example/politics/1"},
			{Title: "Background", URL: "https://tass.example/world/2"},
		},
		TopStory: i%25 == 0,
	}
	if i%2 == 0 {
		a.Image = &news.Image{URL: "https://tass.example/img/" + id + ".jpg", Caption: "Sergey Lavrov",
			Credit: "TASS", Type: "image/jpeg", Width: 1200, Height: 800, Length: 183244}
	}
	return a
}

func benchJSONL(b *testing.B, from, n int) []byte {
	var buf bytes.Buffer
	for i := from; i < from+n; i++ {
		line, err := ingest.ArticleJSON(benchArticle(i))
		if err != nil {
			b.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func openBenchDB(b *testing.B, path string) *store.DB {
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkImport measures the import path end to end (JSON Lines through
// ingest into one store transaction) per article.
func BenchmarkImport(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, db *store.DB, data []byte, check func(store.ImportCounts)) {
		b.SetBytes(int64(len(data) / b.N))
		cpu0 := cpuTime()
		b.ResetTimer()
		c, err := db.ImportArticles(ctx, benchEpoch, func(put func(news.Article) error) error {
			_, err := ingest.Articles(bytes.NewReader(data), "bench.jsonl", benchSections, put)
			return err
		})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		check(c)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "articles/s")
		// On a shared machine wall time depends on the neighbours; CPU
		// time says what the work costs (parsing runs in parallel, so a
		// quiet 2-core machine does better than articles/cpu-s).
		b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "articles/cpu-s")
	}
	b.Run("insert", func(b *testing.B) {
		db := openBenchDB(b, filepath.Join(b.TempDir(), "import.db"))
		defer db.Close()
		for _, s := range benchSections {
			if err := db.AddSection(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		data := benchJSONL(b, 0, b.N)
		run(b, db, data, func(c store.ImportCounts) {
			if c.Inserted != b.N {
				b.Fatalf("inserted %d, want %d", c.Inserted, b.N)
			}
		})
	})
	b.Run("store-only", func(b *testing.B) {
		db := openBenchDB(b, filepath.Join(b.TempDir(), "import.db"))
		defer db.Close()
		for _, s := range benchSections {
			if err := db.AddSection(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		as := make([]news.Article, b.N)
		for i := range as {
			as[i] = benchArticle(i)
		}
		cpu0 := cpuTime()
		b.ResetTimer()
		c, err := db.ImportArticles(ctx, benchEpoch, func(put func(news.Article) error) error {
			for _, a := range as {
				if err := put(a); err != nil {
					return err
				}
			}
			return nil
		})
		b.StopTimer()
		if err != nil || c.Inserted != b.N {
			b.Fatalf("import = %+v, %v", c, err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "articles/s")
		b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "articles/cpu-s")
	})
	b.Run("unchanged", func(b *testing.B) {
		db := openBenchDB(b, filepath.Join(b.TempDir(), "import.db"))
		defer db.Close()
		for _, s := range benchSections {
			if err := db.AddSection(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		data := benchJSONL(b, 0, b.N)
		if _, err := db.ImportArticles(ctx, benchEpoch, func(put func(news.Article) error) error {
			_, err := ingest.Articles(bytes.NewReader(data), "bench.jsonl", benchSections, put)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		run(b, db, data, func(c store.ImportCounts) {
			if c.Unchanged != b.N {
				b.Fatalf("unchanged %d, want %d", c.Unchanged, b.N)
			}
		})
	})
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDB returns a database of n articles (eight sections, one a minute,
// every 25th a top story, the newest 5,000 with 48 hourly view buckets).
// It is built once with INSERT ... SELECT from a recursive CTE and cached
// under os.TempDir, keyed by schema version and size.
func benchDB(b *testing.B, n int) (*store.DB, time.Time) {
	b.Helper()
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), "pressroom-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("articles-v%d-%d.db", store.LatestSchemaVersion(), n))
	now := time.Unix(benchEpoch.Unix()+int64(n)*60, 0)
	if _, err := os.Stat(path); err == nil {
		return openBenchDB(b, path), now
	}
	tmp := path + ".building"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	db := openBenchDB(b, tmp)
	for _, s := range benchSections {
		if err := db.AddSection(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	raw, err := sql.Open("sqlite", "file:"+tmp+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-200000)")
	if err != nil {
		b.Fatal(err)
	}
	var sectionCase strings.Builder
	sectionCase.WriteString("CASE i % 8")
	for i, s := range benchSections {
		fmt.Fprintf(&sectionCase, " WHEN %d THEN '%s'", i, s.Slug)
	}
	sectionCase.WriteString(" END")
	body := strings.Repeat("<p>MOSCOW, January 29. /TASS/. Russian Foreign Minister Sergey Lavrov held talks on Sunday.</p>", 20)
	start := time.Now()
	_, err = raw.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
		INSERT INTO articles (id, url, section, title, lead, body_html, dateline, authors,
			published_at, published_offset, updated_at, updated_offset, image_url, image_type,
			image_width, image_height, related, tags, top_story, content_hash)
		SELECT printf('%08d', i), printf('https://tass.example/a/%08d', i), `+sectionCase.String()+`,
			printf('Title %d', i), 'Lead of the article', substr(?, 1, 1000 + i % 1000), 'MOSCOW', '["Ivan Petrov"]',
			? + i * 60, 10800, ? + i * 60, 10800,
			CASE WHEN i % 2 = 0 THEN printf('https://tass.example/img/%d.jpg', i) END, 'image/jpeg', 1200, 800,
			'[{"title":"Earlier","url":"https://tass.example/1"}]', '["russia","usa"]', i % 25 = 0, randomblob(16)
		FROM n`, n, body, benchEpoch.Unix(), benchEpoch.Unix())
	if err != nil {
		b.Fatal(err)
	}
	_, err = raw.ExecContext(ctx, `WITH RECURSIVE h(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM h WHERE k < 47)
		INSERT INTO article_views (article_seq, hour, count)
		SELECT a.seq, (a.published_at / 3600 + h.k) * 3600, abs(random() % 500)
		FROM articles a CROSS JOIN h WHERE a.seq > (SELECT max(seq) FROM articles) - 5000`)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	raw.Close()
	b.Logf("built %s in %v", path, time.Since(start).Round(time.Millisecond))
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return openBenchDB(b, path), now
}

var benchSizes = []struct {
	name string
	n    int
}{{"rows=10k", 10_000}, {"rows=1M", 1_000_000}}

// BenchmarkLatestSection is "latest 50 of a section": the query behind
// every section feed. It should not grow with the table.
func BenchmarkLatestSection(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			db, now := benchDB(b, size.n)
			defer db.Close()
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				as, err := db.LatestArticles(ctx, "politics", 50, now)
				if err != nil || len(as) != 50 {
					b.Fatalf("LatestArticles = %d, %v", len(as), err)
				}
			}
		})
	}
}

// BenchmarkLatestAll, BenchmarkTopStories and BenchmarkMostRead cover the
// other listing queries on the same databases.
func BenchmarkLatestAll(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			db, now := benchDB(b, size.n)
			defer db.Close()
			for i := 0; i < b.N; i++ {
				if as, err := db.LatestArticles(context.Background(), "", 50, now); err != nil || len(as) != 50 {
					b.Fatalf("LatestArticles = %d, %v", len(as), err)
				}
			}
		})
	}
}

func BenchmarkTopStories(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			db, now := benchDB(b, size.n)
			defer db.Close()
			for i := 0; i < b.N; i++ {
				if as, err := db.TopStories(context.Background(), 10, now); err != nil || len(as) != 10 {
					b.Fatalf("TopStories = %d, %v", len(as), err)
				}
			}
		})
	}
}

func BenchmarkMostRead(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			db, now := benchDB(b, size.n)
			defer db.Close()
			for i := 0; i < b.N; i++ {
				if as, err := db.MostRead(context.Background(), now.Add(-24*time.Hour), now, 10); err != nil || len(as) != 10 {
					b.Fatalf("MostRead = %d, %v", len(as), err)
				}
			}
		})
	}
}

func BenchmarkChangeMark(b *testing.B) {
	db, now := benchDB(b, 1_000_000)
	defer db.Close()
	for i := 0; i < b.N; i++ {
		if _, err := db.ChangeMark(context.Background(), now); err != nil {
			b.Fatal(err)
		}
	}
}
