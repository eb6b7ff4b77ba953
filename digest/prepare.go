package digest

import (
	"fmt"
	"html"
	htmltemplate "html/template"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/pressroom/pressroom/internal/news"
)

// maxMostRead bounds the "Most read" list; the per-reader variants of the
// list are precomputed for every subset of it (2^5 at most).
const maxMostRead = 5

// The view model the templates see. The HTML and text templates get the
// same values; each writes its own format.

// itemView is one article in a section block or the "Most read" list.
type itemView struct {
	Title    string
	URL      string // tagged when UTM tagging is on
	Section  string // the section's title
	Dateline string
	Time     string // local time in the newsroom's zone, e.g. "07:30 MSK" or "28 Jan 21:10 MSK"
	ISOTime  string // RFC 3339, for <time datetime>
	Lead     string
	TopStory bool
	Image    *imageView
}

// imageView is a thumbnail: the article's image URL shown at Width CSS
// pixels; Height is 0 when the image's proportions are unknown.
type imageView struct {
	URL    string
	Alt    string
	Width  int
	Height int
}

// thumbWidth is the thumbnail's width in CSS pixels.
const thumbWidth = 120

// sectionView is one section block.
type sectionView struct {
	Slug  string
	Title string
	Items []itemView
}

// mostReadView is the "Most read" block.
type mostReadView struct {
	Items []itemView
}

// readerView is what the per-reader templates (subject, preheader and
// footer) see: the edition's facts and one reader's choices and links.
// The subject and preheader are rendered once per distinct section choice
// and must not use the personal fields (Name, Email, the URLs); the footer
// is rendered once per choice with markers in the personal fields, which
// Compose replaces with each reader's escaped values, so the footer must
// show personal fields as they are, not transform them.
type readerView struct {
	Newsroom   string
	Date       string // "29 January 2017"
	DateISO    string // "2017-01-29"
	ArchiveURL string

	TopStory string // title of the reader's top story
	Count    int    // articles in the reader's sections

	// Personal is false for the web archive, which has no reader.
	Personal       bool
	Name           string
	Email          string
	AllSections    bool     // the reader chose no sections, meaning all
	SectionTitles  []string // the reader's chosen sections, in section order
	PreferencesURL string
	UnsubscribeURL string
	PostalAddress  string
}

// layoutView is what the layout templates (digest.html, digest.txt) see.
// The layout is rendered once per edition: the per-reader parts are
// slots (see slots.go) filled in by Compose.
type layoutView struct {
	Lang       string
	Newsroom   string
	Date       string
	DateISO    string
	ArchiveURL string

	Subject   string // slot
	Preheader string // slot

	BlocksHTML   htmltemplate.HTML // slot: the reader's section blocks
	MostReadHTML htmltemplate.HTML // slot: the reader's "Most read" block, if any
	FooterHTML   htmltemplate.HTML // slot: the "footer" template for the reader
	BlocksText   string
	MostReadText string
	FooterText   string
}

// block is a rendered part of an email in both formats.
type block struct {
	html htmltemplate.HTML
	text string
}

type preparedSection struct {
	slug     string
	title    string
	count    int
	topTitle string // the section's first top story, or its first article
	hasTop   bool
	block
}

// Prepared is an edition with its section blocks rendered once, ready to
// compose each reader's email. It is immutable and safe for concurrent
// use.
type Prepared struct {
	r          *Renderer
	ed         *news.Edition
	dateLong   string
	archiveURL string
	sections   []preparedSection // non-empty sections, in edition order
	titles     map[string]string // every section's slug -> title
	order      []string          // every section's slug, in edition order

	mostReadSlugs []string
	// mostRead[mask] is the "Most read" block holding the articles whose
	// bit is set in mask.
	mostRead []block

	// The layouts rendered once, with slots for the per-reader parts.
	layoutHTML, layoutText layout

	// choices caches, per distinct section choice, what all readers with
	// that choice share (see choice in compose.go).
	choices sync.Map // choiceKey -> *choice
}

// Edition is the edition p was prepared from.
func (p *Prepared) Edition() *news.Edition { return p.ed }

// Prepare renders an edition's section blocks and every variant of its
// "Most read" block.
func (r *Renderer) Prepare(ed *news.Edition) (*Prepared, error) {
	date, err := news.ParseEditionDate(ed.Date, r.opts.Location)
	if err != nil {
		return nil, fmt.Errorf("digest: prepare edition: %w", err)
	}
	p := &Prepared{
		r:          r,
		ed:         ed,
		dateLong:   date.Format("2 January 2006"),
		archiveURL: r.ArchiveURL(ed.Date),
		titles:     make(map[string]string, len(ed.Sections)),
	}
	for _, s := range ed.Sections {
		p.titles[s.Section.Slug] = s.Section.Title
		p.order = append(p.order, s.Section.Slug)
	}
	for _, s := range ed.Sections {
		if len(s.Articles) == 0 {
			continue
		}
		sv := sectionView{Slug: s.Section.Slug, Title: clean(s.Section.Title)}
		ps := preparedSection{slug: s.Section.Slug, title: sv.Title, count: len(s.Articles)}
		for _, a := range s.Articles {
			it := r.item(a, ed.Date, date, p.titles)
			sv.Items = append(sv.Items, it)
			if !ps.hasTop && a.TopStory {
				ps.topTitle, ps.hasTop = it.Title, true
			}
		}
		if !ps.hasTop {
			ps.topTitle = sv.Items[0].Title
		}
		if ps.block, err = r.renderBlock("section", sv); err != nil {
			return nil, fmt.Errorf("digest: prepare edition %s: section %q: %w", ed.Date, s.Section.Slug, err)
		}
		p.sections = append(p.sections, ps)
	}

	most := ed.MostRead
	if len(most) > maxMostRead {
		most = most[:maxMostRead]
	}
	items := make([]itemView, len(most))
	for i, a := range most {
		items[i] = r.item(a, ed.Date, date, p.titles)
		p.mostReadSlugs = append(p.mostReadSlugs, a.Section)
	}
	p.mostRead = make([]block, 1<<len(most))
	for mask := 1; mask < len(p.mostRead); mask++ {
		var mv mostReadView
		for i := range items {
			if mask&(1<<i) != 0 {
				mv.Items = append(mv.Items, items[i])
			}
		}
		if p.mostRead[mask], err = r.renderBlock("mostread", mv); err != nil {
			return nil, fmt.Errorf("digest: prepare edition %s: most read: %w", ed.Date, err)
		}
	}
	if p.layoutHTML, p.layoutText, err = r.renderLayout(p); err != nil {
		return nil, fmt.Errorf("digest: prepare edition %s: %w", ed.Date, err)
	}
	return p, nil
}

// renderBlock executes the named template of both formats.
func (r *Renderer) renderBlock(name string, data any) (block, error) {
	var h, t strings.Builder
	if err := r.html.ExecuteTemplate(&h, name, data); err != nil {
		return block{}, r.templateError(err)
	}
	if err := r.text.ExecuteTemplate(&t, name, data); err != nil {
		return block{}, r.templateError(err)
	}
	return block{html: htmltemplate.HTML(h.String()), text: t.String()}, nil
}

// item builds an article's view.
func (r *Renderer) item(a news.Article, isoDate string, day time.Time, titles map[string]string) itemView {
	it := itemView{
		Title:    clean(a.Title),
		URL:      r.tagURL(a.URL, isoDate),
		Section:  titles[a.Section],
		Dateline: clean(a.Dateline),
		Lead:     clean(a.Lead),
		TopStory: a.TopStory,
	}
	if it.Section == "" {
		it.Section = a.Section
	}
	if !a.PublishedAt.IsZero() {
		t := a.PublishedAt.In(r.opts.Location)
		it.ISOTime = t.Format(time.RFC3339)
		if y, m, d := t.Date(); y == day.Year() && m == day.Month() && d == day.Day() {
			it.Time = t.Format("15:04 MST")
		} else {
			it.Time = t.Format("2 Jan 15:04 MST")
		}
	}
	if img := a.Image; img != nil && img.URL != "" {
		iv := &imageView{URL: img.URL, Alt: clean(stripTags(img.Caption)), Width: thumbWidth}
		if iv.Alt == "" {
			iv.Alt = it.Title
		}
		if img.Width > 0 && img.Height > 0 {
			iv.Height = (thumbWidth*img.Height + img.Width/2) / img.Width
		}
		it.Image = iv
	}
	return it
}

// clean makes one line of plain text: control characters dropped, runs of
// white space (line breaks included) collapsed to one space, trimmed.
func clean(s string) string {
	ok := true
	prevSpace := true
	for _, r := range s {
		sp := unicode.IsSpace(r)
		if (sp && (r != ' ' || prevSpace)) || (!sp && unicode.IsControl(r)) {
			ok = false
			break
		}
		prevSpace = sp
	}
	if ok && !prevSpace {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case unicode.IsControl(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// stripTags turns a caption's simple HTML into plain text for alt text.
func stripTags(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return html.UnescapeString(b.String())
}
