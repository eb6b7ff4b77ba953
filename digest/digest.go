// Package digest is the daily press review: it plans an edition (freezing
// its articles and recipients) and composes each reader's email from the
// templates in templates/email.
//
// Composing is pure: no I/O and no clock. A Renderer parses the templates
// once at start-up; Prepare renders an edition's section blocks once, and
// Compose then only assembles each reader's blocks with their personal
// links, so composing for many readers costs little per reader.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/templates"
)

// Template files in templates/email that the digest uses.
const (
	fileHTML       = "digest.html"
	fileHTMLBlocks = "digest_blocks.html"
	fileText       = "digest.txt"
	fileTextBlocks = "digest_blocks.txt"
	fileSubject    = "digest.subject.txt"
	filePreheader  = "digest.preheader.txt"
)

// ErrNoArticles is returned by Compose when none of the reader's sections
// has an article in the edition: the reader gets no email.
var ErrNoArticles = errors.New("no articles in the reader's sections")

// UTM is optional link tagging for article links (Google Analytics
// campaign parameters). Tagging is off while Source is empty. Personal
// links (preferences, unsubscribe) are never tagged.
type UTM struct {
	Source   string // utm_source, e.g. "newsletter"; "" turns tagging off
	Medium   string // utm_medium; default "email"
	Campaign string // utm_campaign; default "press-review-YYYY-MM-DD"
}

// Options configure a Renderer.
type Options struct {
	// BaseURL is the public site's absolute URL, e.g.
	// "https://press.example.com"; the web archive is BaseURL/digest/DATE.
	BaseURL string
	// Newsroom is the name shown in the header and footer.
	// Default "Pressroom".
	Newsroom string
	// PostalAddress is the newsroom's postal address shown in every
	// email's footer (CAN-SPAM requires one). Required.
	PostalAddress string
	// Location is the newsroom's time zone: article times are shown in it.
	// Default UTC.
	Location *time.Location
	// Lang is the emails' language tag. Default "en".
	Lang string
	// UTM tags article links; off by default.
	UTM UTM
	// Templates holds the email templates; default templates.Email().
	// Tests put broken templates here.
	Templates fs.FS
	// TemplateDir names the templates' directory in error messages.
	// Default "templates/email".
	TemplateDir string
	Logger      *slog.Logger
}

// Message is one composed email: its subject and both bodies.
type Message struct {
	Subject string
	HTML    string
	Text    string
}

// Renderer holds the parsed email templates. It is safe for concurrent
// use.
type Renderer struct {
	opts    Options
	base    *url.URL
	html    *htmltemplate.Template
	text    *texttemplate.Template
	subject *texttemplate.Template
	// htmlFiles maps each HTML template's name to the file defining it.
	htmlFiles map[string]string
	version   string
}

// Version identifies what the Renderer produces: a hash of its templates
// and of the options that show in the output. Caches of rendered editions
// (the web archive's ETags) include it.
func (r *Renderer) Version() string { return r.version }

// NewRenderer parses the email templates and checks them by composing a
// sample edition, so a broken template fails at start-up with its file and
// line rather than at the first send.
func NewRenderer(opts Options) (*Renderer, error) {
	if opts.Newsroom == "" {
		opts.Newsroom = "Pressroom"
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Lang == "" {
		opts.Lang = "en"
	}
	if opts.UTM.Source != "" && opts.UTM.Medium == "" {
		opts.UTM.Medium = "email"
	}
	if opts.Templates == nil {
		opts.Templates = templates.Email()
		opts.TemplateDir = "templates/email"
	}
	if opts.TemplateDir == "" {
		opts.TemplateDir = "templates/email"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if fe := news.CheckAbsoluteURL("base_url", opts.BaseURL); fe != nil {
		return nil, fmt.Errorf("digest: options: %w", fe)
	}
	if strings.TrimSpace(opts.PostalAddress) == "" {
		return nil, fmt.Errorf("digest: options: %w", &news.FieldError{Field: "postal_address", Msg: "required (CAN-SPAM: every commercial email shows the sender's postal address)"})
	}
	base, _ := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	r := &Renderer{opts: opts, base: base}

	var err error
	r.html, err = htmltemplate.New(fileHTML).Funcs(htmlFuncs()).ParseFS(opts.Templates, fileHTML, fileHTMLBlocks)
	if err != nil {
		return nil, fmt.Errorf("digest: parse %w", r.templateError(err))
	}
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q %q %+v\n", opts.BaseURL, opts.Newsroom, opts.PostalAddress, opts.Location, opts.Lang, opts.UTM)
	for _, name := range []string{fileHTML, fileHTMLBlocks, fileText, fileTextBlocks, fileSubject, filePreheader} {
		b, err := fs.ReadFile(opts.Templates, name)
		if err != nil {
			return nil, fmt.Errorf("digest: read template %s/%s: %w", opts.TemplateDir, name, err)
		}
		h.Write(b)
	}
	r.version = hex.EncodeToString(h.Sum(nil)[:8])
	r.htmlFiles = make(map[string]string)
	for _, t := range r.html.Templates() {
		if t.Tree != nil {
			r.htmlFiles[t.Name()] = t.Tree.ParseName
		}
	}
	r.text, err = texttemplate.New(fileText).Funcs(textFuncs()).ParseFS(opts.Templates, fileText, fileTextBlocks)
	if err != nil {
		return nil, fmt.Errorf("digest: parse %w", r.templateError(err))
	}
	r.subject, err = texttemplate.New(fileSubject).Funcs(textFuncs()).ParseFS(opts.Templates, fileSubject, filePreheader)
	if err != nil {
		return nil, fmt.Errorf("digest: parse %w", r.templateError(err))
	}
	for _, name := range []string{"section", "mostread", "footer"} {
		if r.html.Lookup(name) == nil {
			return nil, fmt.Errorf("digest: %s/%s: template %q not defined", opts.TemplateDir, fileHTMLBlocks, name)
		}
		if r.text.Lookup(name) == nil {
			return nil, fmt.Errorf("digest: %s/%s: template %q not defined", opts.TemplateDir, fileTextBlocks, name)
		}
	}
	// Execute every template once: errors html/template finds only when
	// escaping, and references to missing fields, show up now.
	if err := r.selfCheck(); err != nil {
		return nil, err
	}
	return r, nil
}

// templateError names the template directory around a parse or execution
// error. Parse and execution errors already hold the file and line
// ("template: digest.html:12: ..."); escaping errors html/template finds
// at the first execution name only the template, so the file that defines
// it is added.
func (r *Renderer) templateError(err error) error {
	var he *htmltemplate.Error
	if errors.As(err, &he) && he.Name != "" {
		if file := r.htmlFiles[he.Name]; file != "" && file != he.Name {
			return fmt.Errorf("template %q in %s/%s: %w", he.Name, r.opts.TemplateDir, file, err)
		}
	}
	return fmt.Errorf("templates in %s: %w", r.opts.TemplateDir, err)
}

// selfCheck composes a sample edition for a personal reader and for the
// archive.
func (r *Renderer) selfCheck() error {
	at := time.Date(2017, 1, 29, 6, 0, 0, 0, time.UTC)
	a := news.Article{ID: "sample", URL: "https://example.com/a", Section: "s", Title: "Sample", Lead: "Lead.",
		Dateline: "MOSCOW", PublishedAt: at, TopStory: true,
		Image: &news.Image{URL: "https://example.com/a.jpg", Caption: "<b>Caption</b>", Width: 600, Height: 400}}
	ed := &news.Edition{Date: "2017-01-29", From: at.Add(-24 * time.Hour), Cutoff: at.Add(time.Hour),
		Sections: []news.EditionSection{{Section: news.Section{Slug: "s", Title: "Sample"}, Articles: []news.Article{a}}},
		MostRead: []news.Article{a}}
	p, err := r.Prepare(ed)
	if err != nil {
		return err
	}
	_, err = p.Compose(&news.Delivery{Email: "reader@example.com", Name: "Reader",
		PreferencesURL: "https://example.com/p", UnsubscribeURL: "https://example.com/u"}, at)
	if err != nil {
		return err
	}
	_, err = p.Archive()
	return err
}

// Compose renders one reader's email for an edition. It is a pure
// function of its arguments: now is accepted for templates that show the
// send time and is otherwise unused. For many readers of one edition,
// Prepare once and call Prepared.Compose for each.
func (r *Renderer) Compose(ed *news.Edition, d *news.Delivery, now time.Time) (Message, error) {
	p, err := r.Prepare(ed)
	if err != nil {
		return Message{}, err
	}
	return p.Compose(d, now)
}

// ArchiveURL is the web archive address of an edition.
func (r *Renderer) ArchiveURL(date string) string {
	return r.base.String() + "/digest/" + date
}

// tagURL adds the UTM parameters to an article link when tagging is on,
// keeping parameters the link already has.
func (r *Renderer) tagURL(raw, date string) string {
	utm := r.opts.UTM
	if utm.Source == "" {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	campaign := utm.Campaign
	if campaign == "" {
		campaign = "press-review-" + date
	}
	for _, kv := range [][2]string{{"utm_source", utm.Source}, {"utm_medium", utm.Medium}, {"utm_campaign", campaign}} {
		if !q.Has(kv[0]) {
			q.Set(kv[0], kv[1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
