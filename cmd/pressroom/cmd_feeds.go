package main

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/pressroom/pressroom/feeds"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/schedule"
	"github.com/pressroom/pressroom/internal/web"
)

// feedFlags are the feed settings "feeds build" and serve share.
type feedFlags struct {
	items      int
	hub        string
	icon, logo string
	title      string
	language   string
}

func (f *feedFlags) register(cf *cmdFlags) {
	cf.IntVar(&f.items, "feeds-items", 50, "`N` articles per feed")
	cf.StringVar(&f.title, "feeds-title", "Pressroom", "the site's `NAME` in feed titles (\"NAME: Latest news\") and descriptions")
	cf.StringVar(&f.language, "feeds-language", "en", "language `TAG` of the feeds (RFC 5646, e.g. ru or ru-RU): RSS language, Atom xml:lang, JSON language")
	cf.StringVar(&f.icon, "feeds-icon", "", "absolute `URL` of a small square image (favicon) named by every feed")
	cf.StringVar(&f.logo, "feeds-logo", "", "absolute `URL` of a GIF, JPEG or PNG logo named by every feed (RSS image, Atom logo, JSON icon)")
	cf.StringVar(&f.hub, "websub-hub", "", "WebSub hub `URL`: feeds link to it (rel=\"hub\") and it is told (hub.mode=publish) of every feed whose bytes changed")
}

func (f *feedFlags) check(cf *cmdFlags) error {
	if f.items <= 0 {
		return cf.usageErrorf("--feeds-items must be positive, got %d", f.items)
	}
	if strings.TrimSpace(f.title) == "" || strings.ContainsFunc(f.title, unicode.IsControl) {
		return cf.usageErrorf("--feeds-title: want a NAME without control characters, got %q", f.title)
	}
	if fe := feeds.CheckLanguage(f.language); fe != nil {
		return cf.usageErrorf("--feeds-language: %q is %s", f.language, fe.Msg)
	}
	for _, fl := range []struct{ name, v string }{{"websub-hub", f.hub}, {"feeds-icon", f.icon}, {"feeds-logo", f.logo}} {
		if fl.v == "" {
			continue
		}
		if ferr := news.CheckAbsoluteURL(fl.name, fl.v); ferr != nil {
			return cf.usageErrorf("--%s: %s", fl.name, ferr.Msg)
		}
	}
	return nil
}

// options returns the feed builder's options for a site at baseURL, the
// same for serve and "feeds build" so both produce the same bytes.
func (f *feedFlags) options(e *env, baseURL string) feeds.Options {
	return feeds.Options{
		BaseURL:   baseURL,
		SiteTitle: f.title,
		Language:  f.language,
		Items:     f.items,
		Hub:       f.hub,
		Icon:      f.icon,
		Logo:      f.logo,
		PageURL:   web.FeedPageURL(baseURL),
		Logger:    e.logger,
	}
}

// publisher returns the WebSub publisher, or nil without --websub-hub.
func (f *feedFlags) publisher(e *env) *feeds.WebSub {
	if f.hub == "" {
		return nil
	}
	return &feeds.WebSub{Hub: f.hub, Logger: e.logger}
}

// serveFeedFlags are serve's feed settings: the common ones plus the
// scheduled static export and HTTP caching.
type serveFeedFlags struct {
	feedFlags
	out    string
	cron   string
	maxAge time.Duration
}

func (f *serveFeedFlags) register(cf *cmdFlags) {
	f.feedFlags.register(cf)
	cf.StringVar(&f.out, "feeds-out", "", "also write every feed and feeds.opml into `DIR` on the --feeds-cron schedule (rewriting only changed files, deleting those of feeds that no longer exist)")
	cf.StringVar(&f.cron, "feeds-cron", "* * * * *", "when to export the feeds to --feeds-out (cron `SPEC` in --tz, or @every DURATION)")
	cf.DurationVar(&f.maxAge, "feeds-max-age", time.Minute, "Cache-Control max-age of feed responses (`DURATION`)")
}

func (f *serveFeedFlags) check(cf *cmdFlags) error {
	if err := f.feedFlags.check(cf); err != nil {
		return err
	}
	if f.maxAge < time.Second {
		return cf.usageErrorf("--feeds-max-age must be at least 1s, got %v", f.maxAge)
	}
	if f.out != "" {
		// Validate the spec now: a typo is a usage error, not a failure
		// after the server started.
		probe := schedule.New(time.UTC, nil)
		if err := probe.Add("probe", f.cron, func(context.Context) error { return nil }); err != nil {
			return cf.usageErrorf("--feeds-cron: %v", err)
		}
	}
	return nil
}

// webOptions returns the web server's feed options for a site at baseURL.
func (f *serveFeedFlags) webOptions(e *env, baseURL string) *web.FeedOptions {
	fo := &web.FeedOptions{Feeds: f.options(e, baseURL), MaxAge: f.maxAge}
	if p := f.publisher(e); p != nil {
		fo.Publisher = p
	}
	return fo
}

// exportJob writes the server's current feeds to --feeds-out.
func (f *serveFeedFlags) exportJob(e *env, srv *web.Server) schedule.Job {
	return func(ctx context.Context) error {
		set, err := srv.FeedSet(ctx)
		if err != nil {
			return err
		}
		ex, err := feeds.WriteDir(f.out, set)
		if err != nil {
			return err
		}
		logExport(e, f.out, ex)
		e.logger.Info("Feeds exported", "dir", f.out, "files", len(set.Files), "changed", len(ex.Written), "removed", len(ex.Removed))
		return nil
	}
}

// logExport logs what a static export left alone or could not do, and
// the stale feed files it deleted (those of feeds that no longer exist).
func logExport(e *env, dir string, ex feeds.Export) {
	for _, w := range ex.Warnings {
		e.logger.Warn("Feeds export problem", "dir", dir, "error", w)
	}
	if len(ex.Removed) > 0 {
		e.logger.Info("Stale feed files removed", "dir", dir, "files", ex.Removed)
	}
}

func cmdFeedsBuild(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("feeds build", "--out DIR [flags]", `
Write every feed (RSS 2.0, Atom 1.0 and JSON Feed 1.1 for each section and
for all, top and most-read) and feeds.opml into DIR, for a web server to
serve as static files. Each file is written to a temporary file and
renamed into place, and only files whose bytes changed are rewritten, so
their modification times and the web server's ETags stay stable. Prints
the names of the files written.

DIR keeps a list of the files the last export wrote (.pressroom-feeds);
files it lists that are no longer exported (a section removed or
renamed) are deleted and printed as "removed NAME". Files it does not
list, such as your own index.html or robots.txt, are never touched.

Links in feeds are absolute: --base-url (or PRESSROOM_BASE_URL) is
required. Articles published after now are held back.`)
	var (
		f   feedFlags
		out string
	)
	cf.StringVar(&out, "out", "", "write the feeds into `DIR` (created if missing)")
	f.register(cf)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	if out == "" {
		return cf.usageErrorf("--out DIR is required")
	}
	if e.cfg.BaseURL == "" {
		return cf.usageErrorf("--base-url (or PRESSROOM_BASE_URL) is required: feeds carry absolute links")
	}
	if err := f.check(cf); err != nil {
		return err
	}
	b, err := feeds.New(f.options(e, e.cfg.BaseURL))
	if err != nil {
		return err
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	set, err := b.Build(ctx, db, e.now())
	if err != nil {
		return err
	}
	ex, err := feeds.WriteDir(out, set)
	if err != nil {
		return err
	}
	logExport(e, out, ex)
	for _, name := range ex.Written {
		fmt.Fprintln(e.stdout, name)
	}
	for _, name := range ex.Removed {
		fmt.Fprintln(e.stdout, "removed", name)
	}
	fmt.Fprintf(e.stdout, "%d of %d files written to %s", len(ex.Written), len(set.Files), out)
	if len(ex.Removed) > 0 {
		noun := "files"
		if len(ex.Removed) == 1 {
			noun = "file"
		}
		fmt.Fprintf(e.stdout, ", %d stale %s removed", len(ex.Removed), noun)
	}
	fmt.Fprintln(e.stdout)
	if p := f.publisher(e); p != nil {
		if err := p.Publish(ctx, b.Topics(set, ex.Written)); err != nil {
			return err
		}
	}
	return nil
}
