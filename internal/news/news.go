// Package news holds Pressroom's domain types: sections, articles, view
// counts, subscribers, editions and deliveries, and the validation rules
// that every input path (CLI import, admin API, web forms) shares.
//
// The types are plain structs: they know nothing of SQL, HTTP, JSON wire
// formats or feed formats. Adapters in other packages translate.
package news

import (
	"fmt"
	"time"
)

// Section is one part of the site, such as "politics" or "sport".
type Section struct {
	Slug        string // URL-safe identifier: lower-case letters, digits, hyphens
	Title       string // human title, e.g. "Russian Politics & Diplomacy"
	Description string
	Position    int // display order, ascending
}

// Image is an article's lead image.
type Image struct {
	URL     string
	Caption string // may contain simple HTML
	Credit  string
	Type    string // MIME type, e.g. "image/jpeg"
	Width   int
	Height  int
	Length  int64 // size in bytes; 0 when unknown
}

// Link is a "Read also" link.
type Link struct {
	Title string
	URL   string
}

// Article is one news story as the CMS delivers it.
type Article struct {
	ID          string
	URL         string // absolute http(s) URL of the article page
	Section     string // section slug
	Title       string // plain text
	Lead        string // plain text
	BodyHTML    string
	Dateline    string // city, e.g. "WASHINGTON"
	Authors     []string
	PublishedAt time.Time
	UpdatedAt   time.Time // never zero once stored
	Image       *Image    // nil when the article has none
	Related     []Link
	Tags        []string
	TopStory    bool
}

// ViewCount is a number of page views of one article in the hour that
// starts at At (views are kept in hourly buckets).
type ViewCount struct {
	ArticleID string
	At        time.Time
	Count     int64
}

// FieldError says which field of an input is wrong and why. Input paths
// add the place (file and line) around it.
type FieldError struct {
	Field string // the input's field name, e.g. "published_at"
	Msg   string // e.g. "not an RFC 3339 time"
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return fmt.Sprintf("field %q: %s", e.Field, e.Msg)
}
