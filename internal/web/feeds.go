package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressroom/pressroom/feeds"
)

// The feeds: GET /feeds/{name}.rss|.atom|.json and GET /feeds.opml.
//
// Every feed is held rendered in memory, with a gzip copy made once per
// build. A build happens only when the store's change mark moves (see
// feeds.Builder.Mark): a background refresher (RunFeeds) checks it at most
// once per CheckEvery, and RefreshFeeds lets a writer (the admin API)
// rebuild at once. A request in the steady state reads only memory.

// FeedSource is what the served feeds read: the feeds' article source
// plus when its articles last changed. *store.DB satisfies it.
type FeedSource interface {
	feeds.Source
	// ArticlesChangedAt returns the latest time at which what the feeds
	// show as of now may have changed (the last write that moved the
	// change mark, or an embargo lifting). The first build after start
	// dates every feed no earlier than this.
	ArticlesChangedAt(ctx context.Context, now time.Time) (time.Time, error)
}

// FeedOptions configure the feeds. A nil Options.Feeds leaves the feed
// URLs answering 404 and pages without autodiscovery links.
type FeedOptions struct {
	// Source is the article store; nil means Options.Store, which must
	// then implement FeedSource.
	Source FeedSource
	// Feeds configures the builder. BaseURL defaults to Options.BaseURL,
	// SiteTitle to Options.SiteName, Logger to Options.Logger, and
	// PageURL to the index page's section anchors.
	Feeds feeds.Options
	// MaxAge is the Cache-Control max-age of feed responses; default 1
	// minute.
	MaxAge time.Duration
	// CheckEvery is how often RunFeeds looks at the change mark; default
	// (and minimum) 1 second.
	CheckEvery time.Duration
	// Publisher, if set, is told the URLs of the feeds whose bytes changed
	// after each rebuild (WebSub).
	Publisher interface {
		Publish(ctx context.Context, topics []string) error
	}
}

// feedService holds the built feeds.
type feedService struct {
	opts    FeedOptions
	builder *feeds.Builder
	src     FeedSource
	now     func() time.Time
	maxAge  []string // Cache-Control value
	metrics *Metrics
	results feedResults

	mu  sync.Mutex                // serialises builds
	cur atomic.Pointer[feedState] // nil until the first build
}

// feedState is one build, ready to serve.
type feedState struct {
	set    *feeds.Set
	files  map[string]*servedFile // by URL path: "/feeds/world.rss", "/feeds.opml"
	names  []string               // feed names in section order, then all, top, most-read
	titles map[string]string      // feed name -> title
}

// servedFile is a feed with everything a response needs precomputed,
// header values included: a request assigns these slices to the header
// map as they are, with no formatting or allocation. They are shared by
// every response and never modified (a slice of capacity 1 that someone
// appends to is copied, not changed).
type servedFile struct {
	etag, gzETag string
	modified     time.Time
	lastModified []string // http.TimeFormat
	contentType  []string
	plain, gz    servedCoding
}

// servedCoding is one content coding of a feed: identity or gzip.
type servedCoding struct {
	body            []byte
	etag            []string // a strong tag differs per content coding
	contentLength   []string
	contentEncoding []string // nil for identity
}

// Header values shared by every feed response.
var (
	varyAcceptEncoding = []string{"Accept-Encoding"}
	noSniff            = []string{"nosniff"}
)

func (s *Server) initFeeds() error {
	fo := s.opts.Feeds
	if fo == nil {
		return nil
	}
	o := *fo
	src := o.Source
	if src == nil {
		var ok bool
		if src, ok = s.opts.Store.(FeedSource); !ok {
			return errors.New("web: new: FeedOptions.Source is nil and Options.Store does not implement web.FeedSource")
		}
	}
	if o.Feeds.BaseURL == "" {
		o.Feeds.BaseURL = s.opts.BaseURL
	}
	if o.Feeds.SiteTitle == "" {
		o.Feeds.SiteTitle = s.opts.SiteName
	}
	if o.Feeds.Logger == nil {
		o.Feeds.Logger = s.logger
	}
	if o.Feeds.PageURL == nil {
		o.Feeds.PageURL = FeedPageURL(o.Feeds.BaseURL)
	}
	b, err := feeds.New(o.Feeds)
	if err != nil {
		return fmt.Errorf("web: new: %w", err)
	}
	if o.MaxAge <= 0 {
		o.MaxAge = time.Minute
	}
	if o.CheckEvery < time.Second {
		o.CheckEvery = time.Second
	}
	s.feeds = &feedService{
		opts:    o,
		builder: b,
		src:     src,
		now:     s.now,
		maxAge:  []string{"public, max-age=" + strconv.Itoa(int(o.MaxAge/time.Second))},
		metrics: s.metrics,
		results: s.metrics.feedResults(),
	}
	return nil
}

// FeedPageURL returns the feeds' PageURL for a site at baseURL: the index
// page, and for a section its block on the index page. A static export
// uses it too, so exported feeds are byte-identical to served ones.
func FeedPageURL(baseURL string) func(feed string) string {
	base := strings.TrimRight(baseURL, "/")
	return func(feed string) string {
		switch feed {
		case feeds.FeedAll, feeds.FeedTop, feeds.FeedMostRead:
			return base + "/"
		}
		return base + "/#s-" + url.PathEscape(feed)
	}
}

// RefreshFeeds rebuilds the feeds if the store's change mark moved since
// the last build, and tells the Publisher which feeds changed. Writers
// call it after a write so readers see the change at once. It is a no-op
// without Options.Feeds.
func (s *Server) RefreshFeeds(ctx context.Context) error {
	if s.feeds == nil {
		return nil
	}
	_, err := s.feeds.refresh(ctx)
	return err
}

// FeedSet returns the current feeds, building them first if the change
// mark moved (for the static export). It fails without Options.Feeds.
func (s *Server) FeedSet(ctx context.Context) (*feeds.Set, error) {
	if s.feeds == nil {
		return nil, errors.New("web: feeds are not enabled")
	}
	st, err := s.feeds.refresh(ctx)
	if err != nil {
		return nil, err
	}
	return st.set, nil
}

// FeedBuilder returns the builder the server renders feeds with (nil
// without Options.Feeds), so an export names feeds the same way.
func (s *Server) FeedBuilder() *feeds.Builder {
	if s.feeds == nil {
		return nil
	}
	return s.feeds.builder
}

// RunFeeds keeps the feeds current until ctx ends: it checks the change
// mark every CheckEvery and rebuilds when it moved. Errors are logged and
// the old feeds stay in service. It returns at once without
// Options.Feeds.
func (s *Server) RunFeeds(ctx context.Context) {
	if s.feeds == nil {
		return
	}
	tick := time.NewTicker(s.feeds.opts.CheckEvery)
	defer tick.Stop()
	for {
		if _, err := s.feeds.refresh(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("Feed refresh failed; serving the previous build", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// refresh returns the current state, rebuilt if the mark moved.
func (f *feedService) refresh(ctx context.Context) (*feedState, error) {
	now := f.now()
	mark, err := f.builder.Mark(ctx, f.src, now)
	if err != nil {
		return nil, fmt.Errorf("web: feeds: %w", err)
	}
	if st := f.cur.Load(); st != nil && st.set.Mark == mark {
		return st, nil
	}
	f.mu.Lock()
	prev := f.cur.Load()
	if prev != nil && prev.set.Mark == mark { // another caller built it meanwhile
		f.mu.Unlock()
		return prev, nil
	}
	start := time.Now()
	set, err := f.builder.Build(ctx, f.src, now)
	if err != nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("web: feeds: %w", err)
	}
	f.metrics.ObserveFeedBuild("all", time.Since(start))
	// Read after the build: a write landing in between only dates the
	// feeds later, which is safe.
	changedAt, err := f.src.ArticlesChangedAt(ctx, now)
	if err != nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("web: feeds: %w", err)
	}
	st := newFeedState(set, prev, changedAt, now)
	f.cur.Store(st)
	f.mu.Unlock()

	var changed []string
	if prev != nil {
		changed = feeds.Changed(prev.set, set)
	} else {
		changed = nil // the first build after start: nothing is known to have changed
	}
	f.builder.Options().Logger.Info("Feeds built", "mark", set.Mark, "files", len(set.Files), "changed", len(changed))
	if f.opts.Publisher != nil && len(changed) > 0 {
		if topics := f.builder.Topics(set, changed); len(topics) > 0 {
			if err := f.opts.Publisher.Publish(ctx, topics); err != nil {
				f.builder.Options().Logger.Warn("WebSub publish failed", "error", err)
			}
		}
	}
	return st, nil
}

// current returns the state, building it on first use (the only time a
// feed request may wait on the database).
func (f *feedService) current(ctx context.Context) (*feedState, error) {
	if st := f.cur.Load(); st != nil {
		return st, nil
	}
	return f.refresh(ctx)
}

// newFeedState prepares set for serving. Last-Modified is the feed's own
// date (its newest article) unless that would not move forward although
// the bytes changed, as when the newest article is retracted: a client
// asking If-Modified-Since would then wrongly get 304, so the change is
// dated now instead. Unchanged files keep their date.
//
// A file with no previous state (the first build in this process, or a
// new feed) cannot be compared: the newest article may have been
// retracted while the server was down, leaving an older own date than the
// one clients were given. Its Last-Modified is therefore the later of its
// own date and changedAt (when the store's articles last changed), never
// later than now. After a restart, clients revalidating by date only may
// so refetch a feed once; none gets a wrong 304. ETags are unaffected.
func newFeedState(set *feeds.Set, prev *feedState, changedAt, now time.Time) *feedState {
	nowS := now.UTC().Truncate(time.Second)
	st := &feedState{set: set, files: make(map[string]*servedFile, len(set.Files)), names: set.Feeds(), titles: map[string]string{}}
	for i := range set.Files {
		f := &set.Files[i]
		if f.Feed != "" {
			st.titles[f.Feed] = f.Title
		}
		p := "/feeds/" + f.Name
		if f.Format == "" {
			p = "/" + f.Name
		}
		modified := f.Modified.UTC().Truncate(time.Second)
		var old *servedFile
		if prev != nil {
			old = prev.files[p]
		}
		switch {
		case old == nil:
			if c := changedAt.UTC().Truncate(time.Second); c.After(modified) {
				modified = c
			}
			if modified.After(nowS) {
				modified = nowS
			}
		case old.etag == f.ETag:
			modified = old.modified
		case !modified.After(old.modified):
			modified = nowS
			if !modified.After(old.modified) {
				modified = old.modified.Add(time.Second)
			}
		}
		st.files[p] = newServedFile(f, modified)
	}
	return st
}

func newServedFile(f *feeds.File, modified time.Time) *servedFile {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level cannot fail
	_, _ = zw.Write(f.Data)                                  // writing to a bytes.Buffer cannot fail
	_ = zw.Close()
	gz := buf.Bytes()
	gzETag := strings.TrimSuffix(f.ETag, `"`) + `-gz"`
	return &servedFile{
		etag:         f.ETag,
		gzETag:       gzETag,
		modified:     modified,
		lastModified: []string{modified.Format(http.TimeFormat)},
		contentType:  []string{f.ContentType},
		plain: servedCoding{
			body:          f.Data,
			etag:          []string{f.ETag},
			contentLength: []string{strconv.Itoa(len(f.Data))},
		},
		gz: servedCoding{
			body:            gz,
			etag:            []string{gzETag},
			contentLength:   []string{strconv.Itoa(len(gz))},
			contentEncoding: []string{"gzip"},
		},
	}
}

// serveFeed answers GET and HEAD for /feeds/{file} and /feeds.opml. A
// cached feed is the busiest response the server gives, so everything is
// precomputed per build and set by direct assignment under canonical
// header keys.
func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request) {
	fs := s.feeds
	if fs == nil {
		feedNotFound(w, "Feeds are not enabled on this server.")
		return
	}
	hit := fs.results.hit
	st := fs.cur.Load()
	if st == nil {
		hit = fs.results.miss // the first request builds the feeds
		var err error
		if st, err = fs.current(r.Context()); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	f, ok := st.files[r.URL.Path]
	if !ok {
		fs.results.notFound.Inc()
		feedNotFound(w, notFoundMessage(r.URL.Path, st.names))
		return
	}
	c := &f.plain
	if acceptsGzip(firstValue(r.Header, "Accept-Encoding")) {
		c = &f.gz
	}
	h := w.Header()
	h["Cache-Control"] = fs.maxAge
	h["Vary"] = varyAcceptEncoding
	h["Etag"] = c.etag
	h["Last-Modified"] = f.lastModified
	if notModified(r, f) {
		fs.results.notModified.Inc()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hit.Inc()
	h["Content-Type"] = f.contentType
	h["X-Content-Type-Options"] = noSniff
	if c.contentEncoding != nil {
		h["Content-Encoding"] = c.contentEncoding
	}
	h["Content-Length"] = c.contentLength
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(c.body)
	}
}

// firstValue is Header.Get for a key already in canonical form, without
// canonicalising it again.
func firstValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// notModified applies RFC 9110's conditional GET: If-None-Match when
// present (either coding's tag matches: the bytes are the same feed),
// else If-Modified-Since.
func notModified(r *http.Request, f *servedFile) bool {
	if inm := firstValue(r.Header, "If-None-Match"); inm != "" {
		if inm == f.etag || inm == f.gzETag { // the usual case: a client sends back the one tag it got
			return true
		}
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == f.etag || tag == f.gzETag {
				return true
			}
		}
		return false
	}
	if ims := firstValue(r.Header, "If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !f.modified.After(t) {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding value admits gzip.
func acceptsGzip(ae string) bool {
	switch ae {
	case "":
		return false
	case "gzip", "gzip, deflate", "gzip, deflate, br", "gzip, deflate, br, zstd": // what clients send
		return true
	}
	gzipQ, starQ := -1.0, -1.0
	for part := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip":
			gzipQ = q
		case "*":
			starQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

func feedNotFound(w http.ResponseWriter, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintln(w, msg)
}

// notFoundMessage explains a 404 under /feeds/: an unknown format or an
// unknown feed, listing what exists.
func notFoundMessage(p string, names []string) string {
	file := path.Base(p)
	ext := path.Ext(file)
	list := "Feeds: " + strings.Join(names, ", ") + ", each as .rss (RSS 2.0), .atom (Atom 1.0) or .json (JSON Feed 1.1); all of them are listed in /feeds.opml."
	if _, ok := feeds.ParseFormat(strings.TrimPrefix(ext, ".")); !ok {
		return fmt.Sprintf("No feed at %s: unknown format %q. %s", p, ext, list)
	}
	return fmt.Sprintf("No feed at %s: there is no feed named %q. %s", p, strings.TrimSuffix(file, ext), list)
}

// feedAlternates returns the autodiscovery links for a page: the "all"
// feed in every format everywhere, and on the index every other feed as
// RSS too.
func (s *Server) feedAlternates(r *http.Request) []Alternate {
	if s.feeds == nil {
		return nil
	}
	b := s.feeds.builder
	site := b.Options().SiteTitle
	var alts []Alternate
	for _, f := range feeds.Formats() {
		alts = append(alts, Alternate{Type: mediaType(f), Title: site + ": Latest news (" + f.Label() + ")", Href: b.FeedURL(feeds.FeedAll, f)})
	}
	if r.URL.Path != "/" {
		return alts
	}
	// The index lists every section: offer every feed, as RSS.
	st, err := s.feeds.current(r.Context())
	if err != nil {
		s.logger.Warn("Feeds unavailable for autodiscovery links", "request_id", RequestID(r.Context()), "error", err)
		return alts
	}
	for _, name := range st.names {
		if name == feeds.FeedAll {
			continue
		}
		alts = append(alts, Alternate{Type: mediaType(feeds.RSS), Title: st.titles[name] + " (RSS 2.0)", Href: b.FeedURL(name, feeds.RSS)})
	}
	return alts
}

func mediaType(f feeds.Format) string {
	ct := f.ContentType()
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		return ct[:i]
	}
	return ct
}
