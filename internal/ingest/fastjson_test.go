package ingest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFastArticleMatchesEncodingJSON holds fastArticle to its promise: when
// it accepts a line, encoding/json (as decodeLine uses it) accepts it too
// and decodes the same values; and it does accept the common shapes.
func TestFastArticleMatchesEncodingJSON(t *testing.T) {
	mustAccept := []string{
		good,
		line("1", nil),
		line("2", map[string]string{"body_html": `"<p class=\"x\">a\\b\/c\n\t\r\b\f \u00e9\u0416\u2028 \u003cscript\u003e</p>"`}),
		line("3", map[string]string{"title": `"Лавров: «переговоры» продолжатся — 😀"`}),
		" \t{ \"id\" : \"4\" , \"url\":\"https://t.com/4\",\"section\":\"politics\",\"title\":\"T\",\"body_html\":\"b\",\"published_at\":\"2017-01-29T02:41:00Z\" }\r",
		line("5", map[string]string{"authors": `[]`, "tags": `[ "a" , "b" ]`, "related": `[]`, "image": `{}`}),
		line("6", map[string]string{"image": `{"url":"https://t.com/i","width":0,"height":-5,"length":123456789012345,"type":"image/png","caption":"c","credit":"d"}`}),
		line("7", map[string]string{"top_story": `false`, "lead": `""`, "dateline": `"X"`, "updated_at": `"2018-01-01T00:00:00Z"`}),
		line("8", map[string]string{"title": `"nul\u0000inside"`}),
	}
	mayDecline := []string{
		line("x", map[string]string{"Title": `"case differs"`}),
		`{"id":"1","id":"2"}`,
		line("x", map[string]string{"lead": `null`}),
		line("x", map[string]string{"image": `null`}),
		line("x", map[string]string{"title": `"\ud83d\ude00 pair"`}),
		line("x", map[string]string{"title": `"\ud83d lone"`}),
		line("x", map[string]string{"title": "\"bad \xff utf8\""}),
		line("x", map[string]string{"title": "\"raw \x01 control\""}),
		line("x", map[string]string{"image": `{"url":"u","width":1.0}`}),
		line("x", map[string]string{"image": `{"url":"u","width":1e3}`}),
		line("x", map[string]string{"image": `{"url":"u","width":01}`}),
		line("x", map[string]string{"image": `{"url":"u","width":99999999999999999999}`}),
		line("x", map[string]string{"image": `{"url":"u","alt":"a"}`}),
		line("x", map[string]string{"image": `{"url":"u","url":"v"}`}),
		line("x", map[string]string{"related": `[{"title":"a","url":"b","x":1}]`}),
		line("x", map[string]string{"related": `[{"title":"a","title":"b"}]`}),
		line("x", map[string]string{"related": `[1]`}),
		line("x", map[string]string{"tags": `["a",]`}),
		line("x", map[string]string{"tags": `["a" "b"]`}),
		line("x", map[string]string{"top_story": `True`}),
		line("x", map[string]string{"top_story": `"true"`}),
		line("x", map[string]string{"authors": `"one"`}),
		line("x", nil) + ` {}`,
		line("x", nil) + `,`,
		`{"id":"1",}`,
		`{"id":"1" "url":"u"}`,
		`{"id":"1"`,
		`{"id":"\x"}`,
		`{"id":"\u12"}`,
		`[]`,
		`"string"`,
		``,
		`{}`,
		`{"unknown":1}`,
	}
	check := func(t *testing.T, in string) bool {
		var fast, ref wireArticle
		ok := fastArticle([]byte(in), &fast)
		err := decodeLine([]byte(in), &ref)
		if ok {
			if err != nil {
				t.Errorf("fastArticle accepted %q, encoding/json rejects it: %v", in, err)
			} else if diff := cmp.Diff(ref, fast); diff != "" {
				t.Errorf("fastArticle(%q) differs from encoding/json (-json +fast):\n%s", in, diff)
			}
		}
		return ok
	}
	for _, in := range mustAccept {
		if !check(t, in) {
			t.Errorf("fastArticle declined a common line: %q", in)
		}
	}
	for _, in := range mayDecline {
		check(t, in)
	}
	// Every prefix of a good line is a truncated line: never accepted
	// differently from encoding/json.
	for i := range len(good) {
		check(t, good[:i])
	}
	// Every single-byte corruption of a line with escapes.
	base := mustAccept[2]
	for i := range len(base) {
		for _, c := range []byte{'"', '\\', '{', '}', '[', ']', ',', ':', ' ', 'u', '0', 'x'} {
			b := []byte(base)
			b[i] = c
			check(t, string(b))
		}
	}
	if t.Failed() {
		t.Log(strings.Repeat("-", 20))
	}
}
