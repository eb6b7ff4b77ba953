package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pressroom/pressroom/digest"
	"github.com/pressroom/pressroom/internal/news"
)

// The digest archive: GET /digest/ lists the planned editions and
// GET /digest/YYYY-MM-DD shows one edition, all sections, as the email's
// HTML (every digest email links to it as "View in your browser").
// Editions are frozen when planned, so an edition's page never changes:
// it carries a strong ETag and may be cached.

// DigestStore is what the archive reads. *store.DB implements it.
type DigestStore interface {
	EditionByDate(ctx context.Context, date string) (news.Edition, error) // wraps news.ErrNoEdition when absent
	Editions(ctx context.Context, limit int) ([]news.EditionSummary, error)
}

// DigestOptions configure the archive.
type DigestOptions struct {
	// Store is the edition store; nil means Options.Store, which must then
	// implement DigestStore.
	Store DigestStore
	// Renderer renders an edition's HTML (the email templates).
	Renderer *digest.Renderer
	// ListLimit is how many editions /digest/ lists, newest first;
	// default 366.
	ListLimit int
}

// archiveCSP lets the email's HTML use its inline styles (email HTML
// cannot use a stylesheet); it still allows no script, no form, no
// framing.
const archiveCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) initDigest() error {
	do := s.opts.Digest
	if do == nil {
		return nil
	}
	o := *do
	if o.Store == nil {
		st, ok := s.opts.Store.(DigestStore)
		if !ok {
			return errors.New("web: new: Options.Digest.Store is nil and Options.Store does not implement DigestStore")
		}
		o.Store = st
	}
	if o.Renderer == nil {
		return errors.New("web: new: Options.Digest.Renderer is required")
	}
	if o.ListLimit <= 0 {
		o.ListLimit = 366
	}
	s.digest = &o
	return nil
}

// digestList serves GET /digest/: the editions, newest first.
func (s *Server) digestList(w http.ResponseWriter, r *http.Request) {
	if s.digest == nil {
		s.errorPage(w, r, http.StatusNotFound, "There is no digest archive on this site.")
		return
	}
	eds, err := s.digest.Store.Editions(r.Context(), s.digest.ListLimit)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	s.render(w, r, http.StatusOK, "digest_list.html", s.page(r, "Press Review archive", digestListData{Editions: eds}))
}

type digestListData struct {
	Editions []news.EditionSummary
}

// digestEdition serves GET /digest/{date}: one edition, all sections.
func (s *Server) digestEdition(w http.ResponseWriter, r *http.Request) {
	if s.digest == nil {
		s.errorPage(w, r, http.StatusNotFound, "There is no digest archive on this site.")
		return
	}
	date := r.PathValue("date")
	if _, err := news.ParseEditionDate(date, s.opts.Location); err != nil {
		s.errorPage(w, r, http.StatusNotFound, fmt.Sprintf("%q is not an edition date: editions are named by their date, YYYY-MM-DD.", date))
		return
	}
	ed, err := s.digest.Store.EditionByDate(r.Context(), date)
	if errors.Is(err, news.ErrNoEdition) {
		s.errorPage(w, r, http.StatusNotFound, fmt.Sprintf("There is no press review of %s.", date))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// The content is frozen: the edition's id and planning time identify
	// it. The template version is folded in so a new design is refetched.
	sum := sha256.Sum256(fmt.Appendf(nil, "%d/%s/%d/%s", ed.ID, ed.Date, ed.PlannedAt.Unix(), s.digest.Renderer.Version()))
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=3600")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	p, err := s.digest.Renderer.Prepare(&ed)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page, err := p.Archive()
	if errors.Is(err, digest.ErrNoArticles) {
		h.Del("ETag")
		s.errorPage(w, r, http.StatusNotFound, fmt.Sprintf("The press review of %s had no articles.", date))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", archiveCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Last-Modified", ed.PlannedAt.UTC().Format(http.TimeFormat))
	_, _ = w.Write([]byte(page))
}

// etagMatches reports whether an If-None-Match value lists etag (or *).
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
