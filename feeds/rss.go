package feeds

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"time"

	gf "github.com/gorilla/feeds"
)

// XML namespaces used by the RSS feed's extensions.
const (
	nsContent = "http://purl.org/rss/1.0/modules/content/"
	nsDC      = "http://purl.org/dc/elements/1.1/"
	nsAtom    = "http://www.w3.org/2005/Atom"
	nsMedia   = "http://search.yahoo.com/mrss/"
)

// rssDate is RFC 822 (RFC 1123 with a four-digit year) with a numeric
// zone, as the RSS Advisory Board profile recommends.
const rssDate = time.RFC1123Z

// rssDoc replaces gorilla's RssFeedXml to declare the extension
// namespaces the items use.
type rssDoc struct {
	XMLName   xml.Name `xml:"rss"`
	Version   string   `xml:"version,attr"`
	NSContent string   `xml:"xmlns:content,attr"`
	NSDC      string   `xml:"xmlns:dc,attr"`
	NSAtom    string   `xml:"xmlns:atom,attr"`
	NSMedia   string   `xml:"xmlns:media,attr"`
	Channel   *rssChannel
}

// rssChannel extends gorilla's channel with atom:link (self, hub) and
// items of our own type. Items hides RssFeed.Items (same XML name at a
// shallower depth).
type rssChannel struct {
	XMLName xml.Name `xml:"channel"`
	*gf.RssFeed
	AtomLinks []rssAtomLink `xml:"atom:link"`
	Items     []*rssItem    `xml:"item"`
}

type rssAtomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
}

// rssItem extends gorilla's item with categories carrying a domain,
// atom:updated, Dublin Core creators and Media RSS. Category hides
// RssItem.Category; RssItem.Author stays empty (RSS wants an email there).
type rssItem struct {
	XMLName xml.Name `xml:"item"`
	*gf.RssItem
	Updated    string        `xml:"atom:updated,omitempty"`
	Creators   []string      `xml:"dc:creator"`
	Categories []rssCategory `xml:"category"`
	Media      *mediaContent `xml:"media:content"`
}

type rssCategory struct {
	Domain string `xml:"domain,attr,omitempty"`
	Value  string `xml:",chardata"`
}

// mediaContent is a Media RSS media:content element for the lead image.
type mediaContent struct {
	URL         string            `xml:"url,attr"`
	Type        string            `xml:"type,attr,omitempty"`
	Medium      string            `xml:"medium,attr"`
	FileSize    int64             `xml:"fileSize,attr,omitempty"`
	Width       int               `xml:"width,attr,omitempty"`
	Height      int               `xml:"height,attr,omitempty"`
	Description *mediaDescription `xml:"media:description"`
	Credit      *mediaCredit      `xml:"media:credit"`
}

type mediaDescription struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

type mediaCredit struct {
	Role  string `xml:"role,attr,omitempty"`
	Value string `xml:",chardata"`
}

func (b *Builder) renderRSS(d *doc) ([]byte, error) {
	ch := &gf.RssFeed{
		Title:         d.title,
		Link:          d.page,
		Description:   d.description,
		Language:      b.opts.Language,
		Copyright:     b.opts.Copyright,
		LastBuildDate: d.updated.Format(rssDate),
		Generator:     "Pressroom",
		Docs:          "https://www.rssboard.org/rss-specification",
		Ttl:           b.ttlMinutes(),
	}
	if b.opts.Logo != "" {
		ch.Image = &gf.RssImage{Url: b.opts.Logo, Title: d.title, Link: d.page}
	}
	if len(d.entries) > 0 {
		ch.PubDate = d.entries[0].published.Format(rssDate)
	}
	c := &rssChannel{RssFeed: ch, Items: make([]*rssItem, 0, len(d.entries))}
	c.AtomLinks = append(c.AtomLinks, rssAtomLink{Href: b.FeedURL(d.name, RSS), Rel: "self", Type: RSS.mediaType()})
	if b.opts.Hub != "" {
		c.AtomLinks = append(c.AtomLinks, rssAtomLink{Href: b.opts.Hub, Rel: "hub"})
	}
	for _, e := range d.entries {
		c.Items = append(c.Items, b.rssItem(e))
	}
	x := &rssDoc{Version: "2.0", NSContent: nsContent, NSDC: nsDC, NSAtom: nsAtom, NSMedia: nsMedia, Channel: c}
	return encodeXML(x)
}

func (b *Builder) rssItem(e *entry) *rssItem {
	it := &gf.RssItem{
		Title: e.title,
		Link:  e.link,
		// RSS readers treat description as HTML: the plain-text lead is
		// escaped for HTML here and for XML by the encoder, so a lead
		// reading "<script>" is shown as text, never run.
		Description: htmlEscape(e.summary),
		Guid:        &gf.RssGuid{Id: e.id, IsPermaLink: strconv.FormatBool(e.permalink)},
		PubDate:     e.published.Format(rssDate),
	}
	if e.content != "" {
		it.Content = &gf.RssContent{Content: e.content}
	}
	out := &rssItem{RssItem: it, Creators: e.authors}
	if !e.updated.Equal(e.published) {
		out.Updated = e.updated.Format(time.RFC3339)
	}
	if e.section.label != "" {
		out.Categories = append(out.Categories, rssCategory{Domain: b.sectionScheme(), Value: e.section.label})
	}
	for _, t := range e.tags {
		out.Categories = append(out.Categories, rssCategory{Domain: b.tagScheme(), Value: t})
	}
	if img := e.image; img != nil {
		m := &mediaContent{URL: img.url, Type: img.mimeType, Medium: "image", FileSize: img.length, Width: img.width, Height: img.height}
		if img.captionHTML != "" {
			m.Description = &mediaDescription{Type: "html", Value: img.captionHTML}
		}
		if img.credit != "" {
			m.Credit = &mediaCredit{Value: img.credit}
		}
		out.Media = m
		if img.mimeType != "" {
			// RSS requires length; the RSS Advisory Board says 0 when
			// unknown.
			it.Enclosure = &gf.RssEnclosure{Url: img.url, Type: img.mimeType, Length: itoa(img.length)}
		}
	}
	return out
}

// sectionScheme and tagScheme identify the category vocabularies (RSS
// domain, Atom scheme).
func (b *Builder) sectionScheme() string { return b.base + "/sections/" }
func (b *Builder) tagScheme() string     { return b.base + "/tags/" }

// encodeXML writes the XML declaration and v, indented, ending with a
// newline.
func encodeXML(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
