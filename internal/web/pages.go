package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/pressroom/pressroom/templates"
)

// pages holds the parsed page templates and the stylesheet.
type pages struct {
	tmpl     map[string]*template.Template // by file name, e.g. "index.html"
	css      []byte
	cssETag  string
	styleURL string // /static/style.css?v=<hash>, so browsers may cache it for long
}

// Page is the view model every page template gets: the layout reads the
// common fields, the page's own template reads Data.
type Page struct {
	Site       string
	Title      string // the page's own title; "" on the home page
	BaseURL    string
	StyleURL   string
	Alternates []Alternate // <link rel="alternate"> tags in the head (feed autodiscovery)
	Data       any
}

// Alternate is one <link rel="alternate"> of a page.
type Alternate struct {
	Type  string // MIME type, e.g. "application/rss+xml"
	Title string
	Href  string
}

// TypeAttr is the link's type attribute, written out as is. html/template
// would escape the "+" of "application/rss+xml" as "&#43;": valid HTML,
// but feed finders that match the raw markup miss it. Type comes from
// the feed formats' own constants; anything but a plain MIME type is left
// to the escaper.
func (a Alternate) TypeAttr() template.HTMLAttr {
	for _, c := range a.Type {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("/+.-", c)) {
			return template.HTMLAttr(`type="` + template.HTMLEscapeString(a.Type) + `"`)
		}
	}
	return template.HTMLAttr(`type="` + a.Type + `"`)
}

// parsePages parses layout.html with each other page in templates/web,
// once, at start-up. A template that fails to parse stops New with the
// file and line in the error.
func parsePages(loc *time.Location) (pages, error) {
	fsys := templates.Web()
	css, err := fs.ReadFile(fsys, "style.css")
	if err != nil {
		return pages{}, fmt.Errorf("web: read stylesheet: %w", err)
	}
	sum := sha256.Sum256(css)
	p := pages{
		tmpl:     make(map[string]*template.Template),
		css:      css,
		cssETag:  `"` + hex.EncodeToString(sum[:8]) + `"`,
		styleURL: "/static/style.css?v=" + hex.EncodeToString(sum[:4]),
	}
	funcs := template.FuncMap{
		// localTime shows an instant in the newsroom's time zone.
		"localTime": func(t time.Time) string { return t.In(loc).Format("2 Jan 2006, 15:04") },
		// isoTime is for <time datetime="...">.
		"isoTime": func(t time.Time) string { return t.Format(time.RFC3339) },
	}
	names, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return pages{}, fmt.Errorf("web: list templates: %w", err)
	}
	for _, name := range names {
		if name == "layout.html" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, "layout.html", name)
		if err != nil {
			return pages{}, fmt.Errorf("web: parse template: %w", err)
		}
		if t.Lookup("content") == nil {
			return pages{}, fmt.Errorf("web: parse template: %s: defines no \"content\" block", name)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// page returns the view model for a page titled title (empty for the home
// page) showing data. Features that add something to every page's head
// (feed autodiscovery links) add it here.
func (s *Server) page(r *http.Request, title string, data any) Page {
	return Page{
		Site:       s.opts.SiteName,
		Title:      title,
		BaseURL:    s.opts.BaseURL,
		StyleURL:   s.pages.styleURL,
		Alternates: s.feedAlternates(r),
		Data:       data,
	}
}

// render executes the page template name into a buffer first, so that a
// template error becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	t, ok := s.pages.tmpl[name]
	if !ok {
		s.serverError(w, r, fmt.Errorf("web: render: no page template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.serverError(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	setPageSecurityHeaders(h)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// setPageSecurityHeaders applies the policy for HTML pages: no scripts at
// all, styles and forms only from this site, no framing.
func setPageSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

// errorPage shows a plain page explaining what went wrong.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error.html", s.page(r, http.StatusText(status), errorData{Status: status, Message: msg}))
}

type errorData struct {
	Status  int
	Message string
}

// serverError logs err and answers 500 without details.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.Error("Request failed", "request_id", RequestID(r.Context()), "path", r.URL.Path, "error", err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintln(w, "Internal server error. The problem has been logged; please try again later.")
}

// stylesheet serves the one embedded stylesheet.
func (s *Server) stylesheet(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("ETag", s.pages.cssETag)
	if r.URL.Query().Get("v") != "" {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=3600")
	}
	http.ServeContent(w, r, "style.css", time.Time{}, bytes.NewReader(s.pages.css))
}
