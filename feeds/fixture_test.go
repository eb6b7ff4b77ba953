package feeds

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// fixedNow is the build time of every fixture test.
var fixedNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func msk() *time.Location { return time.FixedZone("MSK", 3*3600) }

func fixtureSections() []news.Section {
	return []news.Section{
		{Slug: "politics", Title: "Russian Politics & Diplomacy", Description: "Kremlin, Duma & foreign policy.", Position: 1},
		{Slug: "world", Title: "World", Position: 2},
		{Slug: "science", Title: "Science & Space", Position: 3},
	}
}

// fixtureArticles covers every field and the text-hygiene cases: markup
// and entities in titles, forbidden characters, Cyrillic, emoji and RTL
// text, dangerous HTML, relative URLs, images with and without a length,
// an embargoed article.
func fixtureArticles() []news.Article {
	z := msk()
	return []news.Article{
		{
			ID: "927791", URL: "https://tass.example/politics/927791", Section: "politics",
			Title:       "Putin &amp; Trump <b>agree</b> to talk \x01again",
			Lead:        "The leaders spoke by phone for an hour &mdash; the Kremlin said.",
			BodyHTML:    `<p onclick="steal()">The talks <a href="/politics/927700">continued</a> <script>alert(1)</script>today.</p><img src="img/map.png" alt="map"><iframe src="https://evil.example/"></iframe><p><a href="javascript:alert(2)">click</a></p><style>p{}</style>`,
			Dateline:    "WASHINGTON\u0085", // a C1 control: wire-copy debris the validator flags
			Authors:     []string{"Ivan Petrov", "Jane Doe"},
			PublishedAt: time.Date(2026, 11, 27, 10, 41, 0, 0, z),
			UpdatedAt:   time.Date(2026, 11, 27, 11, 5, 0, 0, z),
			Image: &news.Image{URL: "https://tass.example/img/927791.jpg", Caption: `Vladimir Putin <i>in the Kremlin</i><script>x()</script>`,
				Credit: "Mikhail Metzel/TASS", Type: "image/jpeg", Width: 1200, Height: 800, Length: 183204},
			Related:  []news.Link{{Title: "Earlier: the first call", URL: "https://tass.example/politics/927700"}, {Title: "Relative link", URL: "/world/1"}},
			Tags:     []string{"Russia", "USA", "Russia"},
			TopStory: true,
		},
		{
			ID: "927792", URL: "https://tass.example/world/927792", Section: "world",
			Title:       "Москва и Тегеран обсудили 🚀 сотрудничество",
			Lead:        "Переговоры прошли в Тегеране. مرحبا بالعالم",
			BodyHTML:    "<p>Текст статьи\u0000 с запрещённым символом\uFFFE.</p>",
			Dateline:    "ТЕГЕРАН",
			Authors:     []string{"Анна Смирнова"},
			PublishedAt: time.Date(2026, 11, 27, 9, 0, 0, 0, z),
			UpdatedAt:   time.Date(2026, 11, 27, 9, 0, 0, 0, z),
			Image:       &news.Image{URL: "/img/927792.png", Caption: "Переговоры", Width: 800, Height: 600},
			Tags:        []string{"Iran"},
		},
		{
			ID: "927793", URL: "https://tass.example/science/927793", Section: "science",
			Title:       "Soyuz MS-30 docks with the ISS",
			Lead:        "AT&T and R&D: a < b > c.",
			BodyHTML:    `<p>Docking at <time datetime="2026-11-26T18:00:00Z">18:00</time>.</p><ul><li>one</li></ul>`,
			PublishedAt: time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC),
			UpdatedAt:   time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC),
			TopStory:    true,
		},
		{
			ID: "927794", URL: "https://tass.example/politics/927794", Section: "politics",
			Title:       "Embargoed: budget vote",
			Lead:        "Not yet.",
			BodyHTML:    "<p>Later.</p>",
			PublishedAt: fixedNow.Add(2 * time.Hour),
			UpdatedAt:   fixedNow.Add(2 * time.Hour),
		},
	}
}

func fixtureViews() map[string]int64 {
	return map[string]int64{"927792": 900, "927793": 400, "927791": 100}
}

// memSource is an in-memory Source with the store's contract: embargo,
// newest first (ties by id), most read by views.
type memSource struct {
	sections []news.Section
	articles []news.Article
	views    map[string]int64
	mark     string
}

func newFixtureSource() *memSource {
	return &memSource{sections: fixtureSections(), articles: fixtureArticles(), views: fixtureViews(), mark: "m1"}
}

func (m *memSource) Sections(context.Context) ([]news.Section, error) {
	return append([]news.Section(nil), m.sections...), nil
}

func (m *memSource) published(now time.Time, keep func(news.Article) bool) []news.Article {
	var out []news.Article
	for _, a := range m.articles {
		if !a.PublishedAt.After(now) && keep(a) {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].PublishedAt.Equal(out[j].PublishedAt) {
			return out[i].PublishedAt.After(out[j].PublishedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func limited(a []news.Article, n int) []news.Article {
	if len(a) > n {
		return a[:n]
	}
	return a
}

func (m *memSource) LatestArticles(_ context.Context, section string, limit int, now time.Time) ([]news.Article, error) {
	return limited(m.published(now, func(a news.Article) bool { return section == "" || a.Section == section }), limit), nil
}

func (m *memSource) TopStories(_ context.Context, limit int, now time.Time) ([]news.Article, error) {
	return limited(m.published(now, func(a news.Article) bool { return a.TopStory }), limit), nil
}

func (m *memSource) MostRead(_ context.Context, _, until time.Time, limit int) ([]news.Article, error) {
	out := m.published(until, func(a news.Article) bool { return m.views[a.ID] > 0 })
	sort.SliceStable(out, func(i, j int) bool { return m.views[out[i].ID] > m.views[out[j].ID] })
	return limited(out, limit), nil
}

func (m *memSource) ChangeMark(context.Context, time.Time) (string, error) { return m.mark, nil }

func fixtureOptions() Options {
	return Options{
		BaseURL:   "https://news.example.com/",
		SiteTitle: "Pressroom Demo",
		Language:  "en",
		Icon:      "https://news.example.com/favicon.ico",
		Logo:      "https://news.example.com/logo.png",
		Copyright: "© 2026 Pressroom Demo",
	}
}

func newFixtureBuilder(t testing.TB) *Builder {
	t.Helper()
	b, err := New(fixtureOptions())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func buildFixture(t testing.TB) *Set {
	t.Helper()
	set, err := newFixtureBuilder(t).Build(context.Background(), newFixtureSource(), fixedNow)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return set
}

func mustFile(t testing.TB, set *Set, name string) *File {
	t.Helper()
	f, ok := set.File(name)
	if !ok {
		var names []string
		for _, f := range set.Files {
			names = append(names, f.Name)
		}
		t.Fatalf("no file %q in set; have %s", name, strings.Join(names, ", "))
	}
	return f
}
