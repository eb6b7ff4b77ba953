package feeds

import (
	"bytes"
	"encoding/json"
	"time"

	gf "github.com/gorilla/feeds"
)

// jsonFeedVersion is the JSON Feed 1.1 version URL.
const jsonFeedVersion = "https://jsonfeed.org/version/1.1"

// jsonFeed extends gorilla's JSONFeed: Items hides JSONFeed.Items, whose
// omitempty drops the required key from an empty feed.
type jsonFeed struct {
	*gf.JSONFeed
	Items []*jsonItem `json:"items"`
}

// jsonItem extends gorilla's JSONItem: dates as strings in the article's
// own offset, attachments with the spec's size_in_bytes key (gorilla
// writes "size", and its MarshalJSON escapes HTML characters).
type jsonItem struct {
	*gf.JSONItem
	PublishedDate string           `json:"date_published,omitempty"`
	ModifiedDate  string           `json:"date_modified,omitempty"`
	Attachments   []jsonAttachment `json:"attachments,omitempty"`
	// ContentText hides JSONItem.ContentText so that an empty one can
	// still be written: JSON Feed requires content_html or content_text.
	ContentText *string `json:"content_text,omitempty"`
}

type jsonAttachment struct {
	URL      string `json:"url"`
	MIMEType string `json:"mime_type"`
	Title    string `json:"title,omitempty"`
	Size     int64  `json:"size_in_bytes,omitempty"`
}

func (b *Builder) renderJSON(d *doc) ([]byte, error) {
	f := &gf.JSONFeed{
		Version:     jsonFeedVersion,
		Title:       d.title,
		Language:    b.opts.Language,
		HomePageUrl: d.page,
		FeedUrl:     b.FeedURL(d.name, JSON),
		Description: d.description,
		Icon:        b.opts.Logo,
		Favicon:     b.opts.Icon,
		Authors:     []*gf.JSONAuthor{{Name: b.opts.SiteTitle, Url: b.base + "/"}},
	}
	if b.opts.Hub != "" {
		f.Hubs = []*gf.JSONHub{{Type: "WebSub", Url: b.opts.Hub}}
	}
	out := &jsonFeed{JSONFeed: f, Items: make([]*jsonItem, 0, len(d.entries))}
	for _, e := range d.entries {
		out.Items = append(out.Items, b.jsonItem(e))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // content_html stays readable: "<p>", not "\u003cp\u003e"
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (b *Builder) jsonItem(e *entry) *jsonItem {
	it := &gf.JSONItem{
		Id:          e.id,
		Url:         e.link,
		Title:       e.title,
		ContentHTML: e.content,
		Summary:     e.summary,
		Tags:        e.categoryLabels(),
	}
	for _, a := range e.authors {
		it.Authors = append(it.Authors, &gf.JSONAuthor{Name: a})
	}
	out := &jsonItem{
		JSONItem:      it,
		PublishedDate: e.published.Format(time.RFC3339),
		ModifiedDate:  e.updated.Format(time.RFC3339),
	}
	if e.content == "" {
		text := e.summary
		out.ContentText = &text
	}
	if img := e.image; img != nil {
		it.Image = img.url
		if img.mimeType != "" {
			out.Attachments = []jsonAttachment{{URL: img.url, MIMEType: img.mimeType, Title: img.captionText, Size: img.length}}
		}
	}
	return out
}
