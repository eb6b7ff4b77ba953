package feeds

import (
	"bytes"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mmcdole/gofeed"
)

// wantItem is what a reader must get back for one fixture article.
type wantItem struct {
	title, summary string
	published      time.Time
	updated        time.Time
	authors        []string
	categories     []string
	image          string // image URL, "" for none
	enclosureType  string
	enclosureLen   string // RSS: "0" when unknown; Atom/JSON: "" when unknown
	content        []string
}

func wantItems() map[string]wantItem {
	z := msk()
	return map[string]wantItem{
		"https://tass.example/politics/927791": {
			title:      "Putin & Trump agree to talk again",
			summary:    "The leaders spoke by phone for an hour — the Kremlin said.",
			published:  time.Date(2026, 11, 27, 10, 41, 0, 0, z),
			updated:    time.Date(2026, 11, 27, 11, 5, 0, 0, z),
			authors:    []string{"Ivan Petrov", "Jane Doe"},
			categories: []string{"Russian Politics & Diplomacy", "Russia", "USA"},
			image:      "https://tass.example/img/927791.jpg", enclosureType: "image/jpeg", enclosureLen: "183204",
			content: []string{
				`<strong>WASHINGTON</strong>`,
				`<a href="https://tass.example/politics/927700">continued</a>`,
				`<img src="https://tass.example/politics/img/map.png" alt="map"/>`,
				`Read also`,
				`<a href="https://tass.example/world/1">Relative link</a>`,
			},
		},
		"https://tass.example/world/927792": {
			title:      "Москва и Тегеран обсудили 🚀 сотрудничество",
			summary:    "Переговоры прошли в Тегеране. مرحبا بالعالم",
			published:  time.Date(2026, 11, 27, 9, 0, 0, 0, z),
			updated:    time.Date(2026, 11, 27, 9, 0, 0, 0, z),
			authors:    []string{"Анна Смирнова"},
			categories: []string{"World", "Iran"},
			image:      "https://tass.example/img/927792.png", enclosureType: "image/png",
			content: []string{`<strong>ТЕГЕРАН</strong>`, `<p>Текст статьи с запрещённым символом.</p>`},
		},
		"https://tass.example/science/927793": {
			title:      "Soyuz MS-30 docks with the ISS",
			summary:    "AT&T and R&D: a < b > c.",
			published:  time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC),
			updated:    time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC),
			categories: []string{"Science & Space"},
			content:    []string{`<time datetime="2026-11-26T18:00:00Z">18:00</time>`, `<li>one</li>`},
		},
	}
}

// wantFeedItems lists each fixture feed's items in order.
func wantFeedItems() map[string][]string {
	p1, w2, s3 := "https://tass.example/politics/927791", "https://tass.example/world/927792", "https://tass.example/science/927793"
	return map[string][]string{
		"politics":  {p1},
		"world":     {w2},
		"science":   {s3},
		"all":       {p1, w2, s3},
		"top":       {p1, s3},
		"most-read": {w2, s3, p1},
	}
}

// TestRoundTrip parses every fixture feed with gofeed, an independent
// parser, and checks that every field survives.
func TestRoundTrip(t *testing.T) {
	set := buildFixture(t)
	items := wantItems()
	for feed, ids := range wantFeedItems() {
		for _, f := range Formats() {
			name := FileName(feed, f)
			t.Run(name, func(t *testing.T) {
				file := mustFile(t, set, name)
				got, err := gofeed.NewParser().Parse(bytes.NewReader(file.Data))
				if err != nil {
					t.Fatalf("gofeed: %v", err)
				}
				wantType := map[Format]string{RSS: "rss", Atom: "atom", JSON: "json"}[f]
				if got.FeedType != wantType {
					t.Errorf("FeedType = %q, want %q", got.FeedType, wantType)
				}
				if got.Language != "en" {
					t.Errorf("Language = %q, want en", got.Language)
				}
				if want := "https://news.example.com/feeds/" + name; got.FeedLink != want {
					t.Errorf("FeedLink (self) = %q, want %q", got.FeedLink, want)
				}
				wantPage := "https://news.example.com/"
				if feed != FeedAll && feed != FeedTop && feed != FeedMostRead {
					wantPage += "sections/" + feed
				}
				if got.Link != wantPage {
					t.Errorf("Link = %q, want %q", got.Link, wantPage)
				}
				if !strings.HasPrefix(got.Title, "Pressroom Demo: ") {
					t.Errorf("Title = %q, want the site title first", got.Title)
				}
				if got.Description == "" {
					t.Error("Description is empty")
				}
				if got.Image == nil || got.Image.URL != "https://news.example.com/logo.png" {
					t.Errorf("Image = %+v, want the logo", got.Image)
				}
				if f == Atom {
					if len(got.Authors) != 1 || got.Authors[0].Name != "Pressroom Demo" {
						t.Errorf("feed Authors = %+v, want the site", got.Authors)
					}
				}
				if f == RSS || f == Atom {
					var updated *time.Time
					if f == RSS {
						tm, err := time.Parse(time.RFC1123Z, got.Custom["lastBuildDate"])
						if err == nil {
							updated = &tm
						} else {
							updated = got.UpdatedParsed
						}
					} else {
						updated = got.UpdatedParsed
					}
					feedNewest := newestOf(items, ids)
					if updated == nil || !updated.Equal(feedNewest) {
						t.Errorf("feed updated = %v, want the newest article's %v", updated, feedNewest)
					}
				}
				var gotIDs []string
				for _, it := range got.Items {
					gotIDs = append(gotIDs, it.GUID)
				}
				if diff := cmp.Diff(ids, gotIDs); diff != "" {
					t.Fatalf("item ids (-want +got):\n%s", diff)
				}
				for _, it := range got.Items {
					checkItem(t, f, it, items[it.GUID])
				}
			})
		}
	}
}

func newestOf(items map[string]wantItem, ids []string) time.Time {
	var t time.Time
	for _, id := range ids {
		if u := items[id].updated; u.After(t) {
			t = u
		}
	}
	return t
}

func checkItem(t *testing.T, f Format, it *gofeed.Item, want wantItem) {
	t.Helper()
	id := it.GUID
	if it.Link != id {
		t.Errorf("%s: Link = %q, want the id", id, it.Link)
	}
	if it.Title != want.title {
		t.Errorf("%s: Title = %q, want %q", id, it.Title, want.title)
	}
	summary := it.Description
	if f == RSS {
		summary = html.UnescapeString(summary) // RSS description is HTML
	}
	if summary != want.summary {
		t.Errorf("%s: summary = %q, want %q", id, summary, want.summary)
	}
	if it.PublishedParsed == nil || !it.PublishedParsed.Equal(want.published) {
		t.Errorf("%s: published = %v, want %v", id, it.PublishedParsed, want.published)
	}
	// gofeed normalises parsed times to UTC; the raw text must keep the
	// article's own offset.
	layout := time.RFC3339
	if f == RSS {
		layout = time.RFC1123Z
	}
	if raw, err := time.Parse(layout, it.Published); err != nil {
		t.Errorf("%s: published %q is not %s: %v", id, it.Published, layout, err)
	} else {
		_, off := raw.Zone()
		if _, wantOff := want.published.Zone(); off != wantOff {
			t.Errorf("%s: published %q has offset %d, want the article's own %d", id, it.Published, off, wantOff)
		}
	}
	updated := it.UpdatedParsed
	if f == RSS {
		// RSS has no updated element; atom:updated carries it when it
		// differs from pubDate.
		updated = it.PublishedParsed
		if ex := it.Extensions["atom"]["updated"]; len(ex) == 1 {
			tm, err := time.Parse(time.RFC3339, ex[0].Value)
			if err != nil {
				t.Errorf("%s: atom:updated %q: %v", id, ex[0].Value, err)
			}
			updated = &tm
		}
	}
	if updated == nil || !updated.Equal(want.updated) {
		t.Errorf("%s: updated = %v, want %v", id, updated, want.updated)
	}
	var authors []string
	for _, a := range it.Authors {
		authors = append(authors, a.Name)
	}
	if f == RSS {
		// gofeed keeps only the first dc:creator in Authors; the rest are
		// in the Dublin Core extension.
		authors = nil
		if it.DublinCoreExt != nil {
			authors = it.DublinCoreExt.Creator
		}
	}
	if diff := cmp.Diff(want.authors, authors); diff != "" {
		t.Errorf("%s: authors (-want +got):\n%s", id, diff)
	}
	if diff := cmp.Diff(want.categories, it.Categories); diff != "" {
		t.Errorf("%s: categories (-want +got):\n%s", id, diff)
	}
	for _, c := range want.content {
		if !strings.Contains(it.Content, c) {
			t.Errorf("%s: content lacks %q:\n%s", id, c, it.Content)
		}
	}
	for _, bad := range []string{"<script", "onclick", "javascript:", "<iframe", "<style", "alert("} {
		if strings.Contains(strings.ToLower(it.Content), bad) {
			t.Errorf("%s: content contains %q:\n%s", id, bad, it.Content)
		}
	}
	// Image and enclosure.
	gotImage := ""
	if it.Image != nil {
		gotImage = it.Image.URL
	}
	if f == Atom {
		gotImage = "" // Atom has no item image; the enclosure carries it
		for _, e := range it.Enclosures {
			gotImage = e.URL
		}
	}
	if gotImage != want.image {
		t.Errorf("%s: image = %q, want %q", id, gotImage, want.image)
	}
	if want.image == "" {
		if len(it.Enclosures) != 0 {
			t.Errorf("%s: enclosures = %+v, want none", id, it.Enclosures)
		}
		return
	}
	wantLen := want.enclosureLen
	if f == RSS && wantLen == "" {
		wantLen = "0"
	}
	wantEnc := []*gofeed.Enclosure{{URL: want.image, Type: want.enclosureType, Length: wantLen}}
	if diff := cmp.Diff(wantEnc, it.Enclosures); diff != "" {
		t.Errorf("%s: enclosures (-want +got):\n%s", id, diff)
	}
	if f == RSS {
		media := it.Extensions["media"]["content"]
		if len(media) != 1 || media[0].Attrs["url"] != want.image || media[0].Attrs["medium"] != "image" {
			t.Fatalf("%s: media:content = %+v, want one image", id, media)
		}
		if len(media[0].Children["description"]) != 1 || media[0].Children["description"][0].Value == "" {
			t.Errorf("%s: media:description missing: %+v", id, media[0].Children)
		}
	}
}
