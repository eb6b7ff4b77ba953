package feeds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// Source is what the feeds need from the article store. *store.DB
// satisfies it.
type Source interface {
	// Sections returns every section, by position then slug.
	Sections(ctx context.Context) ([]news.Section, error)
	// LatestArticles returns up to limit articles of a section ("" for
	// all) published at or before now, newest first.
	LatestArticles(ctx context.Context, section string, limit int, now time.Time) ([]news.Article, error)
	// TopStories returns up to limit top stories published at or before
	// now, newest first.
	TopStories(ctx context.Context, limit int, now time.Time) ([]news.Article, error)
	// MostRead returns up to limit articles published at or before until,
	// by views counted in (since, until], most viewed first.
	MostRead(ctx context.Context, since, until time.Time, limit int) ([]news.Article, error)
	// ChangeMark returns a token that changes whenever a feed's content
	// may have changed (new, updated or newly un-embargoed articles).
	ChangeMark(ctx context.Context, now time.Time) (string, error)
}

// File is one rendered feed (or the OPML list).
type File struct {
	Name        string // file name, e.g. "world.rss" or "feeds.opml"
	Feed        string // feed name; "" for the OPML list
	Title       string // the feed's title
	Format      Format // "" for the OPML list
	ContentType string // with charset
	// Modified is the newest article's update time in UTC (the feed's
	// lastBuildDate/updated), for Last-Modified.
	Modified time.Time
	// ETag is a strong entity tag derived from Data, quotes included.
	ETag string
	Data []byte
}

// Set is every feed and the OPML list from one build.
type Set struct {
	// Mark is the build's change mark (see Builder.Mark): a set built
	// under the same mark has the same content.
	Mark  string
	Files []File // sorted by Name

	order []string // feed names in build (OPML) order
}

// File returns the file named name.
func (s *Set) File(name string) (*File, bool) {
	i := sort.Search(len(s.Files), func(i int) bool { return s.Files[i].Name >= name })
	if i < len(s.Files) && s.Files[i].Name == name {
		return &s.Files[i], true
	}
	return nil, false
}

// Feeds returns the names of the feeds in the set: the sections in their
// order, then "all", "top" and "most-read".
func (s *Set) Feeds() []string {
	return append([]string(nil), s.order...)
}

// Mark returns the token that decides whether a built Set is still
// current at now: the Source's ChangeMark plus the start of the
// most-read window's hour (views are kept in hourly buckets, so the
// window's content changes only on the hour).
func (b *Builder) Mark(ctx context.Context, src Source, now time.Time) (string, error) {
	m, err := src.ChangeMark(ctx, now)
	if err != nil {
		return "", fmt.Errorf("feeds: change mark: %w", err)
	}
	return m + "|" + now.UTC().Truncate(time.Hour).Format(time.RFC3339), nil
}

// Build renders every feed (each section, then "all", "top" and
// "most-read") in every format, and the OPML list, from src as of now.
func (b *Builder) Build(ctx context.Context, src Source, now time.Time) (*Set, error) {
	// The mark is read before the data: a write that lands during the
	// build changes the mark again, so the next check rebuilds.
	mark, err := b.Mark(ctx, src, now)
	if err != nil {
		return nil, err
	}
	sections, err := src.Sections(ctx)
	if err != nil {
		return nil, fmt.Errorf("feeds: build: sections: %w", err)
	}
	chans, err := b.channels(ctx, src, sections, now)
	if err != nil {
		return nil, err
	}
	titles := sectionTitles(sections)
	cache := map[string]*entry{}
	entryFor := func(a news.Article) *entry {
		key := a.ID + "\x00" + a.UpdatedAt.String()
		if e, ok := cache[key]; ok {
			return e
		}
		e := b.newEntry(a, titles)
		cache[key] = e
		return e
	}
	docs := make([]*doc, len(chans))
	var siteNewest time.Time
	for i, ch := range chans {
		docs[i] = b.prepare(ch, entryFor)
		if t := newest(docs[i].entries); t.After(siteNewest) {
			siteNewest = t
		}
	}
	set := &Set{Mark: mark}
	for i, d := range docs {
		if len(d.entries) == 0 && !siteNewest.IsZero() {
			d.updated = siteNewest // an empty feed is as fresh as the site
		}
		chans[i].Updated = d.updated
		set.order = append(set.order, d.name)
		for _, f := range Formats() {
			data, err := b.render(f, d)
			if err != nil {
				return nil, err
			}
			file := newFile(FileName(d.name, f), d.name, f, f.ContentType(), d.updated, data)
			file.Title = d.title
			set.Files = append(set.Files, file)
		}
	}
	opml, err := b.OPML(chans, siteNewest)
	if err != nil {
		return nil, err
	}
	modified := siteNewest
	if modified.IsZero() {
		modified = epoch()
	}
	list := newFile(OPMLName, "", "", OPMLContentType, modified, opml)
	list.Title = b.opts.SiteTitle + " feeds"
	set.Files = append(set.Files, list)
	sort.Slice(set.Files, func(i, j int) bool { return set.Files[i].Name < set.Files[j].Name })
	return set, nil
}

// channels loads the articles of every feed: sections in their order,
// then all, top and most-read.
func (b *Builder) channels(ctx context.Context, src Source, sections []news.Section, now time.Time) ([]Channel, error) {
	n := b.opts.Items
	var chans []Channel
	for _, s := range sections {
		switch s.Slug {
		case FeedAll, FeedTop, FeedMostRead:
			b.opts.Logger.Warn("Section feed skipped: slug is a reserved feed name", "section", s.Slug)
			continue
		}
		arts, err := src.LatestArticles(ctx, s.Slug, n, now)
		if err != nil {
			return nil, fmt.Errorf("feeds: build: section %q: %w", s.Slug, err)
		}
		desc := s.Description
		if desc == "" {
			desc = s.Title + " news from " + b.opts.SiteTitle + "."
		}
		chans = append(chans, Channel{Name: s.Slug, Title: b.opts.SiteTitle + ": " + s.Title, Description: desc, Articles: arts})
	}
	all, err := src.LatestArticles(ctx, "", n, now)
	if err != nil {
		return nil, fmt.Errorf("feeds: build: all: %w", err)
	}
	top, err := src.TopStories(ctx, n, now)
	if err != nil {
		return nil, fmt.Errorf("feeds: build: top stories: %w", err)
	}
	most, err := src.MostRead(ctx, now.Add(-b.opts.MostReadWindow), now, n)
	if err != nil {
		return nil, fmt.Errorf("feeds: build: most read: %w", err)
	}
	site := b.opts.SiteTitle
	chans = append(chans,
		Channel{Name: FeedAll, Title: site + ": Latest news", Description: b.opts.Description, Articles: all},
		Channel{Name: FeedTop, Title: site + ": Top stories", Description: "Top stories from " + site + ".", Articles: top},
		Channel{Name: FeedMostRead, Title: site + ": Most read", Description: "The most read stories on " + site + " in the last " + hours(b.opts.MostReadWindow) + ".", Articles: most},
	)
	return chans, nil
}

func hours(d time.Duration) string {
	h := int(d / time.Hour)
	if h == 1 {
		return "hour"
	}
	return fmt.Sprintf("%d hours", h)
}

func newFile(name, feed string, f Format, ctype string, modified time.Time, data []byte) File {
	sum := sha256.Sum256(data)
	return File{
		Name:        name,
		Feed:        feed,
		Format:      f,
		ContentType: ctype,
		Modified:    modified.UTC(),
		ETag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
		Data:        data,
	}
}
