package news

import (
	"net/url"
	"regexp"
	"strings"
)

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ValidSlug reports whether s can name a section.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// CheckAbsoluteURL returns a FieldError for field unless raw is an
// absolute http or https URL with a host.
func CheckAbsoluteURL(field, raw string) *FieldError {
	u, err := url.Parse(raw)
	if err != nil {
		return &FieldError{Field: field, Msg: "not a valid URL"}
	}
	if !u.IsAbs() || u.Host == "" {
		return &FieldError{Field: field, Msg: "not an absolute URL"}
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return &FieldError{Field: field, Msg: "not an http or https URL"}
	}
	return nil
}

// ValidateSection checks a section before it is stored.
func ValidateSection(s Section) *FieldError {
	if !ValidSlug(s.Slug) {
		return &FieldError{Field: "slug", Msg: "must be 1-64 lower-case letters, digits or hyphens, starting with a letter or digit"}
	}
	if strings.TrimSpace(s.Title) == "" {
		return &FieldError{Field: "title", Msg: "required"}
	}
	return nil
}
