package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/news"
)

var sections = []news.Section{
	{Slug: "politics", Title: "Russian Politics & Diplomacy", Position: 1},
	{Slug: "world", Title: "World", Position: 2},
}

const good = `{"id":"927791","url":"https://tass.com/politics/927791","section":"politics","title":"Talks","lead":"Lead","body_html":"<p>Body</p>","dateline":"WASHINGTON","authors":["A. Author"],"published_at":"2017-01-29T02:41:00+03:00","updated_at":"2017-01-29T03:00:00Z","image":{"url":"https://tass.com/i.jpg","caption":"Cap","credit":"TASS","width":1200,"height":800,"type":"image/jpeg","length":5000},"related":[{"title":"Earlier","url":"https://tass.com/1"}],"tags":["usa","russia"],"top_story":true}`

// line returns a valid article line for id with the given JSON fields
// replaced (value "" removes the field).
func line(id string, set map[string]string) string {
	fields := []struct{ k, v string }{
		{"id", `"` + id + `"`},
		{"url", `"https://tass.com/politics/` + id + `"`},
		{"section", `"politics"`},
		{"title", `"Title"`},
		{"body_html", `"<p>b</p>"`},
		{"published_at", `"2017-01-29T02:41:00+03:00"`},
	}
	var parts []string
	done := map[string]bool{}
	for _, f := range fields {
		v := f.v
		if nv, ok := set[f.k]; ok {
			v = nv
			done[f.k] = true
		}
		if v != "" {
			parts = append(parts, fmt.Sprintf("%q:%s", f.k, v))
		}
	}
	for k, v := range set {
		if !done[k] && v != "" {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestArticlesGood(t *testing.T) {
	var got []news.Article
	in := good + "\n\n   \r\n" + line("2", nil) + "\r\n" + line("3", map[string]string{"section": `"world"`}) // no final newline
	n, err := Articles(strings.NewReader(in), "a.jsonl", sections, func(a news.Article) error {
		got = append(got, a)
		return nil
	})
	if err != nil {
		t.Fatalf("Articles: %v", err)
	}
	if n != 3 || len(got) != 3 {
		t.Fatalf("Articles = %d lines, %d articles, want 3, 3", n, len(got))
	}
	want := news.Article{
		ID: "927791", URL: "https://tass.com/politics/927791", Section: "politics", Title: "Talks", Lead: "Lead",
		BodyHTML: "<p>Body</p>", Dateline: "WASHINGTON", Authors: []string{"A. Author"},
		PublishedAt: time.Date(2017, 1, 29, 2, 41, 0, 0, time.FixedZone("", 3*3600)),
		UpdatedAt:   time.Date(2017, 1, 29, 3, 0, 0, 0, time.UTC),
		Image: &news.Image{URL: "https://tass.com/i.jpg", Caption: "Cap", Credit: "TASS", Type: "image/jpeg",
			Width: 1200, Height: 800, Length: 5000},
		Related:  []news.Link{{Title: "Earlier", URL: "https://tass.com/1"}},
		Tags:     []string{"usa", "russia"},
		TopStory: true,
	}
	timeEq := cmp.Comparer(func(a, b time.Time) bool {
		_, oa := a.Zone()
		_, ob := b.Zone()
		return a.Equal(b) && oa == ob
	})
	if diff := cmp.Diff(want, got[0], timeEq); diff != "" {
		t.Errorf("article 1 (-want +got):\n%s", diff)
	}
	if got[2].Section != "world" {
		t.Errorf("article 3 section = %q, want world", got[2].Section)
	}
}

func TestArticleJSONRoundTrip(t *testing.T) {
	var first news.Article
	if _, err := Articles(strings.NewReader(good), "a", sections, func(a news.Article) error { first = a; return nil }); err != nil {
		t.Fatal(err)
	}
	b, err := ArticleJSON(first)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `\u003c`) {
		t.Errorf("ArticleJSON escapes HTML: %s", b)
	}
	var again news.Article
	if _, err := Articles(strings.NewReader(string(b)), "b", sections, func(a news.Article) error { again = a; return nil }); err != nil {
		t.Fatalf("re-reading ArticleJSON output %s: %v", b, err)
	}
	if diff := cmp.Diff(first, again, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("round trip (-first +again):\n%s", diff)
	}
}

func TestArticlesBadLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want string // the error after "f.jsonl:2: "
	}{
		{"invalid JSON", `{"id": "x",`, `invalid JSON: unexpected end of line`},
		{"not JSON", `hello`, `invalid JSON at byte 1: invalid character 'h' looking for beginning of value`},
		{"array", `[1,2]`, `invalid JSON: want an object, got array`},
		{"two values", line("x", nil) + ` {}`, `invalid JSON: more than one value on the line`},
		{"missing id", line("x", map[string]string{"id": ""}), `field "id": required`},
		{"empty id", line("x", map[string]string{"id": `"  "`}), `field "id": required`},
		{"missing url", line("x", map[string]string{"url": ""}), `field "url": required`},
		{"missing section", line("x", map[string]string{"section": ""}), `field "section": required`},
		{"missing title", line("x", map[string]string{"title": ""}), `field "title": required`},
		{"missing body", line("x", map[string]string{"body_html": ""}), `field "body_html": required`},
		{"missing published", line("x", map[string]string{"published_at": ""}), `field "published_at": required`},
		{"bad time", line("x", map[string]string{"published_at": `"29.01.2017 02:41"`}), `field "published_at": not an RFC 3339 time`},
		{"time without offset", line("x", map[string]string{"published_at": `"2017-01-29T02:41:00"`}), `field "published_at": not an RFC 3339 time: no UTC offset (add Z or +03:00)`},
		{"date only", line("x", map[string]string{"published_at": `"2017-01-29"`}), `field "published_at": not an RFC 3339 time`},
		{"bad updated", line("x", map[string]string{"updated_at": `"yesterday"`}), `field "updated_at": not an RFC 3339 time`},
		{"updated before published", line("x", map[string]string{"updated_at": `"2017-01-28T00:00:00Z"`}), `field "updated_at": before published_at`},
		{"time as number", line("x", map[string]string{"published_at": `1485647000`}), `field "published_at": want a string, got number`},
		{"unknown section", line("x", map[string]string{"section": `"sports"`}), `field "section": unknown section "sports" (known: politics, world)`},
		{"bad slug section", line("x", map[string]string{"section": `"Politics"`}), `field "section": "Politics" is not a section slug`},
		{"relative url", line("x", map[string]string{"url": `"/politics/x"`}), `field "url": not an absolute URL`},
		{"ftp url", line("x", map[string]string{"url": `"ftp://tass.com/x"`}), `field "url": not an http or https URL`},
		{"relative image url", line("x", map[string]string{"image": `{"url":"i.jpg"}`}), `field "image.url": not an absolute URL`},
		{"image without url", line("x", map[string]string{"image": `{"caption":"c"}`}), `field "image.url": required`},
		{"negative width", line("x", map[string]string{"image": `{"url":"https://t.com/i.jpg","width":-1}`}), `field "image.width": negative`},
		{"width as string", line("x", map[string]string{"image": `{"url":"https://t.com/i.jpg","width":"big"}`}), `field "image.width": want a number, got string`},
		{"relative related url", line("x", map[string]string{"related": `[{"title":"a","url":"https://t.com/"},{"title":"b","url":"x.html"}]`}), `field "related[1].url": not an absolute URL`},
		{"javascript related url", line("x", map[string]string{"related": `[{"title":"a","url":"javascript:alert(1)"}]`}), `field "related[0].url": not an absolute URL`},
		{"related without title", line("x", map[string]string{"related": `[{"url":"https://t.com/"}]`}), `field "related[0].title": required`},
		{"empty tag", line("x", map[string]string{"tags": `["a",""]`}), `field "tags[1]": empty`},
		{"top_story string", line("x", map[string]string{"top_story": `"yes"`}), `field "top_story": want true or false, got string`},
		{"unknown field", line("x", map[string]string{"publised_at": `"2017-01-29T02:41:00Z"`}), `field "publised_at": unknown field`},
		{"unknown image field", line("x", map[string]string{"image": `{"url":"https://t.com/i.jpg","alt":"x"}`}), `field "alt": unknown field`},
		{"duplicate id", line("1", nil), `field "id": duplicate id "1" (first on line 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := line("1", nil) + "\n" + tc.line + "\n" + line("3", nil) + "\n"
			var put []string
			n, err := Articles(strings.NewReader(in), "f.jsonl", sections, func(a news.Article) error {
				put = append(put, a.ID)
				return nil
			})
			if n != 3 {
				t.Errorf("lines = %d, want 3", n)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Articles error = %v, want Errors", err)
			}
			if got, want := err.Error(), "f.jsonl:2: "+tc.want; got != want {
				t.Errorf("error:\n got %s\nwant %s", got, want)
			}
			// put ran for the line before the bad one, not after it.
			if diff := cmp.Diff([]string{"1"}, put); diff != "" {
				t.Errorf("put calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArticlesListsEveryBadLine(t *testing.T) {
	in := strings.Join([]string{
		line("1", nil),
		line("2", map[string]string{"url": `"x"`}),
		line("3", nil),
		`{`,
		line("3", nil),
		line("6", map[string]string{"section": `"nope"`}),
	}, "\n")
	_, err := Articles(strings.NewReader(in), "f", sections, func(news.Article) error { return nil })
	want := strings.Join([]string{
		`f:2: field "url": not an absolute URL`,
		`f:4: invalid JSON: unexpected end of line`,
		`f:5: field "id": duplicate id "3" (first on line 3)`,
		`f:6: field "section": unknown section "nope" (known: politics, world)`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestArticlesPutError(t *testing.T) {
	in := line("1", nil) + "\n" + line("2", nil) + "\n" + line("3", map[string]string{"url": `"/x"`})
	_, err := Articles(strings.NewReader(in), "f", sections, func(a news.Article) error {
		if a.ID == "2" {
			return fmt.Errorf("store: article %q: %w", a.ID, &news.FieldError{Field: "section", Msg: "unknown section"})
		}
		return nil
	})
	want := "f:2: field \"section\": unknown section\nf:3: field \"url\": not an absolute URL"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	boom := errors.New("disk on fire")
	_, err = Articles(strings.NewReader(line("1", nil)), "f", sections, func(news.Article) error { return boom })
	if !errors.Is(err, boom) || err.Error() != "f:1: disk on fire" {
		t.Errorf("put error = %v, want f:1: disk on fire wrapping it", err)
	}
}

func TestArticlesLongLine(t *testing.T) {
	long := `{"id":"x","body_html":"` + strings.Repeat("a", MaxLineBytes) + `"}`
	in := line("1", nil) + "\n" + long + "\n" + line("3", nil) + "\n"
	var put []string
	n, err := Articles(strings.NewReader(in), "f", sections, func(a news.Article) error { put = append(put, a.ID); return nil })
	want := fmt.Sprintf("f:2: line longer than %d bytes", MaxLineBytes)
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	if n != 3 || len(put) != 1 {
		t.Errorf("lines %d, put %v; want 3 lines, put [1]", n, put)
	}
	// A long line under the limit is fine.
	body := strings.Repeat("б", 1<<20)
	ok := line("big", map[string]string{"body_html": `"` + body + `"`})
	var got news.Article
	if _, err := Articles(strings.NewReader(ok), "f", sections, func(a news.Article) error { got = a; return nil }); err != nil {
		t.Fatal(err)
	}
	if got.BodyHTML != body {
		t.Errorf("long body lost: %d bytes, want %d", len(got.BodyHTML), len(body))
	}
}

func TestArticlesCapsErrorList(t *testing.T) {
	var b strings.Builder
	for i := 0; i < maxListed+5; i++ {
		b.WriteString("{\n")
	}
	_, err := Articles(strings.NewReader(b.String()), "f", sections, func(news.Article) error { return nil })
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	if len(es) != maxListed+1 || es[maxListed].Error() != "f: 5 more bad lines not listed" {
		t.Errorf("got %d errors, last %q", len(es), es[len(es)-1].Error())
	}
}

func TestViews(t *testing.T) {
	in := `{"article_id":"927791","at":"2017-01-29T10:00:00Z","count":42}
{"article_id":"927791","at":"2017-01-29T14:30:00+03:00","count":0}

{"article_id":"1","at":"2017-01-29T10:59:59Z","count":7}`
	var got []news.ViewCount
	n, err := Views(strings.NewReader(in), "v", func(v news.ViewCount) error { got = append(got, v); return nil })
	if err != nil || n != 3 {
		t.Fatalf("Views = %d, %v; want 3, nil", n, err)
	}
	want := []news.ViewCount{
		{ArticleID: "927791", At: time.Date(2017, 1, 29, 10, 0, 0, 0, time.UTC), Count: 42},
		{ArticleID: "927791", At: time.Date(2017, 1, 29, 11, 30, 0, 0, time.UTC), Count: 0},
		{ArticleID: "1", At: time.Date(2017, 1, 29, 10, 59, 59, 0, time.UTC), Count: 7},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("Views (-want +got):\n%s", diff)
	}
}

func TestViewsBadLines(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"invalid JSON", `{"article_id":`, `invalid JSON: unexpected end of line`},
		{"missing id", `{"at":"2017-01-29T10:00:00Z","count":1}`, `field "article_id": required`},
		{"missing at", `{"article_id":"a","count":1}`, `field "at": required`},
		{"bad at", `{"article_id":"a","at":"10:00","count":1}`, `field "at": not an RFC 3339 time`},
		{"no offset", `{"article_id":"a","at":"2017-01-29T10:00:00","count":1}`, `field "at": not an RFC 3339 time: no UTC offset (add Z or +03:00)`},
		{"missing count", `{"article_id":"a","at":"2017-01-29T10:00:00Z"}`, `field "count": required`},
		{"negative count", `{"article_id":"a","at":"2017-01-29T10:00:00Z","count":-3}`, `field "count": negative`},
		{"fractional count", `{"article_id":"a","at":"2017-01-29T10:00:00Z","count":1.5}`, `field "count": want a number, got number 1.5`},
		{"unknown field", `{"article_id":"a","at":"2017-01-29T10:00:00Z","count":1,"views":2}`, `field "views": unknown field`},
		{"same hour twice", `{"article_id":"a","at":"2017-01-29T10:45:00Z","count":1}`, `field "at": article "a" already has a count for this hour on line 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := `{"article_id":"a","at":"2017-01-29T10:00:00Z","count":1}` + "\n" + tc.line + "\n"
			puts := 0
			_, err := Views(strings.NewReader(in), "v.jsonl", func(news.ViewCount) error { puts++; return nil })
			if err == nil || err.Error() != "v.jsonl:2: "+tc.want {
				t.Errorf("error:\n got %v\nwant v.jsonl:2: %s", err, tc.want)
			}
			if puts != 1 {
				t.Errorf("put called %d times, want 1", puts)
			}
		})
	}
}

func TestKeySet(t *testing.T) {
	k := newKeySet()
	const n = 100_000 // several doublings
	for i := 1; i <= n; i++ {
		if prev := k.add(fmt.Sprintf("id-%d", i), i); prev != 0 {
			t.Fatalf("add(id-%d) = %d, want 0 (new)", i, prev)
		}
	}
	for i := 1; i <= n; i += 997 {
		if prev := k.add(fmt.Sprintf("id-%d", i), n+i); prev != i {
			t.Fatalf("add(id-%d) again = %d, want %d", i, prev, i)
		}
	}
	if k.n != n {
		t.Errorf("size = %d, want %d", k.n, n)
	}
}

// endless yields valid article lines without end, counting them.
type endless struct {
	n    int
	rest []byte
}

func (e *endless) Read(p []byte) (int, error) {
	if len(e.rest) == 0 {
		e.n++
		e.rest = []byte(line(fmt.Sprint(e.n), nil) + "\n")
	}
	k := copy(p, e.rest)
	e.rest = e.rest[k:]
	return k, nil
}

func TestArticlesStopsOnCanceledPut(t *testing.T) {
	for _, cause := range []error{context.Canceled, context.DeadlineExceeded} {
		src := &endless{}
		puts := 0
		n, err := Articles(src, "f", sections, func(news.Article) error {
			puts++
			if puts == 3 {
				return fmt.Errorf("store: insert: %w", cause)
			}
			return nil
		})
		if !errors.Is(err, cause) {
			t.Errorf("error = %v, want %v", err, cause)
		}
		if n != 3 || puts != 3 {
			t.Errorf("lines = %d, puts = %d; want 3, 3", n, puts)
		}
		if src.n > 100_000 {
			t.Errorf("read %d lines after the import was canceled", src.n)
		}
	}
}
