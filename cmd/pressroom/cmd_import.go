package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/pressroom/pressroom/internal/ingest"
	"github.com/pressroom/pressroom/internal/news"
)

func cmdImport(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("import", "[flags] FILE|-", `
Import articles from FILE (or standard input with -), JSON Lines, one
article per line:

  {"id":"927791","url":"https://tass.com/politics/927791","section":"politics",
   "title":"...","lead":"...","body_html":"<p>...</p>","dateline":"WASHINGTON",
   "authors":["..."],"published_at":"2017-01-29T02:41:00+03:00",
   "updated_at":"...","image":{"url":"...","caption":"...","credit":"...",
   "width":1200,"height":800,"type":"image/jpeg","length":123456},
   "related":[{"title":"...","url":"..."}],"tags":["..."],"top_story":true}

Required: id, url (absolute http or https), section (an existing slug),
title, body_html, published_at (RFC 3339 with offset). An id already in
the database is updated. updated_at, when absent, becomes the import time
if the article's content changed and stays as it was otherwise.

All or nothing: every bad line is reported as FILE:LINE: field "x": reason,
and then nothing is written. A summary line (inserted, updated, unchanged)
is printed either way; a progress bar is shown when standard error is a
terminal.`)
	dryRun := cf.Bool("dry-run", false, "validate every line and report, without writing")
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cf.usageErrorf("want one FILE (or - for standard input), got %d arguments", len(pos))
	}
	in, name, size, err := e.openInput(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()

	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	sections, err := db.Sections(ctx)
	if err != nil {
		return err
	}

	r, finish := progressReader(in, size, "importing "+name, e.stderr, isTerminal(e.stderr))
	start := time.Now()
	if *dryRun {
		valid := 0
		lines, err := ingest.Articles(r, name, sections, func(news.Article) error { valid++; return nil })
		finish()
		if err != nil {
			return e.reportLineErrors(err, fmt.Sprintf("import %s: dry run", name))
		}
		fmt.Fprintf(e.stdout, "%s: %d lines, %d valid articles (dry run: nothing written)\n", name, lines, valid)
		return nil
	}
	lines := 0
	counts, err := db.ImportArticles(ctx, e.now(), func(put func(news.Article) error) error {
		n, err := ingest.Articles(r, name, sections, put)
		lines = n
		return err
	})
	finish()
	if err != nil {
		return e.reportLineErrors(err, "import "+name)
	}
	fmt.Fprintf(e.stdout, "%s: %d inserted, %d updated, %d unchanged (%d lines in %s)\n",
		name, counts.Inserted, counts.Updated, counts.Unchanged, lines, time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdViewsImport(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("views import", "[flags] FILE|-", `
Import hourly page-view counts from FILE (or standard input with -), JSON
Lines, one count per line:

  {"article_id":"927791","at":"2017-01-29T10:00:00Z","count":42}

at is an RFC 3339 time; the count is the article's total for the (UTC)
hour that contains it and replaces what was stored for that hour, so
importing the same file twice changes nothing. Each article and hour may
appear once per file. Every article_id must exist. All or nothing, like import: bad lines are
reported as FILE:LINE: field "x": reason and nothing is written.`)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cf.usageErrorf("want one FILE (or - for standard input), got %d arguments", len(pos))
	}
	in, name, size, err := e.openInput(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	r, finish := progressReader(in, size, "importing "+name, e.stderr, isTerminal(e.stderr))
	n, err := db.ImportViews(ctx, func(put func(news.ViewCount) error) error {
		_, err := ingest.Views(r, name, put)
		return err
	})
	finish()
	if err != nil {
		return e.reportLineErrors(err, "views import "+name)
	}
	fmt.Fprintf(e.stdout, "%s: %d view counts imported\n", name, n)
	return nil
}

// reportLineErrors prints each bad line of an ingest error on its own
// line of standard error and returns a one-line summary error; other
// errors are returned as they are.
func (e *env) reportLineErrors(err error, what string) error {
	var lerrs ingest.Errors
	if !errors.As(err, &lerrs) {
		return fmt.Errorf("%s: %w", what, err)
	}
	bad, more := 0, false
	for _, le := range lerrs {
		fmt.Fprintln(e.stderr, le.Error())
		if le.Line > 0 {
			bad++
		} else {
			more = true // "N more bad lines not listed", or a problem with the whole file
		}
	}
	if more {
		return fmt.Errorf("%s: %d bad lines listed and more; nothing written", what, bad)
	}
	return fmt.Errorf("%s: %d bad lines; nothing written", what, bad)
}

// openInput opens FILE, or standard input for "-". It returns the name
// errors should use and the size in bytes (-1 when unknown).
func (e *env) openInput(arg string) (io.ReadCloser, string, int64, error) {
	if arg == "-" {
		return io.NopCloser(e.stdin), "stdin", -1, nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, "", 0, err
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, arg, size, nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressReader wraps r with a progress bar on w (bytes read of size;
// a spinner when size is -1) when tty is true; finish clears it.
func progressReader(r io.Reader, size int64, desc string, w io.Writer, tty bool) (io.Reader, func()) {
	if !tty {
		return r, func() {}
	}
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	pr := progressbar.NewReader(r, bar)
	return &pr, func() { _ = bar.Finish() }
}
