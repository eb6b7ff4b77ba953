package feeds

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// benchChannel is a 50-item section feed of wire-realistic articles: ~2 KB
// of body HTML with links, Cyrillic text, an image on every other one,
// related links and tags.
func benchChannel() Channel {
	var arts []news.Article
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, msk())
	for i := range 50 {
		id := fmt.Sprintf("%08d", 1000+i)
		a := news.Article{
			ID: id, URL: "https://tass.example/politics/" + id, Section: "politics",
			Title:       fmt.Sprintf("Лавров обсудил с госсекретарём США ситуацию &amp; перспективы, выпуск %d", i),
			Lead:        "Министр иностранных дел России провёл телефонный разговор с коллегой; стороны договорились продолжить контакты.",
			BodyHTML:    strings.Repeat(`<p>MOSCOW, January 29. /TASS/. Russian Foreign Minister <a href="/persons/lavrov">Sergey Lavrov</a> held talks on Sunday. Стороны обсудили двусторонние отношения.</p>`, 10),
			Dateline:    "MOSCOW",
			Authors:     []string{"Ivan Petrov", "Anna Smirnova"},
			PublishedAt: base.Add(-time.Duration(i) * 17 * time.Minute),
			UpdatedAt:   base.Add(-time.Duration(i)*17*time.Minute + 5*time.Minute),
			Tags:        []string{"russia", "usa", "diplomacy"},
			Related:     []news.Link{{Title: "Earlier talks", URL: "https://tass.example/politics/1"}, {Title: "Background", URL: "https://tass.example/world/2"}},
		}
		if i%2 == 0 {
			a.Image = &news.Image{URL: "https://tass.example/img/" + id + ".jpg", Caption: "Sergey Lavrov <i>in Moscow</i>", Credit: "TASS",
				Type: "image/jpeg", Width: 1200, Height: 800, Length: 183244}
		}
		arts = append(arts, a)
	}
	return Channel{Name: "politics", Title: "Pressroom: Russian Politics & Diplomacy", Description: "Kremlin and foreign policy.", Articles: arts}
}

// BenchmarkRender renders one 50-item section feed per format, including
// preparing the items (cleaning, sanitising, absolutising the HTML), as a
// cold build does for a feed whose articles it has not seen yet.
func BenchmarkRender(b *testing.B) {
	bld := newFixtureBuilder(b)
	ch := benchChannel()
	sections := fixtureSections()
	for _, f := range Formats() {
		b.Run(string(f), func(b *testing.B) {
			var n int
			for b.Loop() {
				out, err := bld.Render(f, ch, sections)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.SetBytes(int64(n))
		})
	}
}

// BenchmarkEncode is the encoding alone: items prepared once, as Build
// shares them between the formats and feeds of one build.
func BenchmarkEncode(b *testing.B) {
	bld := newFixtureBuilder(b)
	ch := benchChannel()
	titles := sectionTitles(fixtureSections())
	d := bld.prepare(ch, func(a news.Article) *entry { return bld.newEntry(a, titles) })
	for _, f := range Formats() {
		b.Run(string(f), func(b *testing.B) {
			for b.Loop() {
				if _, err := bld.render(f, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
