package main

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/news"
)

var confirmLinkRE = regexp.MustCompile(`https?://\S+/confirm\?t=(\S+)`)

func TestSubscribersAdd(t *testing.T) {
	db := newsroom(t)
	r := pressroom(t, "", "subscribers", "add", "--db", db, "--base-url", "https://news.example", "Reader@Example.com", "--sections", "sport, politics", "--name", "Анна")
	r.want(t, 0)
	if !strings.Contains(r.stdout, "added subscriber 1 Reader@Example.com: pending, sections politics,sport") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	m := confirmLinkRE.FindStringSubmatch(r.stdout)
	if m == nil || !strings.HasPrefix(m[0], "https://news.example/confirm?t=") {
		t.Fatalf("no confirmation link on https://news.example in:\n%s", r.stdout)
	}
	st := openDB(t, db)
	secret, err := st.LinkSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := news.NewTokenSigner(secret)
	if id, err := signer.Verify(m[1], news.PurposeConfirm, time.Now()); err != nil || id != 1 {
		t.Errorf("printed link verifies as %d, %v", id, err)
	}
	if _, err := signer.Verify(m[1], news.PurposeConfirm, time.Now().Add(7*24*time.Hour+time.Minute)); err == nil {
		t.Error("printed link does not expire after 7 days")
	}
	st.Close()

	r = pressroom(t, "", "subscribers", "add", "--db", db, "x@example.com", "--active")
	r.want(t, 0)
	if strings.Contains(r.stdout, "confirmation link") || !strings.Contains(r.stdout, "active, sections all") {
		t.Errorf("--active stdout:\n%s", r.stdout)
	}
	// With --secret the link is signed with that secret instead.
	r = pressroom(t, "", "subscribers", "add", "--db", db, "--secret", "an operator-chosen secret", "y@example.com")
	r.want(t, 0)
	own, _ := news.NewTokenSigner([]byte("an operator-chosen secret"))
	if m := confirmLinkRE.FindStringSubmatch(r.stdout); m == nil {
		t.Errorf("no link:\n%s", r.stdout)
	} else if id, err := own.Verify(m[1], news.PurposeConfirm, time.Now()); err != nil || id != 3 {
		t.Errorf("--secret link verifies as %d, %v", id, err)
	}

	before := dump(t, db)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"X@EXAMPLE.COM"}, 1, "X@EXAMPLE.COM is already on the list"},
		{[]string{"Name <n@example.com>"}, 2, `field "email": must be a single plain address`},
		{[]string{"n@example.com\r\nBcc: v@example.com"}, 2, "line breaks"},
		{[]string{"n@example.com", "--sections", "weather"}, 1, `unknown section "weather" (known: politics, sport)`},
		{[]string{"n@example.com", "--name", "a\nb"}, 2, "--name"},
		{[]string{}, 2, "want one EMAIL"},
		{[]string{"n@example.com", "--secret", "short"}, 2, "--secret: shorter than 16 bytes"},
	} {
		args := append([]string{"subscribers", "add", "--db", db}, tc.args...)
		r := pressroom(t, "", args...)
		r.want(t, tc.code, tc.want)
	}
	if after := dump(t, db); after != before {
		t.Error("failed adds changed the database")
	}
}

func TestSubscribersImportExport(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "subscribers", "add", "--db", db, "old@example.com", "--active").want(t, 0)
	before := dump(t, db)

	bad := writeFile(t, "bad.csv", "\ufeffemail,name,sections,status\n"+
		"a@example.com,Anna,\"politics,sport\",active\n"+ // 2: fine
		"not-an-address,,,active\n"+ // 3
		"b@example.com,,weather,active\n"+ // 4
		"c@example.com,,,gone\n"+ // 5
		"A@EXAMPLE.COM,,,active\n"+ // 6: duplicate of 2
		"old@example.com,,,pending\n"+ // 7: already on the list
		"d@example.com,,,\n"+ // 8: no status
		"e@example.com,\"Eve\r\nBcc: x@example.com\",,active\n"+ // 9: multi-line cell
		"f@example.com,,,active,extra\n") // 11: too many fields
	r := pressroom(t, "", "subscribers", "import", "--db", db, bad)
	r.want(t, 1,
		bad+`:3: field "email": must be a single plain address`,
		bad+`:4: field "sections": unknown section "weather" (known: politics, sport)`,
		bad+`:5: field "status": unknown status "gone"`,
		bad+`:6: field "email": A@EXAMPLE.COM is also on line 2`,
		bad+`:7: field "email": already on the list`,
		bad+`:8: field "status": required`,
		bad+`:9: field "name": must not contain control characters or line breaks`,
		bad+`:11: wrong number of fields`,
		"8 bad lines; nothing written")
	if strings.Contains(r.stderr, bad+":2:") {
		t.Errorf("the good line was reported:\n%s", r.stderr)
	}
	for _, f := range []string{
		writeFile(t, "empty.csv", ""),
		writeFile(t, "header.csv", "mail,name\nx@example.com,X\n"),
		writeFile(t, "quote.csv", "email,status\n\"x@example.com,active\n"),
	} {
		pressroom(t, "", "subscribers", "import", "--db", db, f).want(t, 1, f+":")
	}
	if after := dump(t, db); after != before {
		t.Fatal("failed imports changed the database")
	}

	good := writeFile(t, "good.csv", "email,name,sections,status\n"+
		"a@example.com,Anna,\"politics,sport\",active\n"+
		"b@example.com,\"=HYPERLINK(\"\"http://evil\"\")\",,unsubscribed\n"+
		"c@example.com,Карл,sport,pending\n")
	r = pressroom(t, "", "subscribers", "import", "--db", db, good)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "3 subscribers imported") {
		t.Errorf("stdout: %s", r.stdout)
	}
	r = pressroom(t, "", "subscribers", "show", "--db", db, "A@example.com")
	r.want(t, 0)
	if !regexp.MustCompile(`subscribe\s+import\s+-\s+-\s+-\s+imported as active; sections: politics, sport`).MatchString(r.stdout) {
		t.Errorf("show after import:\n%s", r.stdout)
	}

	// list filters
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"old@example.com", "a@example.com", "b@example.com", "c@example.com"}},
		{[]string{"--status", "active"}, []string{"old@example.com", "a@example.com"}},
		{[]string{"--section", "politics"}, []string{"old@example.com", "a@example.com", "b@example.com"}},
		{[]string{"--status", "pending", "--section", "sport"}, []string{"c@example.com"}},
	} {
		r := pressroom(t, "", append([]string{"subscribers", "list", "--db", db}, tc.args...)...)
		r.want(t, 0)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
			got = append(got, strings.Fields(line)[1])
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("list %v (-want +got):\n%s", tc.args, diff)
		}
	}
	pressroom(t, "", "subscribers", "list", "--db", db, "--status", "gone").want(t, 2, `unknown status "gone"`)
	pressroom(t, "", "subscribers", "list", "--db", db, "--section", "weather").want(t, 2, `unknown section "weather"`)

	// export -> import into a fresh newsroom -> the same export.
	st := openDB(t, db)
	if _, _, err := st.UpdatePreferences(context.Background(), 2, news.Preferences{Sections: []string{"sport"}, DeliveryHour: 6, TimeZone: "Asia/Tokyo", Paused: true},
		news.ConsentEvent{At: time.Now(), Source: news.SourceWeb}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	exp := pressroom(t, "", "subscribers", "export", "--db", db)
	exp.want(t, 0)
	if !strings.Contains(exp.stdout, `'=HYPERLINK`) || !strings.Contains(exp.stdout, "a@example.com,Anna,sport,active,6,Asia/Tokyo,true,") {
		t.Errorf("export:\n%s", exp.stdout)
	}
	fresh := newsroom(t)
	pressroom(t, "", "subscribers", "import", "--db", fresh, writeFile(t, "exported.csv", exp.stdout)).want(t, 0)
	again := pressroom(t, "", "subscribers", "export", "--db", fresh)
	if diff := cmp.Diff(exp.stdout, again.stdout); diff != "" {
		t.Errorf("export does not survive import (-first +second):\n%s", diff)
	}
	r = pressroom(t, "", "subscribers", "show", "--db", fresh, "b@example.com")
	if !strings.Contains(r.stdout, `name:          =HYPERLINK("http://evil")`) {
		t.Errorf("formula cell not restored on import:\n%s", r.stdout)
	}
}

func TestSubscribersRemoveErases(t *testing.T) {
	db := newsroom(t)
	pressroom(t, "", "subscribers", "add", "--db", db, "gone.reader@example.com", "--name", "Gone Reader", "--sections", "sport", "--active").want(t, 0)
	pressroom(t, "", "subscribers", "add", "--db", db, "stays@example.com").want(t, 0)
	r := pressroom(t, "", "subscribers", "remove", "--db", db, "GONE.reader@example.com", "--reason", "ticket 12")
	r.want(t, 0)
	if !strings.Contains(r.stdout, "erased subscriber 1: address and name removed; consent log kept (2 entries)") {
		t.Errorf("stdout: %s", r.stdout)
	}
	d := dump(t, db)
	for _, s := range []string{"gone.reader", "Gone Reader"} {
		if strings.Contains(d, s) {
			t.Errorf("database still holds %q after erasure:\n%s", s, d)
		}
	}
	if !strings.Contains(d, "address erased on request: ticket 12") || !strings.Contains(d, "added as active (--active); sections: sport") {
		t.Errorf("consent log not kept:\n%s", d)
	}
	pressroom(t, "", "subscribers", "show", "--db", db, "gone.reader@example.com").want(t, 1, `no subscriber "gone.reader@example.com"`)
	pressroom(t, "", "subscribers", "remove", "--db", db, "gone.reader@example.com").want(t, 1, "no subscriber")
	r = pressroom(t, "", "subscribers", "list", "--db", db)
	if strings.Contains(r.stdout, "gone") || !strings.Contains(r.stdout, "stays@example.com") {
		t.Errorf("list after erasure:\n%s", r.stdout)
	}
}

// TestServeSubscriptions runs the real 'pressroom serve' and goes through
// sign-up, the confirmation email in the --outbox folder, confirmation
// and one-click unsubscribe over HTTP.
func TestServeSubscriptions(t *testing.T) {
	db := newsroom(t)
	outbox := filepath.Join(t.TempDir(), "outbox")
	base, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", db, "--addr", "127.0.0.1:0",
		"--outbox", outbox, "--from", "Пресс-служба <digest@news.example>", "--confirm-ttl", "48h", "--secret", "serve test secret, long enough")

	form := func(vals url.Values) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, base+"/subscribe", strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		return res
	}
	code, page := httpGet(t, base+"/subscribe")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if code != 200 || m == nil || !strings.Contains(page, `value="sport"`) {
		t.Fatalf("GET /subscribe = %d:\n%s", code, page)
	}
	if res := form(url.Values{"email": {"reader@example.com"}, "sections": {"sport"}, "csrf": {m[1]}}); res.StatusCode != 200 {
		t.Fatalf("POST /subscribe = %d", res.StatusCode)
	}
	// The email is sent in the background: wait for it.
	var files []string
	for deadline := time.Now().Add(20 * time.Second); len(files) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		files, _ = filepath.Glob(filepath.Join(outbox, "[^.]*.eml")) // not the outbox's .tmp-* files
	}
	if len(files) != 1 {
		t.Fatalf("outbox %s holds %v, want one message", outbox, files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if from, err := msg.Header.AddressList("From"); err != nil || from[0].Name != "Пресс-служба" || from[0].Address != "digest@news.example" {
		t.Errorf("From = %v, %v", from, err)
	}
	mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type %s", mt)
	}
	part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart() // decodes quoted-printable
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(part)
	link := regexp.MustCompile(`http://\S+/confirm\?t=\S+`).FindString(string(text))
	if !strings.HasPrefix(link, base+"/confirm?t=") || !strings.Contains(string(text), "works for 2 days") {
		t.Fatalf("confirmation text part:\n%s", text)
	}
	signer, _ := news.NewTokenSigner([]byte("serve test secret, long enough"))
	if _, err := signer.Verify(strings.TrimPrefix(link, base+"/confirm?t="), news.PurposeConfirm, time.Now()); err != nil {
		t.Errorf("link not signed with --secret: %v", err)
	}

	req, _ := http.NewRequest(http.MethodPost, link, nil)
	req.Header.Set("Origin", base)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("POST confirm = %v, %v", res, err)
	}
	res.Body.Close()
	// One-click unsubscribe, as a mail provider sends it.
	unsub := signer.URL(base, 1, news.PurposeUnsubscribe, time.Time{})
	res, err = http.Post(unsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("one-click POST = %v, %v", res, err)
	}
	res.Body.Close()
	stop().want(t, 0)

	r := pressroom(t, "", "subscribers", "show", "--db", db, "reader@example.com")
	r.want(t, 0)
	for _, want := range []string{"status:        unsubscribed", "subscribe    web", "confirm      web", "unsubscribe  one-click", "127.0.0.1", "Go-http-client"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestLinkSigner: --secret wins over the database's generated secret, so
// that serve, digest send and subscribers add all sign alike.
func TestLinkSigner(t *testing.T) {
	path := newsroom(t)
	db := openDB(t, path)
	ctx := context.Background()
	e := &env{cfg: Config{}}
	fromDB, err := linkSigner(ctx, e, db)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := db.LinkSecret(ctx)
	want, _ := news.NewTokenSigner(stored)
	if tok := fromDB.Sign(5, news.PurposeUnsubscribe, time.Time{}); tok != want.Sign(5, news.PurposeUnsubscribe, time.Time{}) {
		t.Error("without --secret the signer does not use the database's secret")
	}
	e.cfg.Secret = "a secret given on the command line"
	given, err := linkSigner(ctx, e, db)
	if err != nil {
		t.Fatal(err)
	}
	own, _ := news.NewTokenSigner([]byte(e.cfg.Secret))
	if tok := given.Sign(5, news.PurposeUnsubscribe, time.Time{}); tok != own.Sign(5, news.PurposeUnsubscribe, time.Time{}) || tok == fromDB.Sign(5, news.PurposeUnsubscribe, time.Time{}) {
		t.Error("--secret is not the signing key")
	}
}
