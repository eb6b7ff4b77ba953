package feeds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mmcdole/gofeed"
	"github.com/pressroom/pressroom/internal/news"
)

func fileNames(set *Set) []string {
	var names []string
	for _, f := range set.Files {
		names = append(names, f.Name)
	}
	return names
}

func TestBuildFiles(t *testing.T) {
	set := buildFixture(t)
	var want []string
	for _, feed := range []string{"all", "most-read", "politics", "science", "top", "world"} {
		for _, f := range Formats() {
			want = append(want, FileName(feed, f))
		}
	}
	want = append(want, OPMLName)
	slices.Sort(want)
	if diff := cmp.Diff(want, fileNames(set)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, f := range set.Files {
		if !strings.HasPrefix(f.ETag, `"`) || !strings.HasSuffix(f.ETag, `"`) || strings.HasPrefix(f.ETag, `W/`) {
			t.Errorf("%s: ETag %q is not a strong entity tag", f.Name, f.ETag)
		}
		if !strings.Contains(f.ContentType, "charset=utf-8") {
			t.Errorf("%s: Content-Type %q has no charset", f.Name, f.ContentType)
		}
		if f.Modified.Location() != time.UTC {
			t.Errorf("%s: Modified %v not in UTC", f.Name, f.Modified)
		}
	}
	if got, want := mustFile(t, set, "politics.rss").Modified, time.Date(2026, 11, 27, 8, 5, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("politics.rss Modified = %v, want the newest article's update %v", got, want)
	}
}

// TestBuildDeterministic: the same data gives the same bytes whatever the
// clock says, so an unchanged feed keeps its ETag.
func TestBuildDeterministic(t *testing.T) {
	b := newFixtureBuilder(t)
	src := newFixtureSource()
	first, err := b.Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, now := range []time.Time{fixedNow.Add(time.Second), fixedNow.Add(90 * time.Minute), fixedNow.Add(110 * time.Minute)} {
		again, err := b.Build(context.Background(), src, now)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range again.Files {
			if !bytes.Equal(f.Data, first.Files[i].Data) || f.ETag != first.Files[i].ETag {
				t.Errorf("Build at %v: %s differs from the build at %v", now, f.Name, fixedNow)
			}
		}
	}
}

// TestBuildEmbargo: an article appears once its publication time has
// passed, and only the feeds it belongs to change.
func TestBuildEmbargo(t *testing.T) {
	b := newFixtureBuilder(t)
	src := newFixtureSource()
	before, err := b.Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range before.Files {
		if bytes.Contains(f.Data, []byte("927794")) {
			t.Errorf("%s carries the embargoed article before its time", f.Name)
		}
	}
	after, err := b.Build(context.Background(), src, fixedNow.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for i, f := range after.Files {
		if f.ETag != before.Files[i].ETag {
			changed = append(changed, f.Name)
		}
	}
	// Only the feeds holding the new article change, and the OPML list,
	// which is dated by the site's newest article.
	want := []string{"all.atom", "all.json", "all.rss", "feeds.opml", "politics.atom", "politics.json", "politics.rss"}
	if diff := cmp.Diff(want, changed); diff != "" {
		t.Errorf("changed after the embargo lifted (-want +got):\n%s", diff)
	}
	if !bytes.Contains(mustFile(t, after, "politics.rss").Data, []byte("https://tass.example/politics/927794")) {
		t.Error("politics.rss lacks the article after its embargo")
	}
}

func TestBuildEmptyFeeds(t *testing.T) {
	b := newFixtureBuilder(t)
	src := newFixtureSource()
	src.sections = append(src.sections, news.Section{Slug: "sport", Title: "Sport", Position: 9})
	set, err := b.Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(mustFile(t, set, "sport.json").Data, &j); err != nil {
		t.Fatal(err)
	}
	if items, ok := j["items"].([]any); !ok || len(items) != 0 {
		t.Errorf("empty JSON feed items = %#v, want an empty array", j["items"])
	}
	atom, err := gofeed.NewParser().Parse(bytes.NewReader(mustFile(t, set, "sport.atom").Data))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 27, 8, 5, 0, 0, time.UTC); atom.UpdatedParsed == nil || !atom.UpdatedParsed.Equal(want) {
		t.Errorf("empty feed updated = %v, want the site's newest article %v", atom.UpdatedParsed, want)
	}

	// A site with no articles at all dates its feeds 1970-01-01, not now.
	empty := &memSource{sections: fixtureSections(), mark: "e"}
	set, err = b.Build(context.Background(), empty, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range set.Files {
		if !f.Modified.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: Modified = %v, want the epoch", f.Name, f.Modified)
		}
		if bytes.Contains(f.Data, []byte("2026-11")) || bytes.Contains(f.Data, []byte("Nov 2026")) {
			t.Errorf("%s mentions the build year: a date came from the clock\n%s", f.Name, f.Data)
		}
	}
}

func TestBuildReservedSlug(t *testing.T) {
	src := newFixtureSource()
	src.sections = append(src.sections, news.Section{Slug: "top", Title: "A section called top", Position: 9})
	set, err := newFixtureBuilder(t).Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(mustFile(t, set, "top.rss").Data, []byte("A section called top")) {
		t.Error("a section named top replaced the top-stories feed")
	}
	if n := strings.Count(string(mustFile(t, set, OPMLName).Data), `xmlUrl="https://news.example.com/feeds/top.rss"`); n != 1 {
		t.Errorf("OPML lists top.rss %d times, want 1", n)
	}
}

func TestBuildItemsLimit(t *testing.T) {
	opts := fixtureOptions()
	opts.Items = 2
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	set, err := b.Build(context.Background(), newFixtureSource(), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(mustFile(t, set, "all.json").Data))
	if err != nil {
		t.Fatal(err)
	}
	if len(feed.Items) != 2 {
		t.Errorf("all.json has %d items, want 2", len(feed.Items))
	}
}

type failingSource struct {
	*memSource
	err error
}

func (f failingSource) TopStories(context.Context, int, time.Time) ([]news.Article, error) {
	return nil, f.err
}

func TestBuildSourceError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := newFixtureBuilder(t).Build(context.Background(), failingSource{newFixtureSource(), boom}, fixedNow)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "top stories") {
		t.Errorf("Build error = %v, want it to wrap %v and name the top stories", err, boom)
	}
}

func TestMark(t *testing.T) {
	b := newFixtureBuilder(t)
	src := newFixtureSource()
	ctx := context.Background()
	m1, _ := b.Mark(ctx, src, fixedNow)
	m2, _ := b.Mark(ctx, src, fixedNow.Add(59*time.Minute))
	m3, _ := b.Mark(ctx, src, fixedNow.Add(time.Hour))
	src.mark = "m2"
	m4, _ := b.Mark(ctx, src, fixedNow)
	if m1 != m2 {
		t.Errorf("mark changed within the hour: %q, %q", m1, m2)
	}
	if m1 == m3 {
		t.Errorf("mark did not change on the hour (the most-read window moves): %q", m1)
	}
	if m1 == m4 {
		t.Errorf("mark did not follow the source's change mark: %q", m1)
	}
}

func TestNewOptions(t *testing.T) {
	for _, opts := range []Options{
		{},
		{BaseURL: "/relative"},
		{BaseURL: "ftp://x.example"},
		{BaseURL: "https://x.example", Hub: "not a url"},
		{BaseURL: "https://x.example", Icon: "/favicon.ico"},
		{BaseURL: "https://x.example", Language: "English"},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) = nil error, want one", opts)
		}
	}
	b, err := New(Options{BaseURL: "https://x.example/"})
	if err != nil {
		t.Fatal(err)
	}
	o := b.Options()
	if o.Items != 50 || o.Language != "en" || o.SiteTitle != "Pressroom" || o.TTL != 5*time.Minute || o.MostReadWindow != 24*time.Hour {
		t.Errorf("defaults = %+v", o)
	}
	if got := b.FeedURL("world", Atom); got != "https://x.example/feeds/world.atom" {
		t.Errorf("FeedURL = %q", got)
	}
}

func TestWriteDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	b := newFixtureBuilder(t)
	src := newFixtureSource()
	set, err := b.Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := WriteDir(dir, set)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fileNames(set), ex.Written); diff != "" {
		t.Errorf("first export changed (-want +got):\n%s", diff)
	}
	for _, f := range set.Files {
		got, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s on disk differs from the set (err %v)", f.Name, err)
		}
	}
	// Age the files so a rewrite would show in the mtime.
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range set.Files {
		if err := os.Chtimes(filepath.Join(dir, f.Name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(filepath.Join(dir, ManifestName), old, old); err != nil {
		t.Fatalf("first export wrote no manifest: %v", err)
	}
	ex, err = WriteDir(dir, set)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Written) != 0 || len(ex.Removed) != 0 || len(ex.Warnings) != 0 {
		t.Errorf("unchanged export = %+v, want nothing written or removed", ex)
	}

	// Change one world article: only the feeds holding it change.
	src.articles[1].Title = "Moscow and Tehran: new title"
	src.articles[1].UpdatedAt = src.articles[1].UpdatedAt.Add(time.Minute)
	set2, err := b.Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	ex, err = WriteDir(dir, set2)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"all.atom", "all.json", "all.rss", "most-read.atom", "most-read.json", "most-read.rss", "world.atom", "world.json", "world.rss"}
	if diff := cmp.Diff(want, ex.Written); diff != "" {
		t.Errorf("export after one change (-want +got):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == ManifestName {
			// Same files, same manifest: it is not rewritten either.
			if !info.ModTime().Equal(old) {
				t.Errorf("manifest rewritten (mtime %v) though the set of files did not change", info.ModTime())
			}
			continue
		}
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
		if slices.Contains(want, e.Name()) {
			continue
		}
		if !info.ModTime().Equal(old) {
			t.Errorf("%s was rewritten (mtime %v) though its bytes did not change", e.Name(), info.ModTime())
		}
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %v, want 0644", e.Name(), info.Mode().Perm())
		}
	}
}

func TestWriteDirError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plainfile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteDir(filepath.Join(file, "sub"), buildFixture(t)); err == nil || !strings.HasPrefix(err.Error(), "feeds: export") {
		t.Errorf("WriteDir under a file: err = %v, want a feeds: export error", err)
	}
}
