package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

// newsroom returns the path of a fresh migrated database with the
// politics and sport sections.
func newsroom(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "pressroom.db")
	pressroom(t, "", "migrate", "--db", db).want(t, 0)
	pressroom(t, "", "sections", "add", "--db", db, "politics", "Russian Politics & Diplomacy", "--position", "1").want(t, 0)
	pressroom(t, "", "sections", "add", "--db", db, "sport", "Sport").want(t, 0)
	return db
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dump returns every row of every table of the database at path as
// text, to compare a database before and after a command.
func dump(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `" ORDER BY rowid`)
		if err != nil {
			rows, err = db.Query(`SELECT * FROM "` + table + `"`) // WITHOUT ROWID tables
			if err != nil {
				t.Fatal(err)
			}
		}
		cols, _ := rows.Columns()
		fmt.Fprintf(&b, "== %s %v\n", table, cols)
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%q\n", vals)
		}
		rows.Close()
	}
	return b.String()
}

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

const (
	article1 = `{"id":"927791","url":"https://tass.com/politics/927791","section":"politics","title":"Путин и Трамп провели телефонный разговор","lead":"The presidents spoke for an hour.","body_html":"<p>MOSCOW, January 28. /TASS/.</p>","dateline":"MOSCOW","authors":["Ivan Petrov"],"published_at":"2017-01-29T02:41:00+03:00","image":{"url":"https://tass.com/img/1.jpg","caption":"The Kremlin","credit":"TASS","width":1200,"height":800,"type":"image/jpeg","length":123456},"related":[{"title":"Earlier","url":"https://tass.com/politics/1"}],"tags":["Putin","Trump"],"top_story":true}`
	article2 = `{"id":"927792","url":"https://tass.com/sport/927792","section":"sport","title":"Hockey: CSKA win","body_html":"<p>Goal.</p>","published_at":"2017-01-29T10:00:00Z"}`
)

func TestMigrate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "new.db")
	r := pressroom(t, "", "migrate", "--db", db)
	r.want(t, 0)
	if want := fmt.Sprintf("%s: migrated schema from version 0 to %d\n", db, store.LatestSchemaVersion()); r.stdout != want {
		t.Errorf("first migrate printed %q, want %q", r.stdout, want)
	}
	r = pressroom(t, "", "--db", db, "migrate")
	r.want(t, 0)
	if want := fmt.Sprintf("%s: schema version %d, up to date\n", db, store.LatestSchemaVersion()); r.stdout != want {
		t.Errorf("second migrate printed %q, want %q", r.stdout, want)
	}
	// A database from a newer pressroom is refused and left alone.
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	before := dump(t, db)
	for _, args := range [][]string{{"migrate"}, {"sections", "list"}} {
		r = pressroom(t, "", append(args, "--db", db)...)
		r.want(t, 1, "database schema version 999 is newer than this binary's version")
	}
	if after := dump(t, db); after != before {
		t.Errorf("refused database changed:\n%s", cmp.Diff(before, after))
	}
	r = pressroom(t, "", "migrate", "--db", db, "extra")
	r.want(t, 2, "pressroom migrate: takes no arguments")
}

func TestMissingDatabaseIsNotCreated(t *testing.T) {
	db := filepath.Join(t.TempDir(), "typo.db")
	file := writeFile(t, "a.jsonl", article2+"\n")
	for _, args := range [][]string{
		{"sections", "list"},
		{"sections", "add", "world", "World"},
		{"import", file},
		{"views", "import", file},
		{"serve", "--addr", "127.0.0.1:0"},
	} {
		r := pressroom(t, "", append(args, "--db", db)...)
		r.want(t, 1, "database "+db+" does not exist: create it with 'pressroom migrate --db "+db+"'")
		if _, err := os.Stat(db); !os.IsNotExist(err) {
			t.Fatalf("%v created %s", args, db)
		}
	}
}

func TestSections(t *testing.T) {
	db := filepath.Join(t.TempDir(), "p.db")
	pressroom(t, "", "migrate", "--db", db).want(t, 0)
	r := pressroom(t, "", "sections", "list", "--db", db)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "no sections yet") {
		t.Errorf("empty list printed %q", r.stdout)
	}
	r = pressroom(t, "", "sections", "add", "--db", db, "sport", "Sport", "--position", "7")
	r.want(t, 0)
	if r.stdout != "added section sport \"Sport\" at position 7\n" {
		t.Errorf("add printed %q", r.stdout)
	}
	pressroom(t, "", "sections", "add", "--db", db, "--description", "Kremlin, parliament, diplomacy", "--position", "1", "politics", "Russian Politics & Diplomacy").want(t, 0)
	// Without --position a section goes after the last one.
	r = pressroom(t, "", "sections", "add", "--db", db, "pressreview", "Press Review")
	r.want(t, 0)
	if !strings.Contains(r.stdout, "at position 8") {
		t.Errorf("default position: %q", r.stdout)
	}
	r = pressroom(t, "", "sections", "list", "--db", db)
	r.want(t, 0)
	want := "POSITION  SLUG         TITLE                         DESCRIPTION\n" +
		"1         politics     Russian Politics & Diplomacy  Kremlin, parliament, diplomacy\n" +
		"7         sport        Sport                         \n" +
		"8         pressreview  Press Review                  \n"
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("sections list (-want +got):\n%s", diff)
	}
	got, err := openDB(t, db).Sections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != (news.Section{Slug: "politics", Title: "Russian Politics & Diplomacy", Description: "Kremlin, parliament, diplomacy", Position: 1}) {
		t.Errorf("stored section = %+v", got[0])
	}

	before := dump(t, db)
	bad := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sport", "Sport again"}, 1, `add section "sport": already exists`},
		{[]string{"Bad Slug", "Title"}, 2, `pressroom sections add: field "slug": must be 1-64 lower-case letters`},
		{[]string{"world", "  "}, 2, `field "title": required`},
		{[]string{"all", "All news"}, 2, `pressroom sections add: field "slug": "all" is reserved`},
		{[]string{"most-read", "Most read"}, 2, `field "slug": "most-read" is reserved`},
		{[]string{"world", "World\nand more"}, 2, `field "title": must not contain control characters`},
		{[]string{"world"}, 2, "want SLUG and TITLE, got 1 arguments"},
		{[]string{"world", "World", "--position", "first"}, 2, `--position: "first" is not a whole number`},
		{[]string{"world", "World", "--colour", "red"}, 2, "pressroom sections add: flag provided but not defined: -colour"},
	}
	for _, b := range bad {
		r := pressroom(t, "", append([]string{"sections", "add", "--db", db}, b.args...)...)
		r.want(t, b.code, b.want)
	}
	if after := dump(t, db); after != before {
		t.Errorf("failed section adds changed the database:\n%s", cmp.Diff(before, after))
	}
}

func TestImport(t *testing.T) {
	db := newsroom(t)
	file := writeFile(t, "articles.jsonl", article1+"\n\n"+article2+"\n")
	start := time.Now().Truncate(time.Second)
	r := pressroom(t, "", "import", "--db", db, file)
	r.want(t, 0)
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `: 2 inserted, 0 updated, 0 unchanged \(2 lines in [0-9.]+m?s\)\n$`).MatchString(r.stdout) {
		t.Errorf("import summary = %q", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("import wrote to stderr (a progress bar without a terminal?): %q", r.stderr)
	}
	st := openDB(t, db)
	a, err := st.Article(context.Background(), "927791")
	if err != nil {
		t.Fatal(err)
	}
	wantPub := time.Date(2017, 1, 29, 2, 41, 0, 0, time.FixedZone("", 3*3600))
	if a.Title != "Путин и Трамп провели телефонный разговор" || !a.PublishedAt.Equal(wantPub) || a.Image == nil || a.Image.Length != 123456 ||
		len(a.Related) != 1 || !a.TopStory || strings.Join(a.Tags, ",") != "Putin,Trump" {
		t.Errorf("stored article = %+v", a)
	}
	if _, off := a.PublishedAt.Zone(); off != 3*3600 {
		t.Errorf("published_at offset %d, want +03:00 kept", off)
	}
	if !a.UpdatedAt.Equal(a.PublishedAt) {
		t.Errorf("new article without updated_at: updated_at = %v, want published_at", a.UpdatedAt)
	}

	// The same file again: nothing changes.
	r = pressroom(t, "", "import", "--db", db, file)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "0 inserted, 0 updated, 2 unchanged") {
		t.Errorf("re-import summary = %q", r.stdout)
	}
	// One changed article, from standard input.
	changed := strings.Replace(article2, "Hockey: CSKA win", "Hockey: CSKA win 3-2", 1)
	r = pressroom(t, article1+"\n"+changed+"\n", "import", "--db", db, "-")
	r.want(t, 0)
	if !strings.HasPrefix(r.stdout, "stdin: 0 inserted, 1 updated, 1 unchanged") {
		t.Errorf("stdin import summary = %q", r.stdout)
	}
	a, err = st.Article(context.Background(), "927792")
	if err != nil || a.Title != "Hockey: CSKA win 3-2" {
		t.Errorf("updated article = %+v, %v", a, err)
	}
	if a.UpdatedAt.Before(start) || a.UpdatedAt.After(time.Now()) {
		t.Errorf("changed article without updated_at: updated_at = %v, want the import time", a.UpdatedAt)
	}
}

func TestImportBadInputChangesNothing(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "import", "--db", db, writeFile(t, "seed.jsonl", article1+"\n")).want(t, 0)
	before := dump(t, db)
	set := func(field, value string) string {
		re := regexp.MustCompile(`"` + field + `":("[^"]*"|true|false|\d+)`)
		if !re.MatchString(article2) {
			t.Fatalf("no field %s in article2", field)
		}
		return re.ReplaceAllString(article2, `"`+field+`":`+value)
	}
	drop := func(field string) string {
		return regexp.MustCompile(`,?"`+field+`":"[^"]*"`).ReplaceAllString(article2, "")
	}
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"time", []string{set("published_at", `"29 January 2017"`)}, []string{`bad.jsonl:1: field "published_at": not an RFC 3339 time`}},
		{"time without offset", []string{set("published_at", `"2017-01-29T10:00:00"`)}, []string{`bad.jsonl:1: field "published_at": not an RFC 3339 time`}},
		{"json", []string{`{"id":"1",`}, []string{`bad.jsonl:1: invalid JSON`}},
		{"required", []string{drop("title")}, []string{`bad.jsonl:1: field "title": required`}},
		{"section", []string{set("section", `"weather"`)}, []string{`bad.jsonl:1: field "section": unknown section "weather" (known: politics, sport)`}},
		{"relative url", []string{set("url", `"/sport/927792"`)}, []string{`bad.jsonl:1: field "url": not an absolute URL`}},
		{"non-http url", []string{set("url", `"ftp://tass.com/x"`)}, []string{`bad.jsonl:1: field "url": not an http or https URL`}},
		{"duplicate id", []string{article2, article2}, []string{`bad.jsonl:2: field "id": duplicate id "927792" (first on line 1)`}},
		// A good line before bad ones is not written either, and every
		// bad line is listed, one per line.
		{"several", []string{article2, set("published_at", `"yesterday"`), set("url", `"tass.com"`)}, []string{
			"bad.jsonl:2: field \"published_at\": not an RFC 3339 time\nbad.jsonl:3: field \"url\": not an absolute URL\n",
			"pressroom: import " + "BAD" + ": 2 bad lines; nothing written\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "bad.jsonl")
			if err := os.WriteFile(file, []byte(strings.Join(tt.lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			// Errors name the file as given: run from its directory.
			for i, w := range tt.want {
				tt.want[i] = strings.ReplaceAll(w, "BAD", "bad.jsonl")
			}
			t.Chdir(filepath.Dir(file))
			for _, dry := range []bool{false, true} {
				args := []string{"import", "--db", db, "bad.jsonl"}
				if dry {
					args = append(args, "--dry-run")
				}
				r := pressroom(t, "", args...)
				r.want(t, 1, tt.want[:1]...)
				if !dry {
					r.want(t, 1, tt.want...)
				}
				if r.stdout != "" {
					t.Errorf("failed import printed %q on stdout", r.stdout)
				}
				if after := dump(t, db); after != before {
					t.Fatalf("failed import (dry run %v) changed the database:\n%s", dry, cmp.Diff(before, after))
				}
			}
		})
	}
}

func TestImportDryRun(t *testing.T) {
	db := newsroom(t)
	before := dump(t, db)
	r := pressroom(t, article1+"\n"+article2+"\n", "import", "--dry-run", "--db", db, "-")
	r.want(t, 0)
	if r.stdout != "stdin: 2 lines, 2 valid articles (dry run: nothing written)\n" {
		t.Errorf("dry run printed %q", r.stdout)
	}
	if after := dump(t, db); after != before {
		t.Errorf("dry run changed the database:\n%s", cmp.Diff(before, after))
	}
}

func TestImportUsage(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "import", "--db", db).want(t, 2, "pressroom import: want one FILE (or - for standard input), got 0 arguments", "Run 'pressroom help import' for usage.")
	pressroom(t, "", "import", "--db", db, "a", "b").want(t, 2, "got 2 arguments")
	pressroom(t, "", "import", "--db", db, "--bogus", "x").want(t, 2, "pressroom import: flag provided but not defined: -bogus")
	pressroom(t, "", "import", "--db", db, filepath.Join(t.TempDir(), "missing.jsonl")).want(t, 1, "missing.jsonl: no such file or directory")
}

func TestViewsImport(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "import", "--db", db, writeFile(t, "a.jsonl", article1+"\n"+article2+"\n")).want(t, 0)
	views := `{"article_id":"927791","at":"2017-01-29T10:00:00Z","count":42}
{"article_id":"927791","at":"2017-01-29T11:30:00+03:00","count":8}
{"article_id":"927792","at":"2017-01-29T10:00:00Z","count":5}
`
	r := pressroom(t, "", "views", "import", "--db", db, writeFile(t, "views.jsonl", views))
	r.want(t, 0)
	if !strings.HasSuffix(r.stdout, "views.jsonl: 3 view counts imported\n") {
		t.Errorf("views import printed %q", r.stdout)
	}
	st := openDB(t, db)
	from, until := time.Date(2017, 1, 29, 0, 0, 0, 0, time.UTC), time.Date(2017, 1, 30, 0, 0, 0, 0, time.UTC)
	if n, err := st.ArticleViews(context.Background(), "927791", from, until); err != nil || n != 50 {
		t.Errorf("views of 927791 = %d, %v; want 50", n, err)
	}
	top, err := st.MostRead(context.Background(), from, until, 2)
	if err != nil || len(top) != 2 || top[0].ID != "927791" {
		t.Errorf("MostRead = %v, %v", top, err)
	}

	before := dump(t, db)
	bad := `{"article_id":"927792","at":"2017-01-29T12:00:00Z","count":1}
{"article_id":"nope","at":"2017-01-29T10:00:00Z","count":1}
{"article_id":"927791","at":"noon","count":1}
`
	t.Chdir(t.TempDir())
	if err := os.WriteFile("bad-views.jsonl", []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r = pressroom(t, "", "views", "import", "--db", db, "bad-views.jsonl")
	r.want(t, 1, `bad-views.jsonl:2: `, `"nope"`, `bad-views.jsonl:3: field "at": not an RFC 3339 time`,
		"pressroom: views import bad-views.jsonl: 2 bad lines; nothing written")
	if after := dump(t, db); after != before {
		t.Errorf("failed views import changed the database:\n%s", cmp.Diff(before, after))
	}
	pressroom(t, "", "views", "import", "--db", db).want(t, 2, "pressroom views import: want one FILE")
}

func TestEveryCommandHasHelp(t *testing.T) {
	db := filepath.Join(t.TempDir(), "never.db")
	for _, c := range commands() {
		for _, args := range [][]string{
			append(strings.Fields(c.name), "-h", "--db", db),
			append([]string{"--db", db, "help"}, strings.Fields(c.name)...),
		} {
			r := pressroom(t, "", args...)
			r.want(t, 0)
			if !strings.HasPrefix(r.stdout, "Usage: pressroom "+c.name+" ") || !strings.Contains(r.stdout, "Global flags:") {
				t.Errorf("%q: help = %q", args, r.stdout)
			}
			if strings.Count(r.stdout, "\n") < 6 {
				t.Errorf("%q: help explains nothing: %q", args, r.stdout)
			}
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("asking for help touched the database")
	}
	// Flags show a value name; numbers and durations show their default
	// plainly, text defaults quoted.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"feeds", "build"}, []string{"  --feeds-items N\n      N articles per feed (default 50)\n"}},
		{[]string{"subscribers", "add"}, []string{"  --confirm-ttl DURATION\n", "(default 168h0m0s)\n"}},
		{[]string{"serve"}, []string{"  --signup-burst N\n", "(default 5)\n", `(default "127.0.0.1:8080")`}},
		{[]string{"sections", "add"}, []string{"  --description TEXT\n"}},
		{[]string{"subscribers", "remove"}, []string{"  --reason TEXT\n"}},
	} {
		r := pressroom(t, "", append(tc.args, "-h")...)
		r.want(t, 0)
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v -h lacks %q:\n%s", tc.args, w, r.stdout)
			}
		}
	}
}

func TestCommandGroups(t *testing.T) {
	pressroom(t, "", "sections").want(t, 2, "pressroom sections: missing subcommand: one of add, list")
	pressroom(t, "", "sections", "rename").want(t, 2, `pressroom sections: unknown subcommand "rename": one of add, list`)
	pressroom(t, "", "views", "--db", "x").want(t, 2, "pressroom views: missing subcommand: one of import")
	for _, args := range [][]string{{"help", "sections"}, {"sections", "-h"}, {"sections", "--help"}} {
		r := pressroom(t, "", args...)
		r.want(t, 0)
		for _, c := range commands() {
			if strings.HasPrefix(c.name, "sections ") != strings.Contains(r.stdout, c.name) {
				t.Errorf("%q: group help %q and command %q", args, r.stdout, c.name)
			}
		}
	}
}

// started runs pressroom in the background until the returned stop is
// called, and returns the site URL it prints.
func started(t *testing.T, urlLine *regexp.Regexp, args ...string) (base string, out *lockedBuffer, stop func() result) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, strings.NewReader(""), &stdout, &stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for base == "" {
		if m := urlLine.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("%v exited with %d before serving\nstdout:\n%s\nstderr:\n%s", args, code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%v did not print its URL\nstdout:\n%s\nstderr:\n%s", args, stdout.String(), stderr.String())
		}
	}
	stopped := false
	stop = func() result {
		if stopped {
			t.Fatal("stopped twice")
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
		case <-time.After(30 * time.Second):
			t.Fatalf("%v did not stop after cancel", args)
			return result{}
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return base, &stdout, stop
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "import", "--db", db, writeFile(t, "a.jsonl", article1+"\n"+article2+"\n")).want(t, 0)
	base, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", db, "--addr", "127.0.0.1:0", "--log-format", "json")
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base URL %q", base)
	}
	code, body := httpGet(t, base+"/")
	if code != 200 || !strings.Contains(body, "Russian Politics &amp; Diplomacy") || !strings.Contains(body, "Путин и Трамп провели телефонный разговор") {
		t.Errorf("GET / = %d:\n%s", code, body)
	}
	if code, body := httpGet(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q", code, body)
	}
	r := stop()
	r.want(t, 0)
	for _, want := range []string{`"msg":"HTTP request"`, `"path":"/healthz"`, `"msg":"Shutting down"`, `"msg":"Scheduler stopped"`, `"msg":"Stopped"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("serve log lacks %s:\n%s", want, r.stderr)
		}
	}
	// The database was closed cleanly: it opens and is intact.
	if n, err := openDB(t, db).ArticleCount(context.Background()); err != nil || n != 2 {
		t.Errorf("after serve: %d articles, %v", n, err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestServeErrors(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "serve", "--db", db, "--addr", "nonsense").want(t, 1, "pressroom: serve: listen tcp: address nonsense")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	pressroom(t, "", "serve", "--db", db, "--addr", busy.Addr().String()).want(t, 1, "address already in use (choose another address with --addr)")
	pressroom(t, "", "demo", "--addr", busy.Addr().String()).want(t, 1, "address already in use (choose another address with --addr)")
	pressroom(t, "", "serve", "--db", db, "--shutdown-timeout", "0s").want(t, 2, "--shutdown-timeout must be positive")
	pressroom(t, "", "serve", "--db", db, "--addr").want(t, 2, "flag needs an argument: -addr")
	pressroom(t, "", "serve", "--db", db, "--tz", "Moon/Base").want(t, 2, `pressroom serve: --tz: unknown time zone "Moon/Base"`)
}

func TestDemo(t *testing.T) {
	base, out, stop := started(t, regexp.MustCompile(`(http://\S+)/ +sections`), "demo", "--addr", "127.0.0.1:0")
	m := regexp.MustCompile(`Loaded the demo newsroom into (\S+): 8 sections, 64 articles, 467 view counts`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("demo output:\n%s", out.String())
	}
	dbPath := m[1]
	code, body := httpGet(t, base+"/")
	if code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	if n := strings.Count(body, `<section class="section"`); n != 8 {
		t.Errorf("index shows %d sections, want 8", n)
	}
	for _, want := range []string{"Russian Politics &amp; Diplomacy", "Military &amp; Defense", "Press Review", "Top story"} {
		if !strings.Contains(body, want) {
			t.Errorf("demo index lacks %q", want)
		}
	}
	ed := regexp.MustCompile(`Planned the press review archive: (\d{4}-\d\d-\d\d), (\d{4}-\d\d-\d\d)\.`).FindStringSubmatch(out.String())
	if ed == nil {
		t.Fatalf("demo did not plan the archive editions; output:\n%s", out.String())
	}
	if code, body := httpGet(t, base+"/digest/"); code != 200 || !strings.Contains(body, "/digest/"+ed[1]) || !strings.Contains(body, "/digest/"+ed[2]) {
		t.Errorf("GET /digest/ = %d, want links to %s and %s:\n%s", code, ed[1], ed[2], body)
	}
	if code, body := httpGet(t, base+"/digest/"+ed[2]); code != 200 || !strings.Contains(body, `href="https://news.example.org/`) {
		t.Errorf("GET /digest/%s = %d, want an edition linking its articles:\n%.2000s", ed[2], code, body)
	}
	if code, body := httpGet(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q", code, body)
	}
	for _, u := range demoURLs() {
		if !strings.Contains(out.String(), base+u[0]) {
			t.Errorf("demo did not print %s", base+u[0])
		}
		if code, _ := httpGet(t, base+u[0]); code != 200 {
			t.Errorf("demo URL %s answers %d", u[0], code)
		}
	}
	stop().want(t, 0)
	if _, err := os.Stat(filepath.Dir(dbPath)); !os.IsNotExist(err) {
		t.Errorf("demo left its directory %s behind", filepath.Dir(dbPath))
	}
}

// TestDemoData loads the embedded demo data as the demo does and checks
// what the issue asks of it.
func TestDemoData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "demo.db")
	db := openDB(t, path)
	now := time.Date(2030, 6, 15, 9, 30, 0, 0, time.UTC)
	sum, err := loadDemo(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sum, "8 sections, 64 articles, 467 view counts") {
		t.Errorf("summary %q", sum)
	}
	secs, err := db.Sections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, s := range secs {
		titles = append(titles, s.Slug+"="+s.Title)
	}
	want := "politics=Russian Politics & Diplomacy world=World economy=Business & Economy defense=Military & Defense " +
		"science=Science & Space society=Society & Culture sport=Sport pressreview=Press Review"
	if got := strings.Join(titles, " "); got != want {
		t.Errorf("sections = %s\nwant %s", got, want)
	}
	all, err := db.LatestArticles(ctx, "", 1000, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 64 {
		t.Fatalf("%d articles visible at now, want 64 (none in the future)", len(all))
	}
	newest := all[0].PublishedAt
	if newest.After(now) || now.Sub(newest) > 24*time.Hour {
		t.Errorf("newest article at %v, want within the 24 hours before %v", newest, now)
	}
	days := map[string]bool{}
	var images, related, tops, cyrillic int
	perSection := map[string]int{}
	for _, a := range all {
		days[a.PublishedAt.In(time.FixedZone("MSK", 3*3600)).Format("2006-01-02")] = true
		perSection[a.Section]++
		if a.Image != nil {
			images++
		}
		if len(a.Related) > 0 {
			related++
		}
		if a.TopStory {
			tops++
		}
		if regexp.MustCompile(`\p{Cyrillic}`).MatchString(a.Title + a.Lead + a.BodyHTML) {
			cyrillic++
		}
	}
	if len(days) != 3 || images == 0 || related == 0 || tops == 0 || cyrillic == 0 || len(perSection) != 8 {
		t.Errorf("demo articles: %d days, %d with images, %d with related links, %d top stories, %d with Cyrillic, %d sections",
			len(days), images, related, tops, cyrillic, len(perSection))
	}
	read, err := db.MostRead(ctx, now.Add(-24*time.Hour), now, 5)
	if err != nil || len(read) == 0 {
		t.Errorf("most read in the last 24 hours: %v, %v", read, err)
	}
}

func TestProgressBarOnlyOnTerminal(t *testing.T) {
	data := strings.Repeat(article2+"\n", 100)
	var plain lockedBuffer
	r, finish := progressReader(strings.NewReader(data), int64(len(data)), "importing x", &plain, false)
	if b, _ := io.ReadAll(r); string(b) != data {
		t.Fatal("reader without a terminal changed the data")
	}
	finish()
	if plain.String() != "" {
		t.Errorf("progress written without a terminal: %q", plain.String())
	}
	var tty lockedBuffer
	r, finish = progressReader(strings.NewReader(data), int64(len(data)), "importing x", &tty, true)
	sc := bufio.NewScanner(r)
	lines := 0
	for sc.Scan() {
		lines++
	}
	finish()
	if lines != 100 {
		t.Errorf("read %d lines through the progress bar, want 100", lines)
	}
	if !strings.Contains(tty.String(), "importing x") || !strings.Contains(tty.String(), "% |") {
		t.Errorf("progress bar output %q", tty.String())
	}
}

func TestImportManyBadLines(t *testing.T) {
	db := newsroom(t)
	before := dump(t, db)
	t.Chdir(t.TempDir())
	var b strings.Builder
	for range 1005 {
		b.WriteString("not json\n")
	}
	if err := os.WriteFile("junk.jsonl", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := pressroom(t, "", "import", "--db", db, "junk.jsonl")
	r.want(t, 1, "junk.jsonl:1: invalid JSON", "junk.jsonl:1000: invalid JSON", "junk.jsonl: 5 more bad lines not listed",
		"pressroom: import junk.jsonl: 1000 bad lines listed and more; nothing written")
	if strings.Contains(r.stderr, "junk.jsonl:1001:") {
		t.Error("more than 1000 bad lines listed")
	}
	if after := dump(t, db); after != before {
		t.Error("failed import changed the database")
	}
}

// TestServeArchiveUsesDigestFlags: the web archive is rendered with serve's
// own --newsroom and --postal-address, not only their environment
// variables.
func TestServeArchiveUsesDigestFlags(t *testing.T) {
	base, out, stop := started(t, regexp.MustCompile(`(http://\S+)/ +sections`), "demo", "--addr", "127.0.0.1:0",
		"--newsroom", "Vestnik Wire", "--postal-address", "12 Example Lane, Springfield")
	ed := regexp.MustCompile(`Planned the press review archive: \S+, (\d{4}-\d\d-\d\d)\.`).FindStringSubmatch(out.String())
	if ed == nil {
		t.Fatalf("demo did not plan the archive editions; output:\n%s", out.String())
	}
	code, body := httpGet(t, base+"/digest/"+ed[1])
	if code != 200 || !strings.Contains(body, "Vestnik Wire") || !strings.Contains(body, "12 Example Lane, Springfield") {
		t.Errorf("GET /digest/%s = %d, want the newsroom and postal address from the flags:\n%.3000s", ed[1], code, body)
	}
	stop().want(t, 0)
}
