package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// wireArticle is one line of an articles file, as the CMS writes it.
type wireArticle struct {
	ID          string     `json:"id"`
	URL         string     `json:"url"`
	Section     string     `json:"section"`
	Title       string     `json:"title"`
	Lead        string     `json:"lead,omitempty"`
	BodyHTML    string     `json:"body_html"`
	Dateline    string     `json:"dateline,omitempty"`
	Authors     []string   `json:"authors,omitempty"`
	PublishedAt string     `json:"published_at"`
	UpdatedAt   string     `json:"updated_at,omitempty"`
	Image       *wireImage `json:"image,omitempty"`
	Related     []wireLink `json:"related,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	TopStory    bool       `json:"top_story,omitempty"`
}

type wireImage struct {
	URL     string `json:"url"`
	Caption string `json:"caption,omitempty"`
	Credit  string `json:"credit,omitempty"`
	Width   int    `json:"width,omitempty"`
	Height  int    `json:"height,omitempty"`
	Type    string `json:"type,omitempty"`
	Length  int64  `json:"length,omitempty"`
}

type wireLink struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Articles reads JSON Lines articles from r (named name in errors),
// checks each line (JSON syntax and types, required fields, URLs, RFC 3339
// times with offset, section among sections, id not repeated in the file)
// and calls put with each valid article until the first bad line. After a
// bad line it only validates. An error from put is reported at its line.
// Blank lines are skipped. It returns the number of non-blank lines read
// and, if any line was bad, an Errors listing them.
func Articles(r io.Reader, name string, sections []news.Section, put func(news.Article) error) (int, error) {
	known := make(map[string]bool, len(sections))
	slugs := make([]string, len(sections))
	for i, s := range sections {
		known[s.Slug] = true
		slugs[i] = s.Slug
	}
	knownText := "no sections exist yet"
	if len(slugs) > 0 {
		knownText = "known: " + strings.Join(slugs, ", ")
	}
	ids := newKeySet()
	c := &collector{file: name}
	lines := parseLines(r, parseArticle, func(p parsed[news.Article]) bool {
		a, err := p.v, p.err
		if err == nil && !known[a.Section] {
			err = &news.FieldError{Field: "section", Msg: fmt.Sprintf("unknown section %q (%s)", a.Section, knownText)}
		}
		if a.ID != "" {
			if prev := ids.add(a.ID, p.line); prev != 0 && err == nil {
				err = &news.FieldError{Field: "id", Msg: fmt.Sprintf("duplicate id %q (first on line %d)", a.ID, prev)}
			}
		}
		if err != nil {
			c.add(p.line, err)
			return true
		}
		if !c.failed() {
			if err := put(a); err != nil {
				c.add(p.line, putError(err))
				// A canceled import need not read the rest of the input.
				return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
			}
		}
		return true
	})
	return lines, c.err()
}

// parseArticle decodes and validates one line. The returned article has
// its ID set whenever the line had one, even when it is invalid, so that
// duplicates are still noticed.
func parseArticle(line []byte) (news.Article, error) {
	var w wireArticle
	if !fastArticle(line, &w) {
		w = wireArticle{}
		if err := decodeLine(line, &w); err != nil {
			return news.Article{}, err
		}
	}
	a := news.Article{
		ID:       w.ID,
		URL:      w.URL,
		Section:  w.Section,
		Title:    w.Title,
		Lead:     w.Lead,
		BodyHTML: w.BodyHTML,
		Dateline: w.Dateline,
		Authors:  w.Authors,
		Tags:     w.Tags,
		TopStory: w.TopStory,
	}
	if w.Image != nil {
		a.Image = &news.Image{URL: w.Image.URL, Caption: w.Image.Caption, Credit: w.Image.Credit,
			Type: w.Image.Type, Width: w.Image.Width, Height: w.Image.Height, Length: w.Image.Length}
	}
	if len(w.Related) > 0 {
		a.Related = make([]news.Link, len(w.Related))
		for i, l := range w.Related {
			a.Related[i] = news.Link{Title: l.Title, URL: l.URL}
		}
	}
	// Required fields in wire order, so the first missing one is named.
	for _, f := range []struct{ name, v string }{
		{"id", w.ID}, {"url", w.URL}, {"section", w.Section}, {"title", w.Title},
		{"body_html", w.BodyHTML}, {"published_at", w.PublishedAt},
	} {
		if strings.TrimSpace(f.v) == "" {
			return a, &news.FieldError{Field: f.name, Msg: "required"}
		}
	}
	var err error
	if a.PublishedAt, err = parseTime("published_at", w.PublishedAt); err != nil {
		return a, err
	}
	if w.UpdatedAt != "" {
		if a.UpdatedAt, err = parseTime("updated_at", w.UpdatedAt); err != nil {
			return a, err
		}
	}
	if fe := news.ValidateArticle(a); fe != nil {
		return a, fe
	}
	return a, nil
}

// ArticleJSON encodes a in the wire format Articles reads, as one line
// without the newline. Times are written to the second with their offset;
// a zero UpdatedAt is left out.
func ArticleJSON(a news.Article) ([]byte, error) {
	w := wireArticle{
		ID:          a.ID,
		URL:         a.URL,
		Section:     a.Section,
		Title:       a.Title,
		Lead:        a.Lead,
		BodyHTML:    a.BodyHTML,
		Dateline:    a.Dateline,
		Authors:     a.Authors,
		PublishedAt: a.PublishedAt.Format(time.RFC3339),
		Tags:        a.Tags,
		TopStory:    a.TopStory,
	}
	if !a.UpdatedAt.IsZero() {
		w.UpdatedAt = a.UpdatedAt.Format(time.RFC3339)
	}
	if im := a.Image; im != nil {
		w.Image = &wireImage{URL: im.URL, Caption: im.Caption, Credit: im.Credit, Width: im.Width,
			Height: im.Height, Type: im.Type, Length: im.Length}
	}
	for _, l := range a.Related {
		w.Related = append(w.Related, wireLink(l))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // body_html stays readable
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("ingest: encode article %q: %w", a.ID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
