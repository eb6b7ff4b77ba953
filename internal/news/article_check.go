package news

import (
	"fmt"
	"strings"
	"unicode"
)

// MaxIDLen is the longest article id accepted, in bytes.
const MaxIDLen = 256

// ValidateArticle checks an article before it is stored and returns the
// first problem as a FieldError named after the wire field ("published_at",
// "image.url", "related[2].url"). It does not know which sections exist;
// callers check a.Section against their list.
func ValidateArticle(a Article) *FieldError {
	switch {
	case strings.TrimSpace(a.ID) == "":
		return &FieldError{Field: "id", Msg: "required"}
	case len(a.ID) > MaxIDLen:
		return &FieldError{Field: "id", Msg: fmt.Sprintf("longer than %d bytes", MaxIDLen)}
	case strings.IndexFunc(a.ID, unicode.IsControl) >= 0:
		return &FieldError{Field: "id", Msg: "contains a control character"}
	}
	if strings.TrimSpace(a.URL) == "" {
		return &FieldError{Field: "url", Msg: "required"}
	}
	if fe := CheckAbsoluteURL("url", a.URL); fe != nil {
		return fe
	}
	if a.Section == "" {
		return &FieldError{Field: "section", Msg: "required"}
	}
	if !ValidSlug(a.Section) {
		return &FieldError{Field: "section", Msg: fmt.Sprintf("%q is not a section slug", a.Section)}
	}
	if strings.TrimSpace(a.Title) == "" {
		return &FieldError{Field: "title", Msg: "required"}
	}
	if strings.TrimSpace(a.BodyHTML) == "" {
		return &FieldError{Field: "body_html", Msg: "required"}
	}
	if a.PublishedAt.IsZero() {
		return &FieldError{Field: "published_at", Msg: "required"}
	}
	if !a.UpdatedAt.IsZero() && a.UpdatedAt.Before(a.PublishedAt) {
		return &FieldError{Field: "updated_at", Msg: "before published_at"}
	}
	for i, s := range a.Authors {
		if strings.TrimSpace(s) == "" {
			return &FieldError{Field: fmt.Sprintf("authors[%d]", i), Msg: "empty"}
		}
	}
	for i, s := range a.Tags {
		if strings.TrimSpace(s) == "" {
			return &FieldError{Field: fmt.Sprintf("tags[%d]", i), Msg: "empty"}
		}
	}
	if im := a.Image; im != nil {
		if strings.TrimSpace(im.URL) == "" {
			return &FieldError{Field: "image.url", Msg: "required"}
		}
		if fe := CheckAbsoluteURL("image.url", im.URL); fe != nil {
			return fe
		}
		switch {
		case im.Width < 0:
			return &FieldError{Field: "image.width", Msg: "negative"}
		case im.Height < 0:
			return &FieldError{Field: "image.height", Msg: "negative"}
		case im.Length < 0:
			return &FieldError{Field: "image.length", Msg: "negative"}
		}
	}
	for i, l := range a.Related {
		if strings.TrimSpace(l.Title) == "" {
			return &FieldError{Field: fmt.Sprintf("related[%d].title", i), Msg: "required"}
		}
		if strings.TrimSpace(l.URL) == "" {
			return &FieldError{Field: fmt.Sprintf("related[%d].url", i), Msg: "required"}
		}
		if fe := CheckAbsoluteURL(fmt.Sprintf("related[%d].url", i), l.URL); fe != nil {
			return fe
		}
	}
	return nil
}
