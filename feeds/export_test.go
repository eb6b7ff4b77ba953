package feeds

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mmcdole/gofeed"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/testtool"
)

// buildWithout builds the fixture without the sections named.
func buildWithout(t *testing.T, slugs ...string) *Set {
	t.Helper()
	src := newFixtureSource()
	src.sections = slices.DeleteFunc(src.sections, func(s news.Section) bool { return slices.Contains(slugs, s.Slug) })
	set, err := newFixtureBuilder(t).Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkFile fails unless path holds content.
func checkFile(t *testing.T, path, content string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != content {
		t.Errorf("%s = %q (err %v), want %q untouched", path, got, err, content)
	}
}

// manifestNames returns the names the manifest in dir lists.
func manifestNames(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for line := range strings.Lines(string(data)) {
		if !strings.HasPrefix(line, "#") {
			names = append(names, strings.TrimSuffix(line, "\n"))
		}
	}
	return names
}

func TestWriteDirRemovesStale(t *testing.T) {
	dir := t.TempDir()
	full := buildFixture(t)
	if _, err := WriteDir(dir, full); err != nil {
		t.Fatal(err)
	}
	// The operator's own files sit next to the feeds.
	writeTestFile(t, filepath.Join(dir, "index.html"), "<h1>feeds</h1>")
	writeTestFile(t, filepath.Join(dir, "robots.txt"), "User-agent: *\n")
	if diff := cmp.Diff(fileNames(full), manifestNames(t, dir)); diff != "" {
		t.Errorf("manifest after the first export (-want +got):\n%s", diff)
	}

	less := buildWithout(t, "world")
	ex, err := WriteDir(dir, less)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"world.atom", "world.json", "world.rss"}, ex.Removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if len(ex.Warnings) != 0 {
		t.Errorf("warnings: %v", ex.Warnings)
	}
	// The OPML and the feeds across sections lose world; the other
	// sections' feeds are not rewritten.
	for _, name := range ex.Written {
		if strings.HasPrefix(name, "politics.") || strings.HasPrefix(name, "science.") {
			t.Errorf("unchanged %s rewritten", name)
		}
	}
	if !slices.Contains(ex.Written, OPMLName) {
		t.Errorf("written %v, want the OPML without world", ex.Written)
	}
	want := append([]string{ManifestName}, fileNames(less)...)
	want = append(want, "index.html", "robots.txt")
	slices.Sort(want)
	if diff := cmp.Diff(want, testtool.DirNames(t, dir)); diff != "" {
		t.Errorf("folder after removing world (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fileNames(less), manifestNames(t, dir)); diff != "" {
		t.Errorf("manifest after removing world (-want +got):\n%s", diff)
	}
	checkFile(t, filepath.Join(dir, "index.html"), "<h1>feeds</h1>")
	checkFile(t, filepath.Join(dir, "robots.txt"), "User-agent: *\n")
	for _, f := range less.Files {
		if f.Format == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		if feed.Title != f.Title {
			t.Errorf("%s: title %q, want %q", f.Name, feed.Title, f.Title)
		}
	}

	// Nothing more to remove the next time.
	ex, err = WriteDir(dir, less)
	if err != nil || len(ex.Removed)+len(ex.Written)+len(ex.Warnings) != 0 {
		t.Errorf("export after the removal = %+v, %v; want nothing done", ex, err)
	}
}

func TestWriteDirFirstExportDeletesNothing(t *testing.T) {
	dir := t.TempDir()
	// Files from before any manifest existed, one even named like a feed:
	// without a manifest Pressroom cannot know it wrote them.
	writeTestFile(t, filepath.Join(dir, "index.html"), "<h1>feeds</h1>")
	writeTestFile(t, filepath.Join(dir, "world.rss"), "an old feed")
	ex, err := WriteDir(dir, buildWithout(t, "world"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Removed) != 0 || len(ex.Warnings) != 0 {
		t.Errorf("first export removed %v, warnings %v; want neither", ex.Removed, ex.Warnings)
	}
	// Nor later: they are in no manifest.
	ex, err = WriteDir(dir, buildWithout(t, "world", "science"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"science.atom", "science.json", "science.rss"}, ex.Removed); diff != "" {
		t.Errorf("second export removed (-want +got):\n%s", diff)
	}
	checkFile(t, filepath.Join(dir, "index.html"), "<h1>feeds</h1>")
	checkFile(t, filepath.Join(dir, "world.rss"), "an old feed")
}

func TestWriteDirManifestOutsideFolder(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "feeds")
	outside := filepath.Join(parent, "x")
	abs := filepath.Join(t.TempDir(), "precious")
	writeTestFile(t, outside, "outside")
	writeTestFile(t, abs, "precious")
	if _, err := WriteDir(dir, buildFixture(t)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "sub", "x"), "sub")
	writeTestFile(t, filepath.Join(dir, ".hidden"), "hidden")
	// A hand-edited (or planted) manifest: only world.json is ours.
	path := filepath.Join(dir, ManifestName)
	bad := "# edited\n../x\n" + abs + "\nsub/x\nsub/../../x\n.hidden\nworld.json\n"
	writeTestFile(t, path, bad)

	ex, err := WriteDir(dir, buildWithout(t, "world"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"world.json"}, ex.Removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	checkFile(t, outside, "outside")
	checkFile(t, abs, "precious")
	checkFile(t, filepath.Join(dir, "sub", "x"), "sub")
	checkFile(t, filepath.Join(dir, ".hidden"), "hidden")
	var got []string
	for _, w := range ex.Warnings {
		got = append(got, w.Error())
	}
	want := []string{
		"feeds: export: " + path + `:2: entry "../x": leads outside the folder: ignored`,
		"feeds: export: " + path + `:3: entry "` + abs + `": an absolute path, outside the folder: ignored`,
		"feeds: export: " + path + `:4: entry "sub/x": in a subfolder, where exports never write: ignored`,
		"feeds: export: " + path + `:5: entry "sub/../../x": leads outside the folder: ignored`,
		"feeds: export: " + path + `:6: entry ".hidden": a hidden file, which exports never write: ignored`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	// The manifest is rewritten from what was exported, so the warnings
	// come once; world.rss and world.atom were never listed, so they stay.
	if diff := cmp.Diff(fileNames(buildWithout(t, "world")), manifestNames(t, dir)); diff != "" {
		t.Errorf("rewritten manifest (-want +got):\n%s", diff)
	}
	checkFile(t, filepath.Join(dir, "world.rss"), string(mustFile(t, buildFixture(t), "world.rss").Data))
}

func TestWriteDirUnreadableManifest(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "feeds")
	if _, err := WriteDir(dir, buildFixture(t)); err != nil {
		t.Fatal(err)
	}
	// The manifest is now a link out of the folder, to a file that
	// lists world.rss: it must be neither followed nor overwritten.
	target := filepath.Join(parent, "elsewhere")
	writeTestFile(t, target, "world.rss\n")
	path := filepath.Join(dir, ManifestName)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	less := buildWithout(t, "world")
	ex, err := WriteDir(dir, less)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Removed) != 0 {
		t.Errorf("removed %v through an unreadable manifest", ex.Removed)
	}
	if len(ex.Warnings) != 1 || !strings.HasPrefix(ex.Warnings[0].Error(), "feeds: export: "+path+": unreadable, nothing deleted: ") {
		t.Errorf("warnings = %v, want one naming the unreadable manifest", ex.Warnings)
	}
	checkFile(t, target, "world.rss\n")
	if info, err := os.Lstat(path); err != nil || !info.Mode().IsRegular() {
		t.Errorf("manifest not rewritten as a file: %v %v", info, err)
	}
	if diff := cmp.Diff(fileNames(less), manifestNames(t, dir)); diff != "" {
		t.Errorf("rewritten manifest (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, "world.rss")); err != nil {
		t.Errorf("world.rss: %v, want it kept", err)
	}
}

// TestWriteDirStaleFolder: a manifest name that is now a folder is not
// a file Pressroom wrote; it is left alone, with a warning, and dropped.
func TestWriteDirStaleFolder(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteDir(dir, buildFixture(t)); err != nil {
		t.Fatal(err)
	}
	world := filepath.Join(dir, "world.rss")
	if err := os.Remove(world); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(world, 0o755); err != nil {
		t.Fatal(err)
	}
	ex, err := WriteDir(dir, buildWithout(t, "world"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"world.atom", "world.json"}, ex.Removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if len(ex.Warnings) != 1 || !strings.Contains(ex.Warnings[0].Error(), `stale "world.rss" is now a folder`) {
		t.Errorf("warnings = %v", ex.Warnings)
	}
	if info, err := os.Stat(world); err != nil || !info.IsDir() {
		t.Errorf("folder world.rss: %v %v, want it kept", info, err)
	}
}
