package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// benchSubscribers returns n subscribers: every third chose two sections,
// the rest all sections; one in ten is pending.
func benchSubscribers(n int) []news.Subscriber {
	out := make([]news.Subscriber, n)
	for i := range out {
		s := news.Subscriber{Email: fmt.Sprintf("reader%06d@example.com", i), Status: news.StatusActive, DeliveryHour: -1}
		if i%3 == 0 {
			s.Sections = []string{"politics", "world"}
		}
		if i%10 == 9 {
			s.Status = news.StatusPending
		}
		out[i] = s
	}
	return out
}

func benchDB(b *testing.B) *DB {
	b.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for _, s := range []news.Section{{Slug: "politics", Title: "Politics"}, {Slug: "world", Title: "World"}, {Slug: "sport", Title: "Sport"}} {
		if err := db.AddSection(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

func importAll(b *testing.B, db *DB, subs []news.Subscriber) {
	b.Helper()
	_, err := db.ImportSubscribers(context.Background(), time.Unix(1700000000, 0), func(put func(news.Subscriber) error) error {
		for _, s := range subs {
			if err := put(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkImportSubscribers imports 10,000 subscribers (one transaction,
// with a consent-log row each) into a fresh database per op.
func BenchmarkImportSubscribers(b *testing.B) {
	subs := benchSubscribers(10000)
	for b.Loop() {
		b.StopTimer()
		db := benchDB(b)
		b.StartTimer()
		importAll(b, db, subs)
	}
	b.ReportMetric(float64(len(subs)*b.N)/b.Elapsed().Seconds(), "subscribers/s")
}

// BenchmarkListSubscribers lists the active subscribers with their
// sections out of 10,000 and 100,000 (what planning an edition reads).
func BenchmarkListSubscribers(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db := benchDB(b)
			importAll(b, db, benchSubscribers(n))
			ctx := context.Background()
			for b.Loop() {
				subs, err := db.ListSubscribers(ctx, news.StatusActive, "")
				if err != nil || len(subs) != n-n/10 {
					b.Fatalf("%d subscribers, %v", len(subs), err)
				}
			}
		})
	}
}

// BenchmarkEachSubscriber walks the same 100,000 subscribers one at a
// time, as a caller that does not keep them would.
func BenchmarkEachSubscriber(b *testing.B) {
	db := benchDB(b)
	importAll(b, db, benchSubscribers(100000))
	ctx := context.Background()
	for b.Loop() {
		n, withSections := 0, 0
		err := db.EachSubscriber(ctx, news.StatusActive, "", func(s news.Subscriber) error {
			n++
			if len(s.Sections) > 0 {
				withSections++
			}
			return nil
		})
		if err != nil || n != 90000 || withSections == 0 {
			b.Fatalf("%d subscribers (%d with sections), %v", n, withSections, err)
		}
	}
}
