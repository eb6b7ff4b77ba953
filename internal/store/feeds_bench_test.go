package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/pressroom/pressroom/feeds"
)

// BenchmarkFeedsBuild builds every feed (8 sections + all, top and
// most-read, x 3 formats, + OPML) from the cached benchmark databases of
// 10k and 1M articles: the work a feed rebuild does when the change mark
// moves. It lives here to share benchDB; the feeds package cannot import
// the store. Reports CPU time per build too, which the shared machine's
// load inflates less than wall time.
func BenchmarkFeedsBuild(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			db, now := benchDB(b, size.n)
			defer db.Close()
			fb, err := feeds.New(feeds.Options{BaseURL: "https://news.example.com"})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			cpu0 := cpuTime()
			for b.Loop() {
				set, err := fb.Build(ctx, db, now)
				if err != nil {
					b.Fatal(err)
				}
				if len(set.Files) != 34 {
					b.Fatalf("%d files, want 34", len(set.Files))
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0)/time.Microsecond)/float64(b.N)/1000, "cpu-ms/op")
		})
	}
}
