// Package feeds renders Pressroom's syndication feeds: RSS 2.0, Atom 1.0
// and JSON Feed 1.1 for every section and for the "all", "top" and
// "most-read" feeds, plus an OPML 2.0 list of them, and writes them to a
// directory for static serving.
//
// The feed model comes from github.com/gorilla/feeds; its structs are
// embedded in this package's own where the library falls short (stable
// ids, Atom self/alternate links, xml:lang, published dates, categories
// with term/scheme/label, Dublin Core creators, Media RSS, the JSON Feed
// 1.1 keys it omits or misnames). Every document is produced by
// encoding/xml or encoding/json, never assembled from strings.
//
// Output is deterministic: feed dates come from the newest article, never
// from the clock, so an unchanged feed is byte-identical from one build to
// the next. Functions that depend on time take now as a parameter.
package feeds

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// Format is a feed format.
type Format string

// The feed formats, named by their file extensions.
const (
	RSS  Format = "rss"
	Atom Format = "atom"
	JSON Format = "json"
)

// Formats returns every feed format in output order.
func Formats() []Format { return []Format{RSS, Atom, JSON} }

// ContentType returns the media type of f, with its charset.
func (f Format) ContentType() string {
	switch f {
	case RSS:
		return "application/rss+xml; charset=utf-8"
	case Atom:
		return "application/atom+xml; charset=utf-8"
	case JSON:
		return "application/feed+json; charset=utf-8"
	}
	return "application/octet-stream"
}

// mediaType is ContentType without parameters, for link type attributes.
func (f Format) mediaType() string {
	ct := f.ContentType()
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		return ct[:i]
	}
	return ct
}

// Label is a human name of the format, e.g. "RSS 2.0".
func (f Format) Label() string {
	switch f {
	case RSS:
		return "RSS 2.0"
	case Atom:
		return "Atom 1.0"
	case JSON:
		return "JSON Feed 1.1"
	}
	return string(f)
}

// ParseFormat returns the format named by a file extension without the
// dot ("rss", "atom", "json").
func ParseFormat(ext string) (Format, bool) {
	switch Format(ext) {
	case RSS, Atom, JSON:
		return Format(ext), true
	}
	return "", false
}

// Names of the feeds that are not sections. A section with one of these
// slugs gets no feed of its own: these win.
const (
	FeedAll      = "all"
	FeedTop      = "top"
	FeedMostRead = "most-read"
)

// OPMLName is the file name of the OPML list of every feed.
const OPMLName = "feeds.opml"

// OPMLContentType is the media type served for OPMLName.
const OPMLContentType = "text/x-opml; charset=utf-8"

// FileName returns the file name of a feed in a format, e.g. "world.atom".
func FileName(feed string, f Format) string { return feed + "." + string(f) }

// Options configure a Builder. BaseURL is required; New fills in the
// defaults of the rest.
type Options struct {
	// BaseURL is the public absolute http(s) URL of the site, e.g.
	// "https://news.example.com". Feeds live under BaseURL + "/feeds/".
	BaseURL string
	// SiteTitle names the site in feed titles and as the feed author.
	// Default "Pressroom".
	SiteTitle string
	// Description describes the "all" feed. Default "Latest news from
	// " + SiteTitle + ".".
	Description string
	// Language is the feeds' language tag (RFC 5646). Default "en".
	Language string
	// Items is the number of articles per feed. Default 50.
	Items int
	// TTL tells RSS readers how long they may cache a feed. Default 5
	// minutes; rounded up to whole minutes.
	TTL time.Duration
	// MostReadWindow is how far back views count for the most-read feed.
	// Default 24 hours.
	MostReadWindow time.Duration
	// Icon is an absolute URL of a small square image (favicon); Logo of a
	// larger one. Both optional.
	Icon, Logo string
	// Copyright is an optional rights statement.
	Copyright string
	// Hub is an optional WebSub hub URL: every feed then links to it
	// with rel="hub".
	Hub string
	// PageURL returns the HTML page of a feed (its alternate link). The
	// default is BaseURL + "/" for the "all", "top" and "most-read" feeds
	// and BaseURL + "/sections/" + slug for a section.
	PageURL func(feed string) string
	// Logger receives warnings (e.g. a section whose slug is reserved).
	// Default: discard.
	Logger *slog.Logger
}

// CheckLanguage returns a FieldError unless tag is a language tag (RFC
// 5646) that feed validators accept, such as en or ru-RU.
func CheckLanguage(tag string) *news.FieldError {
	if !langRE.MatchString(tag) {
		return &news.FieldError{Field: "language", Msg: "not a language tag such as en or ru-RU"}
	}
	return nil
}

// langRE accepts RFC 5646 language tags as feed validators check them.
var langRE = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$`)

// Builder renders feeds with fixed options. It is safe for concurrent use.
type Builder struct {
	opts     Options
	base     string // BaseURL without a trailing slash
	sanitize *sanitizer
}

// New checks opts, fills in defaults and returns a Builder.
func New(opts Options) (*Builder, error) {
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if fe := news.CheckAbsoluteURL("base_url", opts.BaseURL); fe != nil {
		return nil, fmt.Errorf("feeds: options: %w", fe)
	}
	for name, v := range map[string]string{"icon": opts.Icon, "logo": opts.Logo, "hub": opts.Hub} {
		if v == "" {
			continue
		}
		if fe := news.CheckAbsoluteURL(name, v); fe != nil {
			return nil, fmt.Errorf("feeds: options: %w", fe)
		}
	}
	if opts.SiteTitle == "" {
		opts.SiteTitle = "Pressroom"
	}
	if opts.Description == "" {
		opts.Description = "Latest news from " + opts.SiteTitle + "."
	}
	if opts.Language == "" {
		opts.Language = "en"
	}
	if fe := CheckLanguage(opts.Language); fe != nil {
		return nil, fmt.Errorf("feeds: options: %w", fe)
	}
	if opts.Items <= 0 {
		opts.Items = 50
	}
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.MostReadWindow <= 0 {
		opts.MostReadWindow = 24 * time.Hour
	}
	base := opts.BaseURL
	if opts.PageURL == nil {
		opts.PageURL = func(feed string) string {
			switch feed {
			case FeedAll, FeedTop, FeedMostRead:
				return base + "/"
			}
			return base + "/sections/" + url.PathEscape(feed)
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Builder{opts: opts, base: base, sanitize: newSanitizer()}, nil
}

// Options returns the options in effect, defaults filled in.
func (b *Builder) Options() Options { return b.opts }

// FeedURL returns the absolute URL of a feed file, e.g.
// "https://news.example.com/feeds/world.rss".
func (b *Builder) FeedURL(feed string, f Format) string {
	return b.base + "/feeds/" + url.PathEscape(feed) + "." + string(f)
}

// OPMLURL returns the absolute URL of the OPML list.
func (b *Builder) OPMLURL() string { return b.base + "/" + OPMLName }

// Channel is one feed's content, independent of format.
type Channel struct {
	Name        string // feed name: a section slug, "all", "top" or "most-read"
	Title       string
	Description string
	Articles    []news.Article // newest first, as they appear in the feed
	// Updated dates the feed when it has no articles (otherwise the
	// newest article does). Zero means 1970-01-01T00:00:00Z.
	Updated time.Time
}

// ttlMinutes is the RSS ttl.
func (b *Builder) ttlMinutes() int {
	return int((b.opts.TTL + time.Minute - 1) / time.Minute)
}
