package feeds

import (
	"fmt"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// doc is a channel with its entries prepared, ready for any format.
type doc struct {
	name        string
	title       string
	description string
	page        string // HTML page (alternate link)
	updated     time.Time
	entries     []*entry
}

// epoch is the date of a feed that has never had an article: a fixed
// date keeps an empty feed byte-identical from build to build.
func epoch() time.Time { return time.Unix(0, 0).UTC() }

// prepare turns a channel into a doc. entryFor returns the prepared entry
// of an article (Build shares them between feeds).
func (b *Builder) prepare(ch Channel, entryFor func(news.Article) *entry) *doc {
	d := &doc{
		name:        ch.Name,
		title:       b.sanitize.plain(ch.Title),
		description: b.sanitize.plain(ch.Description),
		page:        b.opts.PageURL(ch.Name),
	}
	if d.title == "" {
		d.title = b.opts.SiteTitle
	}
	if d.description == "" {
		d.description = d.title
	}
	seen := make(map[string]bool, len(ch.Articles))
	for _, a := range ch.Articles {
		if len(d.entries) == b.opts.Items {
			break
		}
		e := entryFor(a)
		if seen[e.id] { // one entry per id: duplicate ids are a validator error
			continue
		}
		seen[e.id] = true
		d.entries = append(d.entries, e)
	}
	d.updated = newest(d.entries)
	if d.updated.IsZero() {
		d.updated = ch.Updated
	}
	if d.updated.IsZero() {
		d.updated = epoch()
	}
	return d
}

// sectionTitles maps slugs to titles.
func sectionTitles(sections []news.Section) map[string]string {
	m := make(map[string]string, len(sections))
	for _, s := range sections {
		m[s.Slug] = s.Title
	}
	return m
}

// Render renders one channel in format f. sections supplies the titles of
// the articles' sections for their categories.
func (b *Builder) Render(f Format, ch Channel, sections []news.Section) ([]byte, error) {
	titles := sectionTitles(sections)
	d := b.prepare(ch, func(a news.Article) *entry { return b.newEntry(a, titles) })
	return b.render(f, d)
}

func (b *Builder) render(f Format, d *doc) ([]byte, error) {
	var (
		out []byte
		err error
	)
	switch f {
	case RSS:
		out, err = b.renderRSS(d)
	case Atom:
		out, err = b.renderAtom(d)
	case JSON:
		out, err = b.renderJSON(d)
	default:
		return nil, fmt.Errorf("feeds: render %q: unknown format %q", d.name, f)
	}
	if err != nil {
		return nil, fmt.Errorf("feeds: render %s: %w", FileName(d.name, f), err)
	}
	return out, nil
}
