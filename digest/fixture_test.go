package digest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressroom/pressroom/internal/news"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// moscow is the newsroom's zone in the fixtures. Europe/Moscow has had no
// DST since 2014, so times are stable.
func moscow(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatalf("load zone: %v", err)
	}
	return loc
}

const longTitle = "Foreign ministers of the Group of Twenty agree after eleven hours of talks in Bonn on a joint statement about humanitarian corridors, sanctions relief and the timetable for the next round of negotiations"

// fixtureEdition is a fixed edition: three sections with articles (one in
// Cyrillic, one with a long title and a thumbnail), one empty section, and
// a "Most read" list across sections.
func fixtureEdition(t testing.TB) *news.Edition {
	loc := moscow(t)
	at := func(day, h, m int) time.Time { return time.Date(2017, 1, day, h, m, 0, 0, loc) }
	politics := news.Section{Slug: "politics", Title: "Russian Politics & Diplomacy", Position: 1}
	world := news.Section{Slug: "world", Title: "World", Position: 2}
	culture := news.Section{Slug: "culture", Title: "Культура", Position: 3}
	sport := news.Section{Slug: "sport", Title: "Sport", Position: 4}

	p1 := news.Article{ID: "p1", URL: "https://press.example.com/politics/p1", Section: "politics",
		Title: "Kremlin & White House <confirm> first phone call", Lead: "The presidents spoke for almost an hour, the Kremlin said on Saturday.",
		Dateline: "MOSCOW", PublishedAt: at(28, 21, 10), TopStory: true,
		Image: &news.Image{URL: "https://img.example.com/p1.jpg", Caption: "The <em>Kremlin</em> in winter", Width: 1200, Height: 800, Type: "image/jpeg"}}
	p2 := news.Article{ID: "p2", URL: "https://press.example.com/politics/p2?ref=home", Section: "politics",
		Title: longTitle, Lead: "The statement, published after midnight, names no date for the talks but commits the ministers to meeting again before the summer.",
		Dateline: "BONN", PublishedAt: at(29, 6, 45)}
	w1 := news.Article{ID: "w1", URL: "https://press.example.com/world/w1", Section: "world",
		Title: "Snowstorm closes airports across the north-east", Lead: "More than 3,000 flights were cancelled.",
		Dateline: "NEW YORK", PublishedAt: at(29, 7, 5),
		Image: &news.Image{URL: "https://img.example.com/w1.jpg", Width: 640, Height: 640}}
	c1 := news.Article{ID: "c1", URL: "https://press.example.com/culture/c1", Section: "culture",
		Title: "Большой театр открывает сезон премьерой «Нуреева»", Lead: "Спектакль Кирилла Серебренникова покажут в новой редакции; билеты распроданы за два часа.",
		Dateline: "МОСКВА", PublishedAt: at(29, 5, 0), TopStory: true}
	return &news.Edition{
		ID: 7, Date: "2017-01-29", From: at(28, 8, 0), Cutoff: at(29, 8, 0), PlannedAt: at(29, 8, 0),
		Sections: []news.EditionSection{
			{Section: politics, Articles: []news.Article{p1, p2}},
			{Section: world, Articles: []news.Article{w1}},
			{Section: culture, Articles: []news.Article{c1}},
			{Section: sport},
		},
		MostRead: []news.Article{c1, w1, p2, p1},
	}
}

// The two fixture readers: one chose politics and culture, the other
// world and sport (sport has no articles in the fixture).
func readerAnna() *news.Delivery {
	return &news.Delivery{ID: 101, EditionID: 7, EditionDate: "2017-01-29", SubscriberID: 1,
		Email: "anna@example.org", Name: "Анна Петрова", Sections: []string{"culture", "politics"},
		PreferencesURL: "https://press.example.com/preferences?t=anna-pref-token",
		UnsubscribeURL: "https://press.example.com/unsubscribe?t=anna-unsub-token", State: news.DeliveryQueued}
}

func readerBob() *news.Delivery {
	return &news.Delivery{ID: 102, EditionID: 7, EditionDate: "2017-01-29", SubscriberID: 2,
		Email: "bob@example.net", Name: "Bob", Sections: []string{"sport", "world"},
		PreferencesURL: "https://press.example.com/preferences?t=bob-pref-token",
		UnsubscribeURL: "https://press.example.com/unsubscribe?t=bob-unsub-token", State: news.DeliveryQueued}
}

func fixtureOptions(t testing.TB) Options {
	return Options{
		BaseURL:       "https://press.example.com",
		Newsroom:      "Pressroom Daily",
		PostalAddress: "Pressroom Ltd, 12 Tverskaya St, Moscow 125009, Russia",
		Location:      moscow(t),
	}
}

func newFixtureRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := NewRenderer(fixtureOptions(t))
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return r
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}
