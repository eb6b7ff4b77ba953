package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

func TestAPITokens(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	h1 := sha256.Sum256([]byte("token-one"))
	h2 := sha256.Sum256([]byte("token-two"))
	if err := db.CreateAPIToken(ctx, "cms", h1[:], t0); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAPIToken(ctx, "backfill", h2[:], t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAPIToken(ctx, "cms", h2[:], t0); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateAPIToken(duplicate name) = %v, want ErrExists", err)
	}
	var fe *news.FieldError
	if err := db.CreateAPIToken(ctx, "has space", h2[:], t0); !errors.As(err, &fe) {
		t.Errorf("CreateAPIToken(bad name) = %v, want a FieldError", err)
	}
	if err := db.CreateAPIToken(ctx, "short", []byte("abc"), t0); err == nil {
		t.Error("CreateAPIToken(3-byte hash) succeeded")
	}

	if err := db.RevokeAPIToken(ctx, "cms", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A second revocation keeps the first time.
	if err := db.RevokeAPIToken(ctx, "cms", t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeAPIToken(ctx, "nobody", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAPIToken(unknown) = %v, want ErrNotFound", err)
	}
	got, err := db.APITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []news.APIToken{
		{Name: "backfill", Hash: h2[:], CreatedAt: t0.Add(time.Hour)},
		{Name: "cms", Hash: h1[:], CreatedAt: t0, RevokedAt: t0.Add(2 * time.Hour)},
	}
	if len(got) != len(want) {
		t.Fatalf("APITokens = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || string(g.Hash) != string(w.Hash) || !g.CreatedAt.Equal(w.CreatedAt) || !g.RevokedAt.Equal(w.RevokedAt) {
			t.Errorf("APITokens[%d] = %+v, want %+v", i, g, w)
		}
	}
}

// TestBackupWhileWriting takes a snapshot while another goroutine keeps
// committing batches (articles plus their views, one transaction each),
// restores it, and checks that it holds exactly the batches committed
// before some instant: every table's row count matches one batch boundary,
// and no batch is half there.
func TestBackupWhileWriting(t *testing.T) {
	db, path := openDB(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	const perBatch = 20
	batch := func(b int) error {
		var as []news.Article
		for i := range perBatch {
			n := b*perBatch + i
			as = append(as, article(n, testSections[n%len(testSections)].Slug, now.Add(-time.Duration(n)*time.Minute)))
		}
		if _, err := db.ImportArticles(ctx, now, func(put func(news.Article) error) error {
			for _, a := range as {
				if err := put(a); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		_, err := db.ImportViews(ctx, func(put func(news.ViewCount) error) error {
			for _, a := range as {
				if err := put(news.ViewCount{ArticleID: a.ID, At: now.Add(-time.Hour), Count: 7}); err != nil {
					return err
				}
			}
			return nil
		})
		return err
	}
	for b := range 50 { // a base large enough that the copy takes a while
		if err := batch(b); err != nil {
			t.Fatal(err)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	var written int
	wg.Go(func() {
		for b := 50; ; b++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := batch(b); err != nil {
				writeErr = err
				return
			}
			written = b + 1
		}
	})
	// Let the writer get going, then snapshot twice while it writes.
	time.Sleep(50 * time.Millisecond)
	dir := t.TempDir()
	snaps := []string{filepath.Join(dir, "one.db"), filepath.Join(dir, "two.db")}
	for _, s := range snaps {
		if err := db.Backup(ctx, s); err != nil {
			t.Fatalf("Backup: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("writer: %v", writeErr)
	}
	if written <= 50 {
		t.Fatalf("the writer committed no batch during the test")
	}
	if err := db.Backup(ctx, snaps[0]); !errors.Is(err, os.ErrExist) {
		t.Errorf("Backup over an existing file = %v, want os.ErrExist", err)
	}
	if _, err := os.Stat(snaps[0] + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a .partial file was left behind: %v", err)
	}

	srcArticles := count(t, path, "articles")
	prev := 0
	for _, s := range snaps {
		// Restore: copy the snapshot to a new place and open it as a
		// database of its own.
		restored := filepath.Join(t.TempDir(), "restored.db")
		raw, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(restored, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		rdb, err := store.Open(ctx, restored, store.Options{})
		if err != nil {
			t.Fatalf("open restored snapshot: %v", err)
		}
		if err := integrity(restored); err != nil {
			t.Errorf("%s: %v", s, err)
		}
		arts, views := count(t, restored, "articles"), count(t, restored, "article_views")
		if arts%perBatch != 0 || views != arts && views != arts-perBatch {
			t.Errorf("%s: %d articles and %d view buckets: not a batch boundary (%d per batch)", s, arts, views, perBatch)
		}
		if arts < 50*perBatch || arts > srcArticles || arts < prev {
			t.Errorf("%s: %d articles, want between %d and %d and not fewer than the earlier snapshot's %d", s, arts, 50*perBatch, srcArticles, prev)
		}
		t.Logf("%s: %d articles of %d at the end", filepath.Base(s), arts, srcArticles)
		prev = arts
		// The restored database answers the queries serve makes.
		latest, err := rdb.LatestArticles(ctx, "", 5, now)
		if err != nil || len(latest) != 5 {
			t.Errorf("restored LatestArticles = %d articles, %v", len(latest), err)
		}
		toks, err := rdb.APITokens(ctx)
		if err != nil || len(toks) != 0 {
			t.Errorf("restored APITokens = %v, %v", toks, err)
		}
		rdb.Close()
	}
}

// count returns the number of rows of table in the database file at path.
func count(t *testing.T, path, table string) int {
	t.Helper()
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n int
	if err := c.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
		t.Fatalf("count %s in %s: %v", table, path, err)
	}
	return n
}

func integrity(path string) error {
	c, err := sql.Open("sqlite", "file:"+path+"?_query_only=1")
	if err != nil {
		return err
	}
	defer c.Close()
	var res string
	if err := c.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return fmt.Errorf("integrity_check: %s", res)
	}
	return nil
}

func TestPruneViews(t *testing.T) {
	db, path := openDB(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	importAll(t, db, now, article(1, "politics", now.Add(-200*24*time.Hour)))
	if _, err := db.ImportViews(ctx, func(put func(news.ViewCount) error) error {
		for _, d := range []int{200, 100, 91, 89, 1} {
			if err := put(news.ViewCount{ArticleID: "000001", At: now.Add(-time.Duration(d) * 24 * time.Hour), Count: int64(d)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n, err := db.PruneViews(ctx, now.Add(-90*24*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("PruneViews = %d, %v; want 3 buckets older than 90 days", n, err)
	}
	total, err := db.ArticleViews(ctx, "000001", now.Add(-365*24*time.Hour), now)
	if err != nil || total != 89+1 {
		t.Errorf("views left = %d, %v; want %d", total, err, 89+1)
	}
	if got := count(t, path, "article_views"); got != 2 {
		t.Errorf("article_views rows = %d, want 2", got)
	}
}

// ledger inserts editions, subscribers and deliveries straight into the
// file: the digest and delivery code that normally writes them is not
// what this test is about.
func ledger(t *testing.T, path string, stmts ...string) {
	t.Helper()
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range stmts {
		if _, err := c.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestPruneDeliveriesAndCounts(t *testing.T) {
	db, path := openDB(t)
	ctx := context.Background()
	day := func(d int) int64 { return time.Date(2026, 11, d, 6, 0, 0, 0, time.UTC).Unix() }
	ledger(t, path,
		`INSERT INTO subscribers (id, email, email_key, created_at) VALUES (1, 'a@example.com', 'a@example.com', 0), (2, 'b@example.com', 'b@example.com', 0)`,
		fmt.Sprintf(`INSERT INTO editions (id, date, created_at, cutoff) VALUES (1, '2026-11-01', 0, %d), (2, '2026-11-26', 0, %d)`, day(1), day(26)),
		`INSERT INTO deliveries (id, edition_id, subscriber_id, state) VALUES (1, 1, 1, 'sent'), (2, 1, 2, 'failed'), (3, 2, 1, 'sent'), (4, 2, 2, 'queued')`,
		`INSERT INTO bounce_events (delivery_id, subscriber_id, kind, report_key, at) VALUES (2, 2, 'hard', 'r1', 0), (4, 2, 'soft', 'r2', 0)`,
		`INSERT INTO consent_log (subscriber_id, at, action, source) VALUES (1, 0, 'subscribe', 'web'), (2, 0, 'bounced', 'bounce')`,
	)
	counts, err := db.DeliveryStateCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"sent": 2, "failed": 1, "queued": 1}; !maps(counts, want) {
		t.Errorf("DeliveryStateCounts = %v, want %v", counts, want)
	}
	n, err := db.PruneDeliveries(ctx, time.Unix(day(10), 0))
	if err != nil || n != 2 {
		t.Fatalf("PruneDeliveries = %d, %v; want the 2 deliveries of the 1 November edition", n, err)
	}
	counts, _ = db.DeliveryStateCounts(ctx)
	if want := map[string]int64{"sent": 1, "queued": 1}; !maps(counts, want) {
		t.Errorf("DeliveryStateCounts after pruning = %v, want %v", counts, want)
	}
	for table, want := range map[string]int{"editions": 2, "subscribers": 2, "consent_log": 2, "bounce_events": 1, "deliveries": 2} {
		if got := count(t, path, table); got != want {
			t.Errorf("%s rows after pruning = %d, want %d", table, got, want)
		}
	}
}

func maps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if b[k] != a[k] {
			return false
		}
	}
	return true
}
