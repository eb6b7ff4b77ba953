package digest

import (
	"errors"
	"io/fs"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/templates"
)

func TestComposeChoosesReadersSections(t *testing.T) {
	r := newFixtureRenderer(t)
	ed := fixtureEdition(t)
	now := time.Date(2017, 1, 29, 5, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		d           *news.Delivery
		subject     string
		has, hasNot []string // article URLs
	}{
		{"anna", readerAnna(), "Press Review, 29 January 2017: Kremlin & White House <confirm> first phone call",
			[]string{"/politics/p1", "/politics/p2", "/culture/c1"}, []string{"/world/w1"}},
		{"bob", readerBob(), "Press Review, 29 January 2017: Snowstorm closes airports across the north-east",
			[]string{"/world/w1"}, []string{"/politics/p1", "/politics/p2", "/culture/c1"}},
		{"all sections", &news.Delivery{ID: 3, Email: "c@example.com", PreferencesURL: "https://x.example/p", UnsubscribeURL: "https://x.example/u"},
			"Press Review, 29 January 2017: Kremlin & White House <confirm> first phone call",
			[]string{"/politics/p1", "/politics/p2", "/culture/c1", "/world/w1"}, nil},
		{"culture only: its top story leads the subject", &news.Delivery{ID: 4, Email: "d@example.com", Sections: []string{"culture"}, PreferencesURL: "https://x.example/p", UnsubscribeURL: "https://x.example/u"},
			"Press Review, 29 January 2017: Большой театр открывает сезон премьерой «Нуреева»",
			[]string{"/culture/c1"}, []string{"/politics/p1", "/world/w1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := r.Compose(ed, tc.d, now)
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			if m.Subject != tc.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tc.subject)
			}
			for _, u := range tc.has {
				full := "https://press.example.com" + u
				if !strings.Contains(m.HTML, `href="`+full) {
					t.Errorf("HTML has no link to %s", full)
				}
				if !strings.Contains(m.Text, "\n"+full) {
					t.Errorf("text has no line with %s", full)
				}
			}
			for _, u := range tc.hasNot {
				if strings.Contains(m.HTML, u) || strings.Contains(m.Text, u) {
					t.Errorf("message links %s, a section the reader did not choose", u)
				}
			}
			for _, link := range []string{tc.d.PreferencesURL, tc.d.UnsubscribeURL, "https://press.example.com/digest/2017-01-29"} {
				if !strings.Contains(m.Text, "\n"+link+"\n") {
					t.Errorf("text has no line of its own with %s", link)
				}
			}
			checkTextWidth(t, tc.name, m.Text)
		})
	}
}

func TestComposeNoArticlesInSections(t *testing.T) {
	r := newFixtureRenderer(t)
	d := &news.Delivery{ID: 9, Email: "e@example.com", Sections: []string{"sport"}, PreferencesURL: "https://x.example/p", UnsubscribeURL: "https://x.example/u"}
	_, err := r.Compose(fixtureEdition(t), d, time.Time{})
	if !errors.Is(err, ErrNoArticles) {
		t.Fatalf("Compose for a reader of an empty section: err = %v, want ErrNoArticles", err)
	}
}

func TestComposeNeedsPersonalLinks(t *testing.T) {
	r := newFixtureRenderer(t)
	d := readerAnna()
	d.UnsubscribeURL = ""
	if _, err := r.Compose(fixtureEdition(t), d, time.Time{}); err == nil || !strings.Contains(err.Error(), "unsubscribe") {
		t.Fatalf("Compose without an unsubscribe link: err = %v, want an error naming it", err)
	}
}

func TestComposeDoesNotChangeInput(t *testing.T) {
	r := newFixtureRenderer(t)
	ed := fixtureEdition(t)
	before := fixtureEdition(t)
	d := readerAnna()
	m1, err := r.Compose(ed, d, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := r.Compose(ed, d, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if m1 != m2 {
		t.Errorf("two Compose calls with the same input differ")
	}
	if ed.Sections[0].Articles[0].Title != before.Sections[0].Articles[0].Title || len(ed.MostRead) != len(before.MostRead) {
		t.Errorf("Compose changed the edition")
	}
}

func TestArchive(t *testing.T) {
	r := newFixtureRenderer(t)
	p, err := r.Prepare(fixtureEdition(t))
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Archive()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"/politics/p1", "/politics/p2", "/culture/c1", "/world/w1"} {
		if !strings.Contains(h, `href="https://press.example.com`+u) {
			t.Errorf("archive has no link to %s", u)
		}
	}
	for _, no := range []string{"nsubscribe", "preferences"} {
		if strings.Contains(h, no) {
			t.Errorf("archive HTML mentions %q; it has no reader", no)
		}
	}
	if strings.Contains(h, `id="section-sport"`) {
		t.Errorf("archive shows the empty sport section")
	}
}

func TestUTMTagging(t *testing.T) {
	opts := fixtureOptions(t)
	opts.UTM = UTM{Source: "newsletter"}
	r, err := NewRenderer(opts)
	if err != nil {
		t.Fatal(err)
	}
	d := readerAnna()
	m, err := r.Compose(fixtureEdition(t), d, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var tagged int
	for _, line := range strings.Split(m.Text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "https://") {
			continue
		}
		u, err := url.Parse(line)
		if err != nil {
			t.Fatalf("text link %q: %v", line, err)
		}
		q := u.Query()
		switch {
		case strings.Contains(u.Path, "/politics/") || strings.Contains(u.Path, "/culture/"):
			tagged++
			if q.Get("utm_source") != "newsletter" || q.Get("utm_medium") != "email" || q.Get("utm_campaign") != "press-review-2017-01-29" {
				t.Errorf("article link %s: utm parameters %v, want source newsletter, medium email, campaign press-review-2017-01-29", line, q)
			}
			if strings.Contains(u.Path, "/p2") && q.Get("ref") != "home" {
				t.Errorf("article link %s lost its own query parameter", line)
			}
		default:
			if q.Has("utm_source") {
				t.Errorf("personal or archive link %s is tagged", line)
			}
		}
	}
	if tagged == 0 {
		t.Fatalf("no article links found in the text part")
	}
	// Off by default.
	m, err = newFixtureRenderer(t).Compose(fixtureEdition(t), d, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "utm_") || strings.Contains(m.Text, "utm_") {
		t.Errorf("links are tagged though tagging is off")
	}
}

func TestNoTrackingPixels(t *testing.T) {
	m, err := newFixtureRenderer(t).Compose(fixtureEdition(t), readerAnna(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// The only images are the two article thumbnails in Anna's sections
	// (p1 has one; the culture story has none).
	if n := strings.Count(m.HTML, "<img "); n != 1 {
		t.Errorf("HTML has %d images, want 1 (the one thumbnail in Anna's sections)", n)
	}
}

// TestTemplateErrors checks that broken templates fail NewRenderer with
// the file and line.
func TestTemplateErrors(t *testing.T) {
	good := fstest.MapFS{}
	for _, name := range []string{fileHTML, fileHTMLBlocks, fileText, fileTextBlocks, fileSubject, filePreheader} {
		b, err := fs.ReadFile(templates.Email(), name)
		if err != nil {
			t.Fatal(err)
		}
		good[name] = &fstest.MapFile{Data: b}
	}
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"html syntax", fileHTML, "<p>\n{{.Subject}\n</p>", "digest.html:2:"},
		{"text unknown function", fileTextBlocks, "{{define \"section\"}}\n\n{{shout .Title}}{{end}}{{define \"mostread\"}}{{end}}", "digest_blocks.txt:3:"},
		{"subject unknown field", fileSubject, "Press Review {{.Nope}}", "digest.subject.txt:1:"},
		{"html escaping ambiguity", fileHTMLBlocks, "{{define \"section\"}}<a href=\"{{.Title}}\n{{end}}{{define \"mostread\"}}{{end}}", "digest_blocks.html"},
		{"missing block", fileTextBlocks, "{{define \"section\"}}{{end}}", `"mostread" not defined`},
		{"missing file", fileSubject, "", "digest.subject.txt"},
		{"footer without unsubscribe link", fileTextBlocks, "{{define \"section\"}}x{{end}}{{define \"mostread\"}}{{end}}{{define \"footer\"}}{{.PreferencesURL}}{{end}}", `must show .UnsubscribeURL exactly once`},
		{"layout without blocks", fileHTML, "<p>{{.Subject}}</p>{{.MostReadHTML}}{{.FooterHTML}}", `digest.html: must show .BlocksHTML/.BlocksText exactly once`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range good {
				fsys[k] = v
			}
			if tc.name == "missing file" {
				delete(fsys, tc.file)
			} else {
				fsys[tc.file] = &fstest.MapFile{Data: []byte(tc.content)}
			}
			opts := fixtureOptions(t)
			opts.Templates = fsys
			_, err := NewRenderer(opts)
			if err == nil {
				t.Fatalf("NewRenderer with broken %s: no error", tc.file)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "templates/email") {
				t.Errorf("NewRenderer error = %q, want it to name the directory and %q", err, tc.want)
			}
		})
	}
	opts := fixtureOptions(t)
	opts.Templates = good
	if _, err := NewRenderer(opts); err != nil {
		t.Errorf("NewRenderer with copies of the real templates: %v", err)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"no postal address", func(o *Options) { o.PostalAddress = " " }, "postal_address"},
		{"relative base URL", func(o *Options) { o.BaseURL = "/news" }, "base_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fixtureOptions(t)
			tc.mod(&o)
			if _, err := NewRenderer(o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewRenderer: err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}
