// Package web is Pressroom's HTTP face: the section index page, health
// checks, and (added by the feature areas) feeds, subscription pages, the
// digest archive and the admin API.
//
// The package never touches the database directly: it declares the small
// Store interface it needs and cmd/pressroom passes a *store.DB. Pages are
// rendered from templates/web with one shared layout and stylesheet.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// CoreStore is what the core pages (index, health) read.
type CoreStore interface {
	Ping(ctx context.Context) error
	Sections(ctx context.Context) ([]news.Section, error)
	LatestArticles(ctx context.Context, section string, limit int, now time.Time) ([]news.Article, error)
}

// Store is everything the web server needs from the database. Each
// feature declares its own interface in its own file and embeds it here.
type Store interface {
	CoreStore
}

// Options configures a Server. Store is required; the rest have defaults.
type Options struct {
	Store    Store
	Logger   *slog.Logger   // nil discards
	BaseURL  string         // public URL of the site, e.g. "https://news.example.com"; absolute links use it
	Location *time.Location // the newsroom's time zone for displayed times; nil means UTC
	Now      func() time.Time
	SiteName string // shown in page titles; default "Pressroom"
	// IndexHeadlines is how many latest headlines the index shows per
	// section; default 5.
	IndexHeadlines int
	// Subscriptions enables the sign-up, confirmation, preference and
	// unsubscribe pages (subscribe.go); nil leaves them answering 404.
	Subscriptions *SubscribeOptions
	// Digest enables the press review archive under /digest/ (digest.go);
	// nil leaves it answering 404.
	Digest *DigestOptions
	// Feeds enables the RSS, Atom and JSON feeds and their autodiscovery
	// links (feeds.go); nil leaves them answering 404.
	Feeds *FeedOptions
	// API enables the admin API (/api/...); nil leaves it off.
	API *APIOptions
	// Metrics collects what /metrics serves; nil makes a fresh one.
	Metrics *Metrics
	// SchemaVersion is the schema version /readyz requires of the store
	// (store.LatestSchemaVersion()); 0 skips the check.
	SchemaVersion int
}

// Server serves Pressroom's HTTP endpoints. It is an http.Handler.
type Server struct {
	opts    Options
	store   Store
	logger  *slog.Logger
	now     func() time.Time
	pages   pages
	handler http.Handler
	subs    *subscriptions // nil when subscriptions are off
	digest  *DigestOptions // nil when the digest archive is off
	feeds   *feedService   // nil when feeds are off

	ids *requestIDs

	api            *api // nil: admin API off
	metrics        *Metrics
	metricsHandler http.Handler
}

// New checks opts, parses every page template and builds the routes.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("web: new: Options.Store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SiteName == "" {
		opts.SiteName = "Pressroom"
	}
	if opts.IndexHeadlines <= 0 {
		opts.IndexHeadlines = 5
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.BaseURL != "" {
		if ferr := news.CheckAbsoluteURL("base_url", opts.BaseURL); ferr != nil {
			return nil, fmt.Errorf("web: new: %w", ferr)
		}
	}
	s := &Server{opts: opts, store: opts.Store, logger: opts.Logger, now: opts.Now, ids: newRequestIDs()}
	p, err := parsePages(opts.Location)
	if err != nil {
		return nil, err
	}
	s.pages = p
	s.metrics = opts.Metrics
	if s.metrics == nil {
		ms, _ := opts.Store.(MetricsStore)
		s.metrics = NewMetrics(ms, s.logger)
	}
	s.metricsHandler = s.metrics.handler(s.logger)
	if err := s.initSubscriptions(); err != nil {
		return nil, err
	}
	if err := s.initDigest(); err != nil {
		return nil, err
	}
	if err := s.initFeeds(); err != nil {
		return nil, err
	}
	if err := s.initAPI(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = s.logRequests(s.recoverPanics(mux))
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// healthz answers 200 "ok" when the database answers a ping, else 503.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.store.Ping(ctx); err != nil {
		s.logger.Error("Health check failed", "request_id", RequestID(r.Context()), "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "database unavailable")
		return
	}
	fmt.Fprintln(w, "ok")
}
