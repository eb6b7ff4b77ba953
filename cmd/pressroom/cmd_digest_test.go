package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// digestNewsroom is a newsroom with two articles in yesterday's edition
// window (yesterday in Europe/Moscow, the default zone, whose cutoff has
// passed whenever the test runs) and two active subscribers: one for
// politics, one for sport (which has no article, so is skipped).
func digestNewsroom(t *testing.T) (db, date string) {
	t.Helper()
	db = newsroom(t)
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	y, m, d := time.Now().In(msk).Date()
	day := time.Date(y, m, d-1, 0, 0, 0, 0, msk)
	date = day.Format("2006-01-02")
	pub := func(h int) string { return day.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	lines := `{"id":"1","url":"https://tass.com/politics/1","section":"politics","title":"Путин и Трамп провели телефонный разговор","lead":"The presidents spoke for an hour.","body_html":"<p>x</p>","dateline":"MOSCOW","published_at":"` + pub(6) + `","top_story":true}
{"id":"2","url":"https://tass.com/politics/2","section":"politics","title":"Duma passes the budget","body_html":"<p>x</p>","published_at":"` + pub(-2) + `"}
{"id":"3","url":"https://tass.com/politics/3","section":"politics","title":"Too late for this edition","body_html":"<p>x</p>","published_at":"` + pub(9) + `"}
`
	pressroom(t, "", "import", "--db", db, writeFile(t, "a.jsonl", lines)).want(t, 0)
	pressroom(t, "", "subscribers", "add", "--db", db, "--active", "--sections", "politics", "--name", "Анна", "anna@example.com").want(t, 0)
	pressroom(t, "", "subscribers", "add", "--db", db, "--active", "--sections", "sport", "bob@example.com").want(t, 0)
	return db, date
}

func TestDigestPlan(t *testing.T) {
	db, date := digestNewsroom(t)
	r := pressroom(t, "", "digest", "plan", "--db", db, "--date", date)
	r.want(t, 0)
	for _, want := range []string{
		"edition " + date + " planned\n",
		"articles: 2\n",
		"  Russian Politics & Diplomacy (politics): 2\n",
		"TOP ", "Путин и Трамп провели телефонный разговор",
		"  Sport (sport): 0\n",
		"recipients: 1 queued, 1 skipped\n",
		"  bob@example.com: no articles in the chosen sections (sport)\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("digest plan output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Too late") {
		t.Errorf("digest plan includes an article after the cutoff:\n%s", r.stdout)
	}
	if i, j := strings.Index(r.stdout, "Путин"), strings.Index(r.stdout, "Duma"); i < 0 || j < 0 || i > j {
		t.Errorf("the top story is not first:\n%s", r.stdout)
	}

	before := dump(t, db)
	again := pressroom(t, "", "digest", "plan", "--db", db, "--date", date)
	again.want(t, 0)
	if !strings.Contains(again.stdout, "was already planned") {
		t.Errorf("second plan:\n%s", again.stdout)
	}
	if dump(t, db) != before {
		t.Errorf("planning again changed the database")
	}
}

func TestDigestBadInput(t *testing.T) {
	db, date := digestNewsroom(t)
	pressroom(t, "", "digest", "plan", "--db", db, "--date", date).want(t, 0)
	before := dump(t, db)
	far := time.Now().AddDate(0, 0, 5).Format("2006-01-02")
	out := filepath.Join(t.TempDir(), "preview.html")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"digest", "plan", "--date", "29.01.2017"}, 2, `--date: "29.01.2017" is not a date in the form YYYY-MM-DD`},
		{[]string{"digest", "plan"}, 2, "--date YYYY-MM-DD is required"},
		{[]string{"digest", "plan", "--date", far}, 1, "is after tomorrow"},
		{[]string{"digest", "plan", "--date", date, "--cutoff", "8am"}, 2, `--cutoff "8am"`},
		{[]string{"digest", "preview", "--date", date, "--email", "nobody@example.com", "--out", out}, 1, "no such subscriber"},
		{[]string{"digest", "preview", "--date", date, "--email", "bob@example.com", "--out", out}, 1, "bob@example.com gets no email"},
		{[]string{"digest", "preview", "--date", date, "--format", "pdf", "--out", out}, 2, `--format "pdf"`},
		{[]string{"digest", "preview", "--date", far, "--out", out}, 1, "is after tomorrow"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			pressroom(t, "", append(tc.args, "--db", db)...).want(t, tc.code, tc.want)
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed command wrote %s", out)
			}
		})
	}
	if dump(t, db) != before {
		t.Errorf("bad input changed the database")
	}
}

func TestDigestPreview(t *testing.T) {
	db, date := digestNewsroom(t)
	// Preview works before planning (a draft) and writes nothing.
	before := dump(t, db)
	r := pressroom(t, "", "digest", "preview", "--db", db, "--date", date, "--format", "text")
	r.want(t, 0)
	if !strings.Contains(r.stdout, "\nhttps://tass.com/politics/1\n") || !strings.Contains(r.stdout, "web archive") {
		t.Errorf("all-sections text preview:\n%s", r.stdout)
	}
	if dump(t, db) != before {
		t.Errorf("preview changed the database")
	}
	pressroom(t, "", "digest", "plan", "--db", db, "--date", date).want(t, 0)

	out := filepath.Join(t.TempDir(), "anna.eml")
	pressroom(t, "", "digest", "preview", "--db", db, "--base-url", "https://news.example", "--date", date,
		"--email", "ANNA@example.com", "--format", "eml", "--out", out, "--postal-address", "1 Press St, Moscow").want(t, 0)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || !strings.HasSuffix(subject, ": Путин и Трамп провели телефонный разговор") || !strings.HasPrefix(subject, "Press Review, ") {
		t.Errorf("Subject = %q (%v)", subject, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "anna@example.com" || to[0].Name != "Анна" {
		t.Errorf("To = %v (%v)", to, err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	parts := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if cp["charset"] != "UTF-8" && cp["charset"] != "utf-8" {
			t.Errorf("%s charset %q", ct, cp["charset"])
		}
		b, err := io.ReadAll(p) // multipart.Reader decodes quoted-printable; base64 is decoded below
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			b = decodeBase64(t, b)
		}
		parts[ct] = string(b)
	}
	text, html := parts["text/plain"], parts["text/html"]
	for _, want := range []string{"https://tass.com/politics/1", "https://news.example/unsubscribe?t=", "https://news.example/preferences?t=", "https://news.example/digest/" + date, "1 Press St, Moscow"} {
		if !strings.Contains(text, want) || !strings.Contains(html, want) {
			t.Errorf("preview parts lack %q", want)
		}
	}
	if u := msg.Header.Get("List-Unsubscribe"); !strings.Contains(u, "https://news.example/unsubscribe?t=") {
		t.Errorf("List-Unsubscribe = %q", u)
	}
}

func decodeBase64(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	return out
}

// TestDigestPostalAddressSources: the postal address every digest shows
// comes from --postal-address, else PRESSROOM_POSTAL_ADDRESS, else the
// configuration file's postal-address key; without any, the digest says
// it is not configured.
func TestDigestPostalAddressSources(t *testing.T) {
	db, date := digestNewsroom(t)
	file := writeFile(t, "pressroom.toml", "newsroom = \"Vestnik Wire\"\npostal-address = \"7 File Street, Kazan\"\n")
	preview := func(args ...string) string {
		t.Helper()
		r := pressroom(t, "", append([]string{"digest", "preview", "--db", db, "--date", date, "--format", "text"}, args...)...)
		r.want(t, 0)
		return r.stdout
	}
	if out := preview(); !strings.Contains(out, "Postal address not configured") {
		t.Errorf("without an address the digest does not say so:\n%s", out)
	}
	if out := preview("--config", file); !strings.Contains(out, "Vestnik Wire, 7 File Street, Kazan\n") {
		t.Errorf("the file's newsroom and postal address are not in the digest:\n%s", out)
	}
	t.Setenv("PRESSROOM_POSTAL_ADDRESS", "9 Env Avenue, Omsk")
	if out := preview("--config", file); !strings.Contains(out, ", 9 Env Avenue, Omsk\n") {
		t.Errorf("the environment does not win over the file:\n%s", out)
	}
	if out := preview("--config", file, "--postal-address", "1 Flag Lane, Tver"); !strings.Contains(out, ", 1 Flag Lane, Tver\n") {
		t.Errorf("the flag does not win over the environment:\n%s", out)
	}
}

// TestDigestByHandCutoffFromCron: digest plan and digest send run by hand
// resolve the cutoff as serve does. With a daily slot at 07:00 (flag,
// environment or configuration file) and no --cutoff, the edition's
// cutoff is 07:00, so an article published at 07:30 is left for the next
// edition, where the 08:00 of the old hand-run default would have
// included it.
func TestDigestByHandCutoffFromCron(t *testing.T) {
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	const cron = "0 7 * * *"
	for _, tc := range []struct {
		name string
		args func(t *testing.T) []string // besides the command and --db, --date
	}{
		{"plan flag", func(t *testing.T) []string { return []string{"digest", "plan", "--digest-cron", cron} }},
		{"plan environment", func(t *testing.T) []string {
			t.Setenv("PRESSROOM_DIGEST_CRON", cron)
			return []string{"digest", "plan"}
		}},
		{"plan config file", func(t *testing.T) []string {
			return []string{"digest", "plan", "--config", writeFile(t, "pressroom.toml", "digest-cron = \""+cron+"\"\n")}
		}},
		{"send config file", func(t *testing.T) []string {
			return []string{"digest", "send", "--outbox", t.TempDir(), "--config", writeFile(t, "pressroom.toml", "digest-cron = \""+cron+"\"\n")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, date := digestNewsroom(t)
			day, err := time.ParseInLocation("2006-01-02", date, msk)
			if err != nil {
				t.Fatal(err)
			}
			late := day.Add(7*time.Hour + 30*time.Minute).Format(time.RFC3339)
			pressroom(t, "", "import", "--db", db, writeFile(t, "late.jsonl",
				`{"id":"4","url":"https://tass.com/politics/4","section":"politics","title":"Published at half past seven","body_html":"<p>x</p>","published_at":"`+late+`"}`+"\n")).want(t, 0)

			r := pressroom(t, "", append(tc.args(t), "--db", db, "--date", date)...)
			r.want(t, 0)
			if !strings.Contains(r.stderr, "Digest cutoff is the time of the daily slot") {
				t.Errorf("the log does not say where the cutoff came from:\n%s", r.stderr)
			}
			ed, err := openDB(t, db).EditionByDate(context.Background(), date)
			if err != nil {
				t.Fatal(err)
			}
			if want := day.Add(7 * time.Hour); !ed.Cutoff.Equal(want) {
				t.Errorf("edition cutoff %v, want the slot's %v", ed.Cutoff.In(msk), want)
			}
			var titles []string
			for _, s := range ed.Sections {
				for _, a := range s.Articles {
					titles = append(titles, a.Title)
				}
			}
			want := []string{"Путин и Трамп провели телефонный разговор", "Duma passes the budget"}
			if diff := cmp.Diff(want, titles); diff != "" {
				t.Errorf("edition articles (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDigestByHandRefusesCutoffAfterSlot: a --cutoff later than the
// configured slot is refused by the hand-run commands with serve's
// message, exit status 2, and the database as it was.
func TestDigestByHandRefusesCutoffAfterSlot(t *testing.T) {
	db, date := digestNewsroom(t)
	before := dump(t, db)
	conf := writeFile(t, "pressroom.toml", "digest-cron = \"0 7 * * *\"\n")
	const msg = `--cutoff 09:00 is later than the digest slot at 07:00 (--digest-cron "0 7 * * *")`
	for _, args := range [][]string{
		{"digest", "plan", "--cutoff", "09:00", "--config", conf},
		{"digest", "send", "--cutoff", "09:00", "--config", conf, "--outbox", t.TempDir()},
		{"digest", "preview", "--cutoff", "09:00", "--config", conf},
		{"digest", "plan", "--cutoff", "09:00", "--digest-cron", "0 7 * * *"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			pressroom(t, "", append(args, "--db", db, "--date", date)...).want(t, 2, msg)
		})
	}
	t.Run("from the environment", func(t *testing.T) {
		t.Setenv("PRESSROOM_DIGEST_CRON", "0 7 * * *")
		t.Setenv("PRESSROOM_DIGEST_CUTOFF", "09:00")
		pressroom(t, "", "digest", "plan", "--db", db, "--date", date).want(t, 2, msg)
	})
	if dump(t, db) != before {
		t.Errorf("a refused command changed the database")
	}
	// At the slot is fine.
	pressroom(t, "", "digest", "plan", "--db", db, "--date", date, "--cutoff", "07:00", "--config", conf).want(t, 0)
}
