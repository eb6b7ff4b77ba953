package feeds

import (
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// entry is an article made ready for every format: text cleaned, HTML
// sanitised, URLs absolute, dates settled.
type entry struct {
	id        string // the article URL: RSS guid, Atom id, JSON id
	permalink bool   // id is the article's own URL
	link      string
	title     string // plain text
	summary   string // plain text
	content   string // sanitised HTML: dateline, body, "Read also"
	published time.Time
	updated   time.Time // never before published
	authors   []string
	section   category
	tags      []string
	image     *entryImage
}

// category is a section as a feed category.
type category struct {
	term, label string
}

type entryImage struct {
	url         string
	mimeType    string // "" when unknown
	captionHTML string // sanitised
	captionText string
	credit      string
	width       int
	height      int
	length      int64
}

// newEntry prepares a. sectionTitles maps section slugs to titles.
func (b *Builder) newEntry(a news.Article, sectionTitles map[string]string) *entry {
	s := b.sanitize
	// The id is the article URL. Ingest guarantees an absolute http(s)
	// URL; should one slip through anyway, the id falls back to a stable
	// URL made from the article id, never to a random or empty one.
	link := absURL(nil, a.URL)
	permalink := link != ""
	if !permalink {
		link = b.base + "/articles/" + url.PathEscape(cleanText(a.ID))
	}
	base, err := url.Parse(link)
	if err != nil {
		base = nil
	}
	e := &entry{
		id:        link,
		permalink: permalink,
		link:      link,
		title:     s.plain(a.Title),
		summary:   s.plain(a.Lead),
		published: a.PublishedAt.Truncate(time.Second),
		updated:   a.UpdatedAt.Truncate(time.Second),
	}
	if e.updated.Before(e.published) {
		e.updated = e.published
	}
	for _, au := range a.Authors {
		if au = s.plain(au); au != "" {
			e.authors = append(e.authors, au)
		}
	}
	slug := s.plain(a.Section)
	e.section = category{term: slug, label: slug}
	if t := s.plain(sectionTitles[a.Section]); t != "" {
		e.section.label = t
	}
	seen := map[string]bool{}
	for _, t := range a.Tags {
		if t = s.plain(t); t != "" && !seen[t] {
			seen[t] = true
			e.tags = append(e.tags, t)
		}
	}
	e.content = b.content(a, base)
	if a.Image != nil {
		if u := absURL(base, a.Image.URL); u != "" {
			img := &entryImage{
				url:         u,
				mimeType:    imageType(a.Image.Type, u),
				captionHTML: s.html(s.caption, a.Image.Caption, base),
				captionText: s.plain(a.Image.Caption),
				credit:      s.plain(a.Image.Credit),
			}
			if a.Image.Width > 0 && a.Image.Height > 0 {
				img.width, img.height = a.Image.Width, a.Image.Height
			}
			if a.Image.Length > 0 {
				img.length = a.Image.Length
			}
			e.image = img
		}
	}
	return e
}

// content builds the item HTML: the dateline, the sanitised body, and the
// "Read also" links.
func (b *Builder) content(a news.Article, base *url.URL) string {
	s := b.sanitize
	var sb strings.Builder
	if d := s.plain(a.Dateline); d != "" {
		sb.WriteString(fragment(elem(atom.P, []xhtml.Attribute{{Key: "class", Val: "dateline"}},
			elem(atom.Strong, nil, textNode(d)))))
	}
	sb.WriteString(s.html(s.body, a.BodyHTML, base))
	var items []*xhtml.Node
	for _, l := range a.Related {
		u := absURL(base, l.URL)
		t := s.plain(l.Title)
		if u == "" {
			continue
		}
		if t == "" {
			t = u
		}
		items = append(items, elem(atom.Li, nil, elem(atom.A, []xhtml.Attribute{{Key: "href", Val: u}}, textNode(t))))
	}
	if len(items) > 0 {
		sb.WriteString(fragment(
			elem(atom.P, []xhtml.Attribute{{Key: "class", Val: "read-also"}}, elem(atom.Strong, nil, textNode("Read also"))),
			elem(atom.Ul, nil, items...),
		))
	}
	return sb.String()
}

// imageType returns a MIME type for an image: the given one when it looks
// like an image type, else one guessed from the URL's extension with a
// fixed table (not the system's, which varies by machine), else "".
func imageType(given, rawURL string) string {
	given = strings.ToLower(strings.TrimSpace(cleanText(given)))
	if strings.HasPrefix(given, "image/") && !strings.ContainsAny(given, " ;,\"<>") && len(given) > len("image/") {
		return given
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	switch strings.ToLower(path.Ext(u.Path)) {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".avif":
		return "image/avif"
	case ".svg":
		return "image/svg+xml"
	}
	return ""
}

// categories returns the entry's categories: its section, then its tags.
func (e *entry) categoryLabels() []string {
	var out []string
	if e.section.label != "" {
		out = append(out, e.section.label)
	}
	return append(out, e.tags...)
}

// newest returns the latest update time among entries, or the zero time.
func newest(entries []*entry) time.Time {
	var t time.Time
	for _, e := range entries {
		if e.updated.After(t) {
			t = e.updated
		}
	}
	return t
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// htmlEscape escapes the characters that are markup in HTML text.
func htmlEscape(s string) string {
	if !strings.ContainsAny(s, "<>&") {
		return s
	}
	s = strings.ReplaceAll(s, "&", "&amp;")
	s = strings.ReplaceAll(s, "<", "&lt;")
	return strings.ReplaceAll(s, ">", "&gt;")
}
