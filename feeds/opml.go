package feeds

import (
	"encoding/xml"
	"fmt"
	"time"
)

// opmlDoc is an OPML 2.0 document listing feeds for readers' import.
type opmlDoc struct {
	XMLName xml.Name    `xml:"opml"`
	Version string      `xml:"version,attr"`
	Head    opmlHead    `xml:"head"`
	Body    []opmlOutln `xml:"body>outline"`
}

type opmlHead struct {
	Title        string `xml:"title"`
	DateCreated  string `xml:"dateCreated,omitempty"`
	DateModified string `xml:"dateModified,omitempty"`
	OwnerName    string `xml:"ownerName,omitempty"`
	Docs         string `xml:"docs"`
}

type opmlOutln struct {
	Text        string      `xml:"text,attr"`
	Title       string      `xml:"title,attr,omitempty"`
	Type        string      `xml:"type,attr,omitempty"`
	Version     string      `xml:"version,attr,omitempty"`
	XMLURL      string      `xml:"xmlUrl,attr,omitempty"`
	HTMLURL     string      `xml:"htmlUrl,attr,omitempty"`
	Description string      `xml:"description,attr,omitempty"`
	Language    string      `xml:"language,attr,omitempty"`
	Children    []opmlOutln `xml:"outline"`
}

// opmlDate is RFC 822 as OPML 2.0 specifies for its dates.
const opmlDate = time.RFC1123Z

// OPML lists every feed of chans in every format as OPML 2.0: one outline
// per feed, holding one subscription outline per format. updated dates
// the list (the newest article; never the clock).
func (b *Builder) OPML(chans []Channel, updated time.Time) ([]byte, error) {
	if updated.IsZero() {
		updated = epoch()
	}
	d := opmlDoc{
		Version: "2.0",
		Head: opmlHead{
			Title:        b.opts.SiteTitle + " feeds",
			DateModified: updated.Format(opmlDate),
			OwnerName:    b.opts.SiteTitle,
			Docs:         "http://opml.org/spec2.opml",
		},
	}
	for _, ch := range chans {
		title := b.sanitize.plain(ch.Title)
		if title == "" {
			title = ch.Name
		}
		group := opmlOutln{Text: title, Title: title}
		for _, f := range Formats() {
			o := opmlOutln{
				Text:        title + " (" + f.Label() + ")",
				Type:        "rss", // OPML 2.0 uses type="rss" for every feed format
				XMLURL:      b.FeedURL(ch.Name, f),
				HTMLURL:     b.opts.PageURL(ch.Name),
				Description: b.sanitize.plain(ch.Description),
				Language:    b.opts.Language,
			}
			if f == RSS {
				o.Version = "RSS2"
			}
			group.Children = append(group.Children, o)
		}
		d.Body = append(d.Body, group)
	}
	out, err := encodeXML(d)
	if err != nil {
		return nil, fmt.Errorf("feeds: render %s: %w", OPMLName, err)
	}
	return out, nil
}
