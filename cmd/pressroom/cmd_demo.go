package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressroom/pressroom/digest"
	"github.com/pressroom/pressroom/internal/ingest"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

// demoData is the demo newsroom (see demodata/README.md).
//
//go:embed demodata/*.jsonl
var demoData embed.FS

// demoURLs are the pages the demo points a new user to, relative to the
// site's base URL. Features add their pages here.
func demoURLs() [][2]string {
	return [][2]string{
		{"/", "sections and latest headlines"},
		{"/subscribe", "sign up for the daily press review (emails go to the --outbox folder)"},
		{"/feeds/all.rss", "the latest news as RSS (also .atom, .json; per section: /feeds/SECTION.rss)"},
		{"/feeds.opml", "every feed, for a feed reader's import"},
		{"/healthz", "health check"},
	}
}

func cmdDemo(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("demo", "[flags]", `
Run a demo newsroom: create a fresh database in a temporary directory,
load the embedded demo data (eight sections, 64 articles over three days,
view counts), and serve it like 'pressroom serve', printing the URLs to
open. The demo's dates are moved forward by whole days so that its newest
article is from the last 24 hours. Nothing needs the network. --db is
ignored; the temporary directory is removed on exit unless --keep.`)
	var o serveOptions
	o.register(cf)
	keep := cf.Bool("keep", false, "keep the temporary database directory after exit")
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	if o.shutdownTimeout <= 0 {
		return cf.usageErrorf("--shutdown-timeout must be positive, got %v", o.shutdownTimeout)
	}
	if err := o.feeds.check(cf); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pressroom-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if *keep {
		defer fmt.Fprintf(e.stdout, "The demo database is kept in %s\n", dir)
	} else {
		defer func() {
			if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
				err = fmt.Errorf("demo: %w", rerr)
			}
		}()
	}
	e.cfg.DB = filepath.Join(dir, "pressroom.db")
	db, err := store.Open(ctx, e.cfg.DB, store.Options{Logger: e.logger, Now: e.now})
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	sum, err := loadDemo(ctx, db, e.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Loaded the demo newsroom into %s: %s.\n", e.cfg.DB, sum)
	dates, err := planDemoEditions(ctx, e, db, e.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Planned the press review archive: %s.\n", strings.Join(dates, ", "))
	o.ready = func(baseURL string) {
		fmt.Fprintln(e.stdout, "Open in a browser:")
		for _, u := range demoURLs() {
			fmt.Fprintf(e.stdout, "  %-40s %s\n", baseURL+u[0], u[1])
		}
		fmt.Fprintln(e.stdout, "Stop with Ctrl-C.")
	}
	return serve(ctx, e, db, o)
}

// loadDemo loads the embedded demo data into db through the same paths
// as the import commands, with every time moved forward (or back) by the
// whole number of days that puts the newest article within the 24 hours
// before now. It returns a summary for the user.
func loadDemo(ctx context.Context, db *store.DB, now time.Time) (string, error) {
	raw := func(name string) ([]byte, error) {
		b, err := demoData.ReadFile("demodata/" + name)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		return b, nil
	}
	secData, err := raw("sections.jsonl")
	if err != nil {
		return "", err
	}
	sections, err := parseDemoSections(secData)
	if err != nil {
		return "", err
	}
	for _, s := range sections {
		if err := db.AddSection(ctx, s); err != nil {
			return "", fmt.Errorf("demo: %w", err)
		}
	}
	artData, err := raw("articles.jsonl")
	if err != nil {
		return "", err
	}
	var newest time.Time
	if _, err := ingest.Articles(bytes.NewReader(artData), "demodata/articles.jsonl", sections, func(a news.Article) error {
		if a.PublishedAt.After(newest) {
			newest = a.PublishedAt
		}
		return nil
	}); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	days := int(now.Sub(newest).Hours() / 24)
	if now.Before(newest) {
		days-- // round towards the past so no article lies in the future
	}
	shift := time.Duration(days) * 24 * time.Hour
	counts, err := db.ImportArticles(ctx, now, func(put func(news.Article) error) error {
		_, err := ingest.Articles(bytes.NewReader(artData), "demodata/articles.jsonl", sections, func(a news.Article) error {
			a.PublishedAt = a.PublishedAt.Add(shift)
			if !a.UpdatedAt.IsZero() {
				a.UpdatedAt = a.UpdatedAt.Add(shift)
			}
			return put(a)
		})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	viewData, err := raw("views.jsonl")
	if err != nil {
		return "", err
	}
	views, err := db.ImportViews(ctx, func(put func(news.ViewCount) error) error {
		_, err := ingest.Views(bytes.NewReader(viewData), "demodata/views.jsonl", func(v news.ViewCount) error {
			v.At = v.At.Add(shift)
			return put(v)
		})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return fmt.Sprintf("%d sections, %d articles, %d view counts, dates moved by %d days", len(sections), counts.Inserted, views, days), nil
}

// parseDemoSections reads sections.jsonl: {"slug","title","description","position"} per line.
func parseDemoSections(data []byte) ([]news.Section, error) {
	var out []news.Section
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var w struct {
			Slug        string `json:"slug"`
			Title       string `json:"title"`
			Description string `json:"description"`
			Position    int    `json:"position"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			return nil, fmt.Errorf("demo: demodata/sections.jsonl:%d: %w", i+1, err)
		}
		s := news.Section{Slug: w.Slug, Title: w.Title, Description: w.Description, Position: w.Position}
		if fe := news.ValidateSection(s); fe != nil {
			return nil, fmt.Errorf("demo: demodata/sections.jsonl:%d: %w", i+1, fe)
		}
		out = append(out, s)
	}
	return out, nil
}

// planDemoEditions plans the press review of the two most recent days whose
// cutoff (the default 08:00) has passed, oldest first, so the demo's web
// archive at /digest/ has editions to show. The demo has no subscribers,
// so nothing is sent. It returns the dates planned.
func planDemoEditions(ctx context.Context, e *env, db *store.DB, now time.Time) ([]string, error) {
	p, err := digest.NewPlanner(db, digest.PlanOptions{Location: e.cfg.Location, Logger: e.logger})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	day := now.In(e.cfg.Location)
	if now.Before(p.CutoffOf(day)) {
		day = day.AddDate(0, 0, -1)
	}
	dates := []string{day.AddDate(0, 0, -1).Format("2006-01-02"), day.Format("2006-01-02")}
	for _, d := range dates {
		if _, err := p.Plan(ctx, d, now); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	return dates, nil
}
