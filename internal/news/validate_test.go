package news

import (
	"strings"
	"testing"
)

func TestValidateSection(t *testing.T) {
	ok := Section{Slug: "politics", Title: "Russian Politics & Diplomacy", Description: "Parliament, government — и выборы."}
	if fe := ValidateSection(ok); fe != nil {
		t.Fatalf("ValidateSection(%+v) = %v", ok, fe)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Section)
		field string
		msg   string
	}{
		{"bad slug", func(s *Section) { s.Slug = "Politics" }, "slug", "lower-case"},
		{"all", func(s *Section) { s.Slug = "all" }, "slug", `"all" is reserved`},
		{"top", func(s *Section) { s.Slug = "top" }, "slug", `"top" is reserved`},
		{"most-read", func(s *Section) { s.Slug = "most-read" }, "slug", `"most-read" is reserved`},
		{"no title", func(s *Section) { s.Title = " " }, "title", "required"},
		{"title with newline", func(s *Section) { s.Title = "Politics\nand more" }, "title", "control characters"},
		{"title with C0", func(s *Section) { s.Title = "Poli\x01tics" }, "title", "control characters"},
		{"description with C1", func(s *Section) { s.Description = "a\u0085b" }, "description", "control characters"},
	} {
		s := ok
		tc.edit(&s)
		fe := ValidateSection(s)
		if fe == nil || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
			t.Errorf("%s: ValidateSection = %v, want field %q with %q", tc.name, fe, tc.field, tc.msg)
		}
	}
	// Slugs that merely start like a reserved name are fine.
	for _, slug := range []string{"allied", "top-stories", "most-read-2", "feeds"} {
		if fe := ValidateSection(Section{Slug: slug, Title: "T"}); fe != nil {
			t.Errorf("slug %q refused: %v", slug, fe)
		}
	}
}
