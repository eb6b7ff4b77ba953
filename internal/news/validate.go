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

// ReservedSlug reports whether s names one of the feeds that span
// sections (/feeds/all.rss, top, most-read), which a section's feed
// would collide with.
func ReservedSlug(s string) bool {
	switch s {
	case "all", "top", "most-read":
		return true
	}
	return false
}

// ValidateSection checks a section before it is stored.
func ValidateSection(s Section) *FieldError {
	if !ValidSlug(s.Slug) {
		return &FieldError{Field: "slug", Msg: "must be 1-64 lower-case letters, digits or hyphens, starting with a letter or digit"}
	}
	if ReservedSlug(s.Slug) {
		return &FieldError{Field: "slug", Msg: "\"" + s.Slug + "\" is reserved for the feed across sections (all, top and most-read are)"}
	}
	if strings.TrimSpace(s.Title) == "" {
		return &FieldError{Field: "title", Msg: "required"}
	}
	for _, f := range []struct{ name, text string }{{"title", s.Title}, {"description", s.Description}} {
		if strings.IndexFunc(f.text, isControl) >= 0 {
			return &FieldError{Field: f.name, Msg: "must not contain control characters or line breaks"}
		}
	}
	return nil
}

// isControl reports C0 and C1 control characters and DEL.
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }
