package feeds

import (
	"encoding/xml"
	"time"

	gf "github.com/gorilla/feeds"
)

// atomFeed extends gorilla's AtomFeed with xml:lang, several links (self,
// alternate, hub) and entries of our own type. gorilla's single Link is
// left nil; Entries hides AtomFeed.Entries (same XML name, shallower).
type atomFeed struct {
	XMLName xml.Name `xml:"feed"`
	Lang    string   `xml:"xml:lang,attr"`
	*gf.AtomFeed
	Links   []gf.AtomLink `xml:"link"`
	Entries []*atomEntry  `xml:"entry"`
}

// atomEntry extends gorilla's AtomEntry with several authors and
// categories with term, scheme and label. gorilla's Links, Author and
// Category are left empty; ours hide them by XML name.
type atomEntry struct {
	XMLName xml.Name `xml:"entry"`
	*gf.AtomEntry
	Links      []atomEntryLink `xml:"link"`
	Authors    []gf.AtomAuthor `xml:"author"`
	Categories []atomCategory  `xml:"category"`
}

// atomEntryLink adds title to gorilla's AtomLink (for the enclosure's
// caption).
type atomEntryLink struct {
	Href   string `xml:"href,attr"`
	Rel    string `xml:"rel,attr,omitempty"`
	Type   string `xml:"type,attr,omitempty"`
	Length string `xml:"length,attr,omitempty"`
	Title  string `xml:"title,attr,omitempty"`
}

type atomCategory struct {
	Term   string `xml:"term,attr"`
	Scheme string `xml:"scheme,attr,omitempty"`
	Label  string `xml:"label,attr,omitempty"`
}

func (b *Builder) renderAtom(d *doc) ([]byte, error) {
	self := b.FeedURL(d.name, Atom)
	f := &gf.AtomFeed{
		Xmlns:    nsAtom,
		Title:    d.title,
		Id:       self,
		Updated:  d.updated.Format(time.RFC3339),
		Icon:     b.opts.Icon,
		Logo:     b.opts.Logo,
		Rights:   b.opts.Copyright,
		Subtitle: d.description,
		// RFC 4287 wants an author on the feed unless every entry has
		// one; the newsroom itself is the fallback.
		Author: &gf.AtomAuthor{AtomPerson: gf.AtomPerson{Name: b.opts.SiteTitle, Uri: b.base + "/"}},
	}
	out := &atomFeed{Lang: b.opts.Language, AtomFeed: f, Entries: make([]*atomEntry, 0, len(d.entries))}
	out.Links = append(out.Links,
		gf.AtomLink{Href: self, Rel: "self", Type: Atom.mediaType()},
		gf.AtomLink{Href: d.page, Rel: "alternate", Type: "text/html"},
	)
	if b.opts.Hub != "" {
		out.Links = append(out.Links, gf.AtomLink{Href: b.opts.Hub, Rel: "hub"})
	}
	for _, e := range d.entries {
		out.Entries = append(out.Entries, b.atomEntry(e))
	}
	return encodeXML(out)
}

func (b *Builder) atomEntry(e *entry) *atomEntry {
	en := &gf.AtomEntry{
		Title:     e.title,
		Id:        e.id,
		Updated:   e.updated.Format(time.RFC3339),
		Published: e.published.Format(time.RFC3339),
	}
	if e.summary != "" {
		en.Summary = &gf.AtomSummary{Type: "text", Content: e.summary}
	}
	if e.content != "" {
		en.Content = &gf.AtomContent{Type: "html", Content: e.content}
	}
	out := &atomEntry{AtomEntry: en}
	out.Links = append(out.Links, atomEntryLink{Href: e.link, Rel: "alternate", Type: "text/html"})
	if img := e.image; img != nil {
		l := atomEntryLink{Href: img.url, Rel: "enclosure", Type: img.mimeType, Title: img.captionText}
		if img.length > 0 {
			l.Length = itoa(img.length)
		}
		out.Links = append(out.Links, l)
	}
	for _, a := range e.authors {
		out.Authors = append(out.Authors, gf.AtomAuthor{AtomPerson: gf.AtomPerson{Name: a}})
	}
	if e.section.term != "" {
		out.Categories = append(out.Categories, atomCategory{Term: e.section.term, Scheme: b.sectionScheme(), Label: e.section.label})
	}
	for _, t := range e.tags {
		out.Categories = append(out.Categories, atomCategory{Term: t, Scheme: b.tagScheme(), Label: t})
	}
	return out
}
