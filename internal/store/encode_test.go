package store

import (
	"encoding/json"
	"testing"

	"github.com/pressroom/pressroom/internal/news"
)

// TestEncodeMatchesEncodingJSON checks that the hand-written encoders
// write what encoding/json writes, for strings on both sides of the fast
// path's tests.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	strs := []string{
		"", "plain", "Иван Петров", "США", "tab\there", "new\nline", "\x00\x1f\x7f",
		`quote"`, `back\slash`, "<b>", "a > b", "Tom & Jerry", "line\u2028sep", "para\u2029sep",
		"bad \xff utf8", "cut \xd0", "emoji 🗞", "https://tass.example/politics/1?x=1",
	}
	for _, s := range strs {
		for _, ss := range [][]string{{s}, {"first", s}, {s, "Иван"}} {
			want, _ := json.Marshal(ss)
			if got := encodeStrings(ss); got != string(want) {
				t.Errorf("encodeStrings(%q) = %s, want %s", ss, got, want)
			}
		}
		for _, ls := range [][]news.Link{
			{{Title: s, URL: "https://e.com/"}},
			{{Title: "Earlier", URL: "https://e.com/1"}, {Title: "Другое", URL: s}},
		} {
			js := make([]jsonLink, len(ls))
			for i, l := range ls {
				js[i] = jsonLink(l)
			}
			want, _ := json.Marshal(js)
			if got := encodeLinks(ls); got != string(want) {
				t.Errorf("encodeLinks(%q) = %s, want %s", ls, got, want)
			}
		}
	}
	if got := encodeStrings(nil); got != "[]" {
		t.Errorf("encodeStrings(nil) = %s, want []", got)
	}
	if got := encodeLinks(nil); got != "[]" {
		t.Errorf("encodeLinks(nil) = %s, want []", got)
	}
}
