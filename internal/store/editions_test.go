package store_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

func testEdition() *news.Edition {
	a := article(1, "politics", time.Date(2017, 1, 29, 7, 0, 0, 0, msk))
	a.TopStory = true
	a.UpdatedAt = a.PublishedAt.Add(time.Minute)
	a.Image = &news.Image{URL: "https://img.example.com/1.jpg", Caption: "Кремль", Width: 1200, Height: 800, Type: "image/jpeg", Length: 1234}
	a.Related = []news.Link{{Title: "Also", URL: "https://example.com/also"}}
	b := article(2, "world", time.Date(2017, 1, 28, 22, 0, 0, 0, time.UTC))
	b.UpdatedAt = b.PublishedAt
	return &news.Edition{
		Date: "2017-01-29", From: time.Date(2017, 1, 28, 5, 0, 0, 0, time.UTC), Cutoff: time.Date(2017, 1, 29, 5, 0, 0, 0, time.UTC),
		PlannedAt: time.Date(2017, 1, 29, 5, 0, 1, 0, time.UTC),
		Sections: []news.EditionSection{
			{Section: testSections[0], Articles: []news.Article{a}},
			{Section: testSections[1], Articles: []news.Article{b}},
			{Section: testSections[2]},
		},
		MostRead: []news.Article{b, a},
	}
}

func TestCreateEditionRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	ed := testEdition()
	got, created, err := db.CreateEdition(ctx, ed, nil)
	if err != nil || !created {
		t.Fatalf("CreateEdition = created %v, %v", created, err)
	}
	ed.ID = got.ID
	if diff := cmp.Diff(*ed, got, cmp.Comparer(func(a, b time.Time) bool {
		_, oa := a.Zone()
		_, ob := b.Zone()
		return a.Equal(b) && (oa == ob || a.Location() == time.UTC || b.Location() == time.UTC)
	})); diff != "" {
		t.Errorf("stored edition differs (-want +got):\n%s", diff)
	}
	// An article snapshot keeps its original offset.
	if _, off := got.Sections[0].Articles[0].PublishedAt.Zone(); off != 3*3600 {
		t.Errorf("snapshot offset = %d, want +3h", off)
	}

	// A second edition of the same date writes nothing and returns the first.
	before := dump(t, path)
	other := testEdition()
	other.Sections[0].Articles = nil
	again, created, err := db.CreateEdition(ctx, other, []news.Delivery{{SubscriberID: 1}})
	if err != nil || created || again.ID != got.ID || again.ArticleCount() != 2 {
		t.Fatalf("second CreateEdition = id %d created %v articles %d, %v; want the first edition unchanged", again.ID, created, again.ArticleCount(), err)
	}
	if after := dump(t, path); after != before {
		t.Errorf("second CreateEdition changed the database")
	}

	list, err := db.Editions(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []news.EditionSummary{{ID: got.ID, Date: "2017-01-29", Cutoff: ed.Cutoff, PlannedAt: ed.PlannedAt, Articles: 2, TopStory: "Title 000001"}}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("Editions (-want +got):\n%s", diff)
	}
	if _, err := db.EditionByDate(ctx, "2017-01-30"); !errors.Is(err, store.ErrNotFound) || !errors.Is(err, news.ErrNoEdition) {
		t.Errorf("EditionByDate(unplanned) error = %v, want ErrNotFound and news.ErrNoEdition", err)
	}
	if prev, err := db.PreviousEdition(ctx, "2017-02-05"); err != nil || prev.ID != got.ID || !prev.Cutoff.Equal(ed.Cutoff) {
		t.Errorf("PreviousEdition = %+v, %v", prev, err)
	}
	if _, err := db.PreviousEdition(ctx, "2017-01-29"); !errors.Is(err, news.ErrNoEdition) {
		t.Errorf("PreviousEdition(first date) error = %v, want news.ErrNoEdition", err)
	}
}

func TestEditionIsFrozen(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	if _, _, err := db.CreateEdition(ctx, testEdition(), nil); err != nil {
		t.Fatal(err)
	}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE editions SET content = '{}' WHERE date = '2017-01-29'`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("updating an edition's content: err = %v, want the trigger's refusal", err)
	}
}

func TestCreateEditionDeliveries(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	ev := news.ConsentEvent{At: time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), Source: news.SourceCLI}
	a, err := db.AddSubscriber(ctx, news.Subscriber{Email: "a@example.com", Name: "Анна", Status: news.StatusActive, DeliveryHour: -1}, ev)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.AddSubscriber(ctx, news.Subscriber{Email: "b@example.com", Status: news.StatusActive, Sections: []string{"sport", "world"}, DeliveryHour: -1}, ev)
	if err != nil {
		t.Fatal(err)
	}
	ed, _, err := db.CreateEdition(ctx, testEdition(), []news.Delivery{
		{SubscriberID: a.ID, State: news.DeliveryQueued},
		{SubscriberID: b.ID, Sections: []string{"sport", "world"}, State: news.DeliverySkipped, Reason: "no articles"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := db.Deliveries(ctx, ed.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []news.Delivery{
		{ID: ds[0].ID, EditionID: ed.ID, EditionDate: "2017-01-29", SubscriberID: a.ID, Email: "a@example.com", Name: "Анна", State: news.DeliveryQueued},
		{ID: ds[1].ID, EditionID: ed.ID, EditionDate: "2017-01-29", SubscriberID: b.ID, Email: "b@example.com", Sections: []string{"sport", "world"}, State: news.DeliverySkipped, Reason: "no articles"},
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("Deliveries (-want +got):\n%s", diff)
	}
	queued, err := db.Deliveries(ctx, ed.ID, news.DeliveryQueued)
	if err != nil || len(queued) != 1 || queued[0].SubscriberID != a.ID {
		t.Errorf("Deliveries(queued) = %+v, %v", queued, err)
	}
	counts, err := db.DeliveryCounts(ctx, ed.ID)
	if diff := cmp.Diff(map[news.DeliveryState]int{news.DeliveryQueued: 1, news.DeliverySkipped: 1}, counts); err != nil || diff != "" {
		t.Errorf("DeliveryCounts (-want +got): %v\n%s", err, diff)
	}

	// A delivery to an unknown subscriber fails the whole edition.
	before := dump(t, path)
	bad := testEdition()
	bad.Date = "2017-01-30"
	if _, _, err := db.CreateEdition(ctx, bad, []news.Delivery{{SubscriberID: a.ID}, {SubscriberID: 999}}); err == nil {
		t.Fatalf("CreateEdition with an unknown subscriber: no error")
	}
	if after := dump(t, path); after != before {
		t.Errorf("a failed CreateEdition changed the database")
	}
}
