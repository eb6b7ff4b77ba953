package digest

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWrap(t *testing.T) {
	url := "https://press.example.com/politics/2017/01/29/a-very-long-slug-that-goes-on-and-on-past-the-margin?utm_source=x"
	for _, tc := range []struct {
		name  string
		in    string
		width int
		hang  int
		want  string
	}{
		{"short line untouched", "Hello, world", 72, 0, "Hello, world"},
		{"breaks at spaces", "aaa bbb ccc ddd", 7, 0, "aaa bbb\nccc ddd"},
		{"hanging indent", "1. aaa bbb ccc", 7, 3, "1. aaa\n   bbb\n   ccc"},
		{"URL never broken", "see " + url + " now", 20, 0, "see\n" + url + "\nnow"},
		{"URL alone stays", url, 20, 0, url},
		{"Cyrillic counted in characters", "Большой театр открывает сезон", 13, 0, "Большой театр\nоткрывает\nсезон"},
		{"each line on its own", "aaa bbb\nccc ddd eee", 7, 0, "aaa bbb\nccc ddd\neee"},
		{"keeps leading indent", "   aaa bbb ccc", 9, 3, "   aaa\n   bbb\n   ccc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wrap(tc.in, tc.width, tc.hang); got != tc.want {
				t.Errorf("wrap(%q, %d, %d) = %q, want %q", tc.in, tc.width, tc.hang, got, tc.want)
			}
		})
	}
}

// checkTextWidth fails for any line over TextWidth characters unless it
// is one unbreakable word (a URL).
func checkTextWidth(t *testing.T, name, text string) {
	t.Helper()
	for i, line := range strings.Split(text, "\n") {
		if utf8.RuneCountInString(line) > TextWidth && strings.Contains(strings.TrimSpace(line), " ") {
			t.Errorf("%s line %d is %d characters, over %d: %q", name, i+1, utf8.RuneCountInString(line), TextWidth, line)
		}
	}
}
