package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

// TestReadsDoNotWaitForWriter holds a write transaction open and reads
// meanwhile: the read must complete (with the last committed data) while
// the writer still holds its lock.
func TestReadsDoNotWaitForWriter(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	pub := time.Date(2017, 1, 29, 0, 0, 0, 0, time.UTC)
	importAll(t, db, pub, article(1, "politics", pub))

	inTx := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := db.ImportArticles(ctx, pub, func(put func(news.Article) error) error {
			if err := put(article(2, "politics", pub.Add(time.Minute))); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
		done <- err
	}()
	<-inTx
	// Bounded only to turn a deadlock into a failure instead of a hang.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := db.LatestArticles(rctx, "politics", 10, pub.Add(time.Hour))
	if err != nil {
		t.Fatalf("read during write: %v", err)
	}
	if diff := cmp.Diff([]string{"000001"}, ids(got)); diff != "" {
		t.Errorf("read during write saw uncommitted data (-want +got):\n%s", diff)
	}
	if _, err := db.ChangeMark(rctx, pub); err != nil {
		t.Errorf("ChangeMark during write: %v", err)
	}
	if err := db.Ping(rctx); err != nil {
		t.Errorf("Ping during write: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("import: %v", err)
	}
	got, _ = db.LatestArticles(ctx, "politics", 10, pub.Add(time.Hour))
	if diff := cmp.Diff([]string{"000002", "000001"}, ids(got)); diff != "" {
		t.Errorf("after commit (-want +got):\n%s", diff)
	}
}

// TestConcurrentWritersQueue runs writers from several goroutines and a
// second DB handle on the same file (as a second process would): none
// fails with SQLITE_BUSY, and every write lands.
func TestConcurrentWritersQueue(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	other, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	pub := time.Date(2017, 1, 29, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		h := db
		if w%2 == 1 {
			h = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.ImportArticles(ctx, pub, func(put func(news.Article) error) error {
				for i := 0; i < 50; i++ {
					if err := put(article(w*1000+i, "world", pub.Add(time.Duration(i)*time.Second))); err != nil {
						return err
					}
				}
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent import: %v", err)
		}
	}
	n, err := db.ArticleCount(ctx)
	if err != nil || n != 400 {
		t.Errorf("ArticleCount = %d, %v; want 400", n, err)
	}
}

func TestCanceledImportWritesNothing(t *testing.T) {
	db, path := openDB(t)
	before := dump(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	pub := time.Date(2017, 1, 29, 0, 0, 0, 0, time.UTC)
	_, err := db.ImportArticles(ctx, pub, func(put func(news.Article) error) error {
		for i := 0; ; i++ {
			if i == 100 {
				cancel()
			}
			if err := put(article(i, "world", pub)); err != nil {
				return err
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled import = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff(before, dump(t, path)); diff != "" {
		t.Errorf("database changed (-before +after):\n%s", diff)
	}
}
