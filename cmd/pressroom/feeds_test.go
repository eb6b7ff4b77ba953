package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/pressroom/pressroom/internal/testtool"
)

func feedFileNames(sections ...string) []string {
	var names []string
	for _, s := range append(sections, "all", "top", "most-read") {
		for _, ext := range []string{"rss", "atom", "json"} {
			names = append(names, s+"."+ext)
		}
	}
	names = append(names, "feeds.opml")
	sort.Strings(names)
	return names
}

// parseFeedFile reads dir/name and parses it with gofeed.
func parseFeedFile(t *testing.T, dir, name string) (*gofeed.Feed, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := gofeed.NewParser().Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f, data
}

func TestFeedsBuild(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "import", "--db", db, writeFile(t, "a.jsonl", article1+"\n"+article2+"\n")).want(t, 0)
	out := filepath.Join(t.TempDir(), "feeds")
	r := pressroom(t, "", "feeds", "build", "--db", db, "--base-url", "https://news.example.com", "--out", out,
		"--feeds-logo", "https://news.example.com/logo.png", "--feeds-icon", "https://news.example.com/favicon.ico")
	r.want(t, 0)
	want := feedFileNames("politics", "sport")
	if !strings.Contains(r.stdout, strings.Join(want, "\n")+"\n") || !strings.Contains(r.stdout, "16 of 16 files written to "+out) {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	got := testtool.DirNames(t, out)
	if strings.Join(got, " ") != strings.Join(append([]string{".pressroom-feeds"}, want...), " ") {
		t.Errorf("files %v, want the manifest and %v", got, want)
	}
	f, _ := parseFeedFile(t, out, "politics.rss")
	if f.Image == nil || f.Image.URL != "https://news.example.com/logo.png" {
		t.Errorf("politics.rss image = %+v, want the --feeds-logo", f.Image)
	}
	if f.FeedLink != "https://news.example.com/feeds/politics.rss" || len(f.Items) != 1 || f.Items[0].GUID != "https://tass.com/politics/927791" || f.Items[0].Title != "Путин и Трамп провели телефонный разговор" {
		t.Errorf("politics.rss: self %q, items %+v", f.FeedLink, f.Items)
	}
	info, _ := os.Stat(filepath.Join(out, "politics.rss"))

	// Unchanged data: nothing is rewritten.
	r = pressroom(t, "", "feeds", "build", "--db", db, "--base-url", "https://news.example.com", "--out", out,
		"--feeds-logo", "https://news.example.com/logo.png", "--feeds-icon", "https://news.example.com/favicon.ico")
	r.want(t, 0)
	if r.stdout != "0 of 16 files written to "+out+"\n" {
		t.Errorf("second build stdout:\n%s", r.stdout)
	}
	if again, _ := os.Stat(filepath.Join(out, "politics.rss")); !again.ModTime().Equal(info.ModTime()) {
		t.Error("an unchanged feed was rewritten")
	}

	// A new sport article rewrites only the feeds it is in (and those
	// dated by the site's newest article: the OPML and empty feeds).
	pressroom(t, "", "import", "--db", db, writeFile(t, "b.jsonl", `{"id":"927793","url":"https://tass.com/sport/927793","section":"sport","title":"Football","body_html":"<p>Goal.</p>","published_at":"2017-01-30T10:00:00Z"}`+"\n")).want(t, 0)
	r = pressroom(t, "", "feeds", "build", "--db", db, "--base-url", "https://news.example.com", "--out", out,
		"--feeds-logo", "https://news.example.com/logo.png", "--feeds-icon", "https://news.example.com/favicon.ico")
	r.want(t, 0)
	for _, name := range []string{"sport.rss", "all.json", "feeds.opml"} {
		if !strings.Contains(r.stdout, name+"\n") {
			t.Errorf("third build did not rewrite %s:\n%s", name, r.stdout)
		}
	}
	for _, name := range []string{"politics.rss", "top.json"} {
		if strings.Contains(r.stdout, name+"\n") {
			t.Errorf("third build rewrote unchanged %s:\n%s", name, r.stdout)
		}
	}
}

func TestFeedsBuildUsage(t *testing.T) {
	db := newsroom(t)
	out := t.TempDir()
	pressroom(t, "", "feeds", "build", "--db", db, "--base-url", "https://x.example").want(t, 2, "pressroom feeds build: --out DIR is required")
	pressroom(t, "", "feeds", "build", "--db", db, "--out", out).want(t, 2, "--base-url (or PRESSROOM_BASE_URL) is required")
	pressroom(t, "", "feeds", "build", "--db", db, "--out", out, "--base-url", "https://x.example", "--feeds-items", "0").want(t, 2, "--feeds-items must be positive")
	pressroom(t, "", "feeds", "build", "--db", db, "--out", out, "--base-url", "https://x.example", "--websub-hub", "hub").want(t, 2, "--websub-hub: not an absolute URL")
	pressroom(t, "", "feeds", "build", "--db", db, "--out", out, "--base-url", "https://x.example", "--feeds-logo", "logo.png").want(t, 2, "--feeds-logo: not an absolute URL")
	pressroom(t, "", "feeds", "build", "--db", db, "--out", out, "--base-url", "https://x.example", "extra").want(t, 2, "takes no arguments")
	pressroom(t, "", "serve", "--db", db, "--feeds-out", out, "--feeds-cron", "every minute").want(t, 2, "--feeds-cron:")
	pressroom(t, "", "serve", "--db", db, "--feeds-max-age", "0s").want(t, 2, "--feeds-max-age must be at least 1s")
	blocker := writeFile(t, "file", "x")
	pressroom(t, "", "feeds", "build", "--db", db, "--out", filepath.Join(blocker, "sub"), "--base-url", "https://x.example").want(t, 1, "feeds: export")
}

// TestFeedsBuildWebSub runs a hub and checks "feeds build --websub-hub"
// tells it of every file written, and of nothing when nothing changed.
func TestFeedsBuildWebSub(t *testing.T) {
	var mu sync.Mutex
	var topics []string
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil || r.PostForm.Get("hub.mode") != "publish" {
			http.Error(w, "bad", 400)
			return
		}
		mu.Lock()
		topics = append(topics, r.PostForm.Get("hub.url"))
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer hub.Close()
	db := newsroom(t)
	pressroom(t, "", "import", "--db", db, writeFile(t, "a.jsonl", article1+"\n")).want(t, 0)
	out := t.TempDir()
	args := []string{"feeds", "build", "--db", db, "--base-url", "https://news.example.com", "--out", out, "--websub-hub", hub.URL}
	pressroom(t, "", args...).want(t, 0)
	mu.Lock()
	defer mu.Unlock()
	if len(topics) != 15 || topics[0] != "https://news.example.com/feeds/all.atom" {
		t.Errorf("hub got %d topics (%v), want the 15 feeds", len(topics), topics)
	}
	data, _ := os.ReadFile(filepath.Join(out, "politics.atom"))
	if !bytes.Contains(data, []byte(`<link href="`+hub.URL+`" rel="hub">`)) {
		t.Errorf("politics.atom lacks the hub link:\n%s", data)
	}
	topics = nil
	mu.Unlock()
	pressroom(t, "", args...).want(t, 0)
	mu.Lock()
	if len(topics) != 0 {
		t.Errorf("unchanged build published %v", topics)
	}
}

// TestServeFeeds runs serve with a scheduled export: the served feed,
// with its cache headers, and the exported file are the same bytes.
func TestServeFeeds(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "import", "--db", db, writeFile(t, "a.jsonl", article1+"\n"+article2+"\n")).want(t, 0)
	out := filepath.Join(t.TempDir(), "static")
	// A feed an earlier export wrote, no longer in the set, next to the
	// operator's own page.
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{".pressroom-feeds": "gone.rss\n", "gone.rss": "<rss/>", "index.html": "<h1>hi</h1>"} {
		if err := os.WriteFile(filepath.Join(out, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", db, "--addr", "127.0.0.1:0",
		"--feeds-out", out, "--feeds-cron", "@every 1s", "--feeds-max-age", "5m", "--log-format", "json")
	resp, err := http.Get(base + "/feeds/politics.atom")
	if err != nil {
		t.Fatal(err)
	}
	served := new(bytes.Buffer)
	if _, err := served.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=300" || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET politics.atom: %d %v", resp.StatusCode, resp.Header)
	}
	if !bytes.Contains(served.Bytes(), []byte(`<link href="`+base+`/feeds/politics.atom" rel="self"`)) {
		t.Errorf("served feed's self link is not under %s:\n%s", base, served)
	}
	req, _ := http.NewRequest("GET", base+"/feeds/politics.atom", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if r304, err := http.DefaultClient.Do(req); err != nil || r304.StatusCode != 304 {
		t.Errorf("conditional GET: %v %v", r304, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var exported []byte
	for {
		exported, err = os.ReadFile(filepath.Join(out, "politics.atom"))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the export job did not write politics.atom within 20s: %v", err)
	}
	if !bytes.Equal(exported, served.Bytes()) {
		t.Error("exported politics.atom differs from the served one")
	}
	for {
		_, err = os.Stat(filepath.Join(out, "gone.rss"))
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil {
		t.Error("the export job did not delete the stale gone.rss within 20s")
	}
	if page, err := os.ReadFile(filepath.Join(out, "index.html")); err != nil || string(page) != "<h1>hi</h1>" {
		t.Errorf("index.html = %q, %v; want it untouched", page, err)
	}
	code, page := httpGet(t, base+"/")
	if code != 200 || !strings.Contains(page, `href="`+base+`/feeds/all.atom"`) {
		t.Errorf("index page lacks feed autodiscovery:\n%s", page)
	}
	r := stop()
	r.want(t, 0)
	if !strings.Contains(r.stderr, `"msg":"Feeds exported"`) || !strings.Contains(r.stderr, `"msg":"Stale feed files removed","dir":"`+out+`","files":["gone.rss"]`) {
		t.Errorf("no export or removal logged:\n%s", r.stderr)
	}
}

// TestFeedsBuildRemovesStale: renaming a section deletes the old
// section's files from the folder at the next build, and only them.
func TestFeedsBuildRemovesStale(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "import", "--db", db, writeFile(t, "a.jsonl", article1+"\n"+article2+"\n")).want(t, 0)
	out := t.TempDir()
	// The operator's files, there before the first build: never touched.
	foreign := map[string]string{"index.html": "<h1>Feeds</h1>", "robots.txt": "User-agent: *\n"}
	for name, content := range foreign {
		if err := os.WriteFile(filepath.Join(out, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := func(db string) result {
		t.Helper()
		r := pressroom(t, "", "feeds", "build", "--db", db, "--base-url", "https://news.example.com", "--out", out)
		r.want(t, 0)
		return r
	}
	r := build(db)
	if strings.Contains(r.stdout, "removed") {
		t.Errorf("first build removed files:\n%s", r.stdout)
	}

	// The same newsroom with sport renamed to sports.
	renamed := filepath.Join(t.TempDir(), "renamed.db")
	pressroom(t, "", "migrate", "--db", renamed).want(t, 0)
	pressroom(t, "", "sections", "add", "--db", renamed, "politics", "Russian Politics & Diplomacy", "--position", "1").want(t, 0)
	pressroom(t, "", "sections", "add", "--db", renamed, "sports", "Sport").want(t, 0)
	pressroom(t, "", "import", "--db", renamed, writeFile(t, "b.jsonl", article1+"\n"+strings.Replace(article2, `"section":"sport"`, `"section":"sports"`, 1)+"\n")).want(t, 0)
	r = build(renamed)
	if !strings.Contains(r.stdout, "removed sport.atom\nremoved sport.json\nremoved sport.rss\n5 of 16 files written to "+out+", 3 stale files removed\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, `msg="Stale feed files removed" dir=`+out+` files="[sport.atom sport.json sport.rss]"`) {
		t.Errorf("stderr lacks the removal log line:\n%s", r.stderr)
	}
	want := append([]string{".pressroom-feeds"}, feedFileNames("politics", "sports")...)
	want = append(want, "index.html", "robots.txt")
	sort.Strings(want)
	if got := testtool.DirNames(t, out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("files %v, want %v", got, want)
	}
	for name, content := range foreign {
		if data, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(data) != content {
			t.Errorf("%s = %q, %v; want it untouched", name, data, err)
		}
	}
	for _, name := range []string{"sports.rss", "sports.atom", "politics.json"} {
		if f, _ := parseFeedFile(t, out, name); len(f.Items) != 1 || !strings.HasSuffix(f.FeedLink, "/feeds/"+name) {
			t.Errorf("%s: self %q, %d items, want 1", name, f.FeedLink, len(f.Items))
		}
	}

	// A manifest line leading out of the folder is reported, not followed.
	outside := writeFile(t, "x", "outside")
	manifest := filepath.Join(out, ".pressroom-feeds")
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(out, outside)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, append(data, []byte(rel+"\n"+outside+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(data), "\n")
	r = build(renamed)
	if r.stdout != "0 of 16 files written to "+out+"\n" {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	for i, entry := range []string{rel, outside} {
		// The text log quotes the error, so its own quotes are escaped.
		if w := fmt.Sprintf(`%s:%d: entry \"%s\": `, manifest, lines+i+1, entry); !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %s:\n%s", w, r.stderr)
		}
	}
	if data, err := os.ReadFile(outside); err != nil || string(data) != "outside" {
		t.Errorf("%s = %q, %v; want it untouched", outside, data, err)
	}
}

// TestFeedsTitleAndLanguage: a Russian newsroom names itself and its
// language in every format, read back with gofeed and encoding/json.
func TestFeedsTitleAndLanguage(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "import", "--db", db, writeFile(t, "a.jsonl", article1+"\n")).want(t, 0)
	out := t.TempDir()
	pressroom(t, "", "feeds", "build", "--db", db, "--base-url", "https://news.example.com", "--out", out,
		"--feeds-title", "ТАСС", "--feeds-language", "ru-RU").want(t, 0)
	for _, name := range []string{"politics.rss", "politics.atom", "politics.json", "all.rss"} {
		f, data := parseFeedFile(t, out, name)
		if !strings.HasPrefix(f.Title, "ТАСС: ") {
			t.Errorf("%s: title %q, want the --feeds-title", name, f.Title)
		}
		lang := f.Language
		if strings.HasSuffix(name, ".atom") {
			// gofeed does not carry Atom's xml:lang over; read it from the root element.
			lang = regexp.MustCompile(`<feed xml:lang="([^"]*)"`).FindStringSubmatch(string(data))[1]
		}
		if lang != "ru-RU" {
			t.Errorf("%s: language %q, want ru-RU", name, lang)
		}
	}
	opml, err := os.ReadFile(filepath.Join(out, "feeds.opml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(opml), `language="ru-RU"`) || !strings.Contains(string(opml), "ТАСС: ") {
		t.Errorf("feeds.opml does not carry the title and language:\n%.600s", opml)
	}
	pressroom(t, "", "feeds", "build", "--db", db, "--base-url", "https://news.example.com", "--out", out,
		"--feeds-language", "russian language").want(t, 2, `--feeds-language: "russian language" is not a language tag`)
	pressroom(t, "", "feeds", "build", "--db", db, "--base-url", "https://news.example.com", "--out", out,
		"--feeds-title", " ").want(t, 2, "--feeds-title: want a NAME")
	pressroom(t, "", "serve", "--db", db, "--feeds-language", "x").want(t, 2, "--feeds-language:")
}
