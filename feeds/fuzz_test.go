package feeds

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/pressroom/pressroom/internal/news"
)

// FuzzFeeds renders a feed holding one article built from arbitrary text
// (and one ordinary article after it) in every format, and checks that the
// XML is well-formed, the JSON valid, and gofeed reads back both items
// with their ids and titles. Run: go test ./feeds -run '^$' -fuzz FuzzFeeds
func FuzzFeeds(f *testing.F) {
	for _, a := range fixtureArticles() {
		caption, credit, imgURL := "", "", ""
		if a.Image != nil {
			caption, credit, imgURL = a.Image.Caption, a.Image.Credit, a.Image.URL
		}
		author, tag := "", ""
		if len(a.Authors) > 0 {
			author = a.Authors[0]
		}
		if len(a.Tags) > 0 {
			tag = a.Tags[0]
		}
		f.Add(a.URL, a.Section, a.Title, a.Lead, a.BodyHTML, a.Dateline, author, tag, caption, credit, imgURL, "Read", "/rel")
	}
	f.Add("https://x.example/a", "", "]]>", "]]>&", "<![CDATA[x]]>]]>", "\x00", "\uFFFE", "\xed\xa0\x80", "<a href='javascript:1'>", "&#0;", "//", "&", "javascript:alert(1)")
	f.Add("not a url", "sec tion", "<", "&amp;amp;", "<svg onload=alert(1)>", "\u202e", "\t", "\r\n", "<p", "&#xD800;", "data:x", "\x85", "")
	b := newFixtureBuilder(f)
	f.Fuzz(func(t *testing.T, link, section, title, lead, body, dateline, author, tag, caption, credit, imgURL, relTitle, relURL string) {
		a := news.Article{
			ID: "fuzz", URL: link, Section: section, Title: title, Lead: lead, BodyHTML: body, Dateline: dateline,
			Authors: []string{author}, Tags: []string{tag},
			PublishedAt: time.Date(2026, 11, 27, 10, 0, 0, 0, msk()),
			UpdatedAt:   time.Date(2026, 11, 27, 10, 30, 0, 0, msk()),
			Image:       &news.Image{URL: imgURL, Caption: caption, Credit: credit, Length: int64(len(body))},
			Related:     []news.Link{{Title: relTitle, URL: relURL}},
		}
		fixed := fixtureArticles()[2]
		ch := Channel{Name: "fuzz", Title: title, Description: lead, Articles: []news.Article{a, fixed}}
		id := absURL(nil, link)
		if id == "" {
			id = "https://news.example.com/articles/fuzz"
		}
		wantIDs := []string{id, fixed.URL}
		if wantIDs[0] == wantIDs[1] {
			wantIDs = wantIDs[:1] // a duplicate id is dropped
		}
		for _, format := range Formats() {
			out, err := b.Render(format, ch, fixtureSections())
			if err != nil {
				t.Fatalf("Render %s: %v", format, err)
			}
			if format == JSON {
				if !json.Valid(out) {
					t.Fatalf("invalid JSON:\n%s", out)
				}
			} else {
				checkWellFormed(t, out)
			}
			feed, err := gofeed.NewParser().Parse(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("gofeed %s: %v\n%s", format, err, out)
			}
			if len(feed.Items) != len(wantIDs) {
				t.Fatalf("%s: %d items, want %d\n%s", format, len(feed.Items), len(wantIDs), out)
			}
			for i, it := range feed.Items {
				if it.GUID != wantIDs[i] {
					t.Errorf("%s: item %d id = %q, want %q", format, i, it.GUID, wantIDs[i])
				}
				if strings.Contains(strings.ToLower(it.Content), "<script") {
					t.Errorf("%s: item %d content has a script element:\n%s", format, i, it.Content)
				}
			}
		}
	})
}

// checkWellFormed decodes the whole document with encoding/xml in strict
// mode, which rejects malformed markup and characters XML forbids.
func checkWellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
	}
}
