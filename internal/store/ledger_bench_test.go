package store

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// BenchmarkLedgerStep is the ledger's side of a delivery run: each op is
// one group commit of the delivery writer with 4 workers and chunks of
// 50, recording 200 results (sent) and claiming the next 200 rows,
// against an edition of 20,000 deliveries. The rows are put back in the
// queue, outside the timer, when the edition runs out. ns/row is the
// cost per delivery.
func BenchmarkLedgerStep(b *testing.B) {
	const n, workers, chunk = 20000, 4, 50
	ctx := context.Background()
	db := benchDB(b)
	importAll(b, db, benchSubscribers(n))
	var edition int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO editions (date, created_at) VALUES ('2017-01-29', ?)`, t0.Unix())
		if err != nil {
			return err
		}
		edition, _ = res.LastInsertId()
		_, err = tx.Exec(`INSERT INTO deliveries (edition_id, subscriber_id, state, sections, due_at)
			SELECT ?, id, 'queued', 'politics,world', ? FROM subscribers WHERE status = 'active'`, edition, t0.Unix())
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	now := t0.Add(time.Minute)
	if _, err := db.BeginDelivery(ctx, news.LedgerBegin{EditionID: edition, Owner: "bench", Now: now, LeaseTTL: time.Hour}); err != nil {
		b.Fatal(err)
	}
	claims := make([]int, workers)
	for i := range claims {
		claims[i] = chunk
	}
	var results []news.DeliveryResult
	rows := 0
	b.ReportAllocs()
	for b.Loop() {
		got, err := db.LedgerStep(ctx, news.LedgerStep{EditionID: edition, Owner: "bench", Now: now,
			LeaseTTL: time.Hour, Results: results, Claims: claims})
		if err != nil {
			b.Fatal(err)
		}
		rows += len(results)
		results = results[:0]
		for _, w := range got {
			for _, c := range w {
				results = append(results, news.DeliveryResult{DeliveryID: c.ID, SubscriberID: c.SubscriberID,
					State: news.DeliverySent, Attempted: true, At: now, Reply: "250 2.0.0 Ok: queued as 4A1B2",
					MessageID: "digest.2017-01-29.s1.tag@news.example"})
			}
		}
		if len(results) == 0 {
			b.StopTimer()
			if err := db.Write(ctx, func(tx *sql.Tx) error {
				_, err := tx.Exec(`UPDATE deliveries SET state = 'queued', attempts = 0, sent_at = NULL WHERE edition_id = ?`, edition)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	if rows > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
	}
}
