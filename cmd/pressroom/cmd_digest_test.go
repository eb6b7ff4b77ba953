package main

import (
	"bytes"
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
