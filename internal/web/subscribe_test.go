package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/mail"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/web"
)

// checkPage asserts what every subscription page must have.
func checkPage(t *testing.T, what string, rec interface {
	Result() *http.Response
}, wantStatus int, wantText ...string) string {
	t.Helper()
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	body := string(b)
	if res.StatusCode != wantStatus {
		t.Errorf("%s: status %d, want %d\n%s", what, res.StatusCode, wantStatus, body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("%s: Content-Security-Policy = %q", what, csp)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type = %q", what, ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, cc)
	}
	if len(res.Cookies()) > 0 {
		t.Errorf("%s: sets cookies %v", what, res.Cookies())
	}
	for _, bad := range []string{"goroutine ", "panic", ".go:", "runtime error"} {
		if strings.Contains(body, bad) {
			t.Errorf("%s: body contains %q:\n%s", what, bad, body)
		}
	}
	for _, w := range wantText {
		if !strings.Contains(body, w) {
			t.Errorf("%s: body lacks %q:\n%s", what, w, body)
		}
	}
	return body
}

func TestSubscribeFormPage(t *testing.T) {
	h := newHarness(t, "", nil)
	body := checkPage(t, "GET /subscribe", h.get("/subscribe"), http.StatusOK,
		`<form method="post" action="/subscribe"`, `<label for="email">Email address</label>`,
		`name="sections" value="politics"`, "Russian Politics &amp; Diplomacy", `name="sections" value="sport"`, `name="csrf"`)
	if strings.Contains(body, "checked") {
		t.Error("a fresh form has ticked boxes")
	}
}

func TestSignUpSendsConfirmation(t *testing.T) {
	h := newHarness(t, "https://news.example", nil)
	rec := h.signUp("  Reader@Example.COM ", "Иван Петров", "world", "politics")
	checkPage(t, "POST /subscribe", rec, http.StatusOK, "Check your inbox", "Reader@Example.COM", "7 days")

	s := h.subscriber("reader@example.com")
	if s.Email != "Reader@Example.COM" || s.Name != "Иван Петров" || s.Status != news.StatusPending || !cmp.Equal(s.Sections, []string{"politics", "world"}) {
		t.Errorf("stored subscriber = %+v", s)
	}
	log := h.consentLog(s.ID)
	if len(log) != 1 || log[0].Action != news.ConsentSubscribe || log[0].Source != news.SourceWeb || log[0].IP != "192.0.2.1" ||
		log[0].UserAgent != "HarnessBrowser/1.0" || log[0].FormVersion != "subscribe@2026-11" || !log[0].At.Equal(h.clock.Now()) {
		t.Errorf("consent log = %+v", log)
	}

	mails := h.mails()
	if len(mails) != 1 {
		t.Fatalf("outbox has %d messages, want 1", len(mails))
	}
	m := mails[0]
	to, err := m.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "Reader@Example.COM" || to[0].Name != "Иван Петров" {
		t.Errorf("To = %v, %v", to, err)
	}
	from, err := m.Header.AddressList("From")
	if err != nil || from[0].Address != "digest@news.example" || from[0].Name != "Pressroom Дайджест" {
		t.Errorf("From = %v, %v", from, err)
	}
	if subj := decodeHeader(t, m.Header.Get("Subject")); subj != "Confirm your subscription to the Pressroom press review" {
		t.Errorf("Subject = %q", subj)
	}
	if !strings.HasSuffix(m.Header.Get("Message-Id"), "@news.example>") {
		t.Errorf("Message-Id = %q", m.Header.Get("Message-Id"))
	}
	if !strings.Contains(m.Text, "Russian Politics & Diplomacy, World") || !strings.Contains(m.HTML, "Confirm subscription</a>") {
		t.Errorf("body:\n%s\n%s", m.Text, m.HTML)
	}
	link := m.link(t)
	if !strings.HasPrefix(link, "https://news.example/confirm?t=") {
		t.Fatalf("link %q does not use the base URL", link)
	}
	if !strings.Contains(m.HTML, `href="`+link+`"`) {
		t.Errorf("HTML part lacks the same link %q", link)
	}
	id, err := h.signer.Verify(strings.TrimPrefix(link, "https://news.example/confirm?t="), news.PurposeConfirm, h.clock.Now())
	if err != nil || id != s.ID {
		t.Errorf("link token verifies as %d, %v; want %d", id, err, s.ID)
	}
}

func decodeHeader(t *testing.T, s string) string {
	t.Helper()
	out, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSignUpDoesNotRevealSubscribers posts the form for addresses in every
// state and requires the same answer, byte for byte apart from the
// address itself.
func TestSignUpDoesNotRevealSubscribers(t *testing.T) {
	h := newHarness(t, "", func(o *web.SubscribeOptions) { o.SignupBurst = 100 })
	ctx := context.Background()
	ev := news.ConsentEvent{At: h.clock.Now(), Source: news.SourceCLI}
	for _, tc := range []struct {
		email  string
		status news.SubscriberStatus
	}{
		{"pending@example.com", news.StatusPending},
		{"active@example.com", news.StatusActive},
		{"left@example.com", news.StatusUnsubscribed},
		{"bounced@example.com", news.StatusBounced},
		{"complained@example.com", news.StatusComplained},
	} {
		if _, err := h.db.AddSubscriber(ctx, news.Subscriber{Email: tc.email, Status: tc.status, DeliveryHour: -1}, ev); err != nil {
			t.Fatal(err)
		}
	}
	normal := func(rec interface{ Result() *http.Response }, email string) (int, string, http.Header) {
		res := rec.Result()
		b, _ := io.ReadAll(res.Body)
		hdr := res.Header.Clone()
		hdr.Del("X-Request-Id")
		return res.StatusCode, strings.ReplaceAll(string(b), email, "ADDRESS"), hdr
	}
	wantCode, wantBody, wantHdr := normal(h.signUp("new@example.com", "", "sport"), "new@example.com")
	if wantCode != http.StatusOK {
		t.Fatalf("new address: %d", wantCode)
	}
	for _, email := range []string{"pending@example.com", "ACTIVE@example.com", "left@example.com", "bounced@example.com", "complained@example.com", "new@example.com"} {
		code, body, hdr := normal(h.signUp(email, "", "sport"), email)
		if code != wantCode || body != wantBody {
			t.Errorf("%s: answer differs from a new address's: %d\n%s", email, code, cmp.Diff(wantBody, body))
		}
		if diff := cmp.Diff(wantHdr, hdr); diff != "" {
			t.Errorf("%s: headers differ (-new +this):\n%s", email, diff)
		}
	}
	// Only the mailbox owners learn anything: confirmations for new,
	// pending and unsubscribed, a notice for active, nothing for bounced
	// or complained, and nothing twice within the mail gap.
	got := map[string]string{}
	for _, m := range h.mails() {
		to, _ := m.Header.AddressList("To")
		got[to[0].Address] = linkRE.FindStringSubmatch(m.Text)[1]
	}
	want := map[string]string{"new@example.com": "confirm", "pending@example.com": "confirm", "active@example.com": "preferences", "left@example.com": "confirm"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("emails sent, address -> link (-want +got):\n%s", diff)
	}
	if n := len(h.mails()); n != 4 {
		t.Errorf("%d emails, want 4 (no repeats within the gap)", n)
	}
}

func TestDuplicateSignUpChangesNothing(t *testing.T) {
	h := newHarness(t, "", nil)
	checkPage(t, "first sign-up", h.signUp("dup@example.com", "First", "politics"), http.StatusOK)
	before := h.snapshot()
	h.clock.Advance(time.Minute)
	checkPage(t, "second sign-up", h.signUp("DUP@example.com", "Second", "sport"), http.StatusOK, "Check your inbox")
	if after := h.snapshot(); after != before {
		t.Errorf("duplicate sign-up changed data:\n%s", cmp.Diff(before, after))
	}
	if n := len(h.mails()); n != 1 {
		t.Errorf("%d emails after two sign-ups a minute apart, want 1", n)
	}
	// After the gap the confirmation goes out again (the first may be lost),
	// still without changing the subscriber.
	h.clock.Advance(10 * time.Minute)
	h.signUp("dup@example.com", "Third", "world")
	if n := len(h.mails()); n != 2 {
		t.Errorf("%d emails after the gap, want 2", n)
	}
	s := h.subscriber("dup@example.com")
	if s.Name != "First" || !cmp.Equal(s.Sections, []string{"politics"}) {
		t.Errorf("subscriber changed by a repeated sign-up: %+v", s)
	}
}

func TestSignUpBadInput(t *testing.T) {
	h := newHarness(t, "", nil)
	token := h.formToken()
	form := func(email string, kv ...string) url.Values {
		f := url.Values{"email": {email}, "csrf": {token}}
		for i := 0; i+1 < len(kv); i += 2 {
			f[kv[i]] = append(f[kv[i]], kv[i+1])
		}
		return f
	}
	tooMany := form("ok@example.com")
	for i := 0; i < 300; i++ {
		tooMany.Add("sections", "politics")
	}
	cases := []struct {
		name   string
		rq     request
		status int
		want   string
	}{
		{"empty", request{form: form("")}, 400, "Email address: required"},
		{"display name", request{form: form("Reader <reader@example.com>")}, 400, "single plain address"},
		{"header injection CRLF", request{form: form("reader@example.com\r\nBcc: victim@example.org")}, 400, "line breaks"},
		{"header injection LF", request{form: form("reader@example.com\nSubject: hi")}, 400, "line breaks"},
		{"two addresses", request{form: form("a@example.com, b@example.com")}, 400, "single plain address"},
		{"no domain dot", request{form: form("a@localhost")}, 400, "not a valid host name"},
		{"too long", request{form: form(strings.Repeat("a", 60) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com")}, 400, "longer than 254"},
		{"local part too long", request{form: form(strings.Repeat("a", 65) + "@example.com")}, 400, "longer than 64"},
		{"unknown section", request{form: form("ok@example.com", "sections", "politics", "sections", "weather")}, 400, "unknown section &#34;weather&#34;"},
		{"script section", request{form: form("ok@example.com", "sections", "<script>alert(1)</script>")}, 400, "&lt;script&gt;"},
		{"too many sections", request{form: tooMany}, 400, "too many values"},
		{"name with newline", request{form: form("ok@example.com", "name", "Eve\r\nBcc: x@example.com")}, 400, "Name: must not contain"},
		{"name too long", request{form: form("ok@example.com", "name", strings.Repeat("я", 201))}, 400, "Name: longer than 200"},
		{"missing form token", request{form: url.Values{"email": {"ok@example.com"}}}, 400, "form had expired"},
		{"forged form token", request{form: url.Values{"email": {"ok@example.com"}, "csrf": {"123.456.AAAA"}}}, 400, "form had expired"},
		{"oversized form", request{form: form("ok@example.com", "name", strings.Repeat("x", 20000))}, 413, "larger than 16384 bytes"},
		{"oversized raw body", request{body: "email=ok%40example.com&pad=" + strings.Repeat("x", 1<<20)}, 413, "Form too large"},
		{"bad encoding", request{body: "email=%zz"}, 400, "could not be read"},
		{"cross-site post", request{form: form("ok@example.com"), header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}}, 403, "sent from another site"},
		{"foreign origin without fetch metadata", request{form: form("ok@example.com"), header: map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}}, 403, "sent from another site"},
	}
	before := h.snapshot()
	for i, tc := range cases {
		tc.rq.method, tc.rq.target = http.MethodPost, "/subscribe"
		tc.rq.ip = "198.51.100." + strconv.Itoa(i+1) // a client each, to stay under the rate limit
		body := checkPage(t, tc.name, h.do(tc.rq), tc.status, tc.want)
		if tc.status == 400 && tc.name != "bad encoding" && !strings.Contains(body, `<form method="post" action="/subscribe"`) {
			t.Errorf("%s: the form is not shown again", tc.name)
		}
		if strings.Contains(body, "Bcc: victim") {
			t.Errorf("%s: the injected header is echoed", tc.name)
		}
	}
	// The form keeps what the reader typed after an error.
	body := checkPage(t, "keeps input", h.do(request{method: http.MethodPost, target: "/subscribe", form: form("bad@", "name", "Anna", "sections", "world")}), 400)
	if !strings.Contains(body, `value="bad@"`) || !strings.Contains(body, `value="Anna"`) || !regexp.MustCompile(`value="world" checked`).MatchString(body) {
		t.Errorf("the form lost the input:\n%s", body)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("bad input changed data:\n%s", after)
	}
	if n := len(h.mails()); n != 0 {
		t.Errorf("bad input sent %d emails", n)
	}
}

func TestSignUpRateLimit(t *testing.T) {
	h := newHarness(t, "", func(o *web.SubscribeOptions) { o.SignupBurst = 3; o.SignupEvery = time.Minute })
	token := h.formToken()
	post := func(i int, ip string) *http.Response {
		f := url.Values{"email": {"r" + string(rune('a'+i)) + "@example.com"}, "csrf": {token}}
		return h.do(request{method: http.MethodPost, target: "/subscribe", form: f, ip: ip}).Result()
	}
	for i := 0; i < 3; i++ {
		if res := post(i, "203.0.113.5"); res.StatusCode != http.StatusOK {
			t.Fatalf("sign-up %d: %d", i, res.StatusCode)
		}
	}
	before := h.snapshot()
	rec := h.do(request{method: http.MethodPost, target: "/subscribe", form: url.Values{"email": {"rz@example.com"}, "csrf": {token}}, ip: "203.0.113.5"})
	checkPage(t, "4th sign-up", rec, http.StatusTooManyRequests, "Too many sign-up requests", "wait a few minutes")
	if ra := rec.Result().Header.Get("Retry-After"); ra != "60" {
		t.Errorf("Retry-After = %q, want 60", ra)
	}
	if after := h.snapshot(); after != before {
		t.Error("a rate-limited sign-up changed data")
	}
	if res := post(10, "203.0.113.6"); res.StatusCode != http.StatusOK {
		t.Errorf("another client: %d, want 200", res.StatusCode)
	}
	h.clock.Advance(time.Minute)
	if res := post(11, "203.0.113.5"); res.StatusCode != http.StatusOK {
		t.Errorf("after a minute: %d, want 200", res.StatusCode)
	}
	if res := post(12, "203.0.113.5"); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right after: %d, want 429", res.StatusCode)
	}
}

func TestConfirm(t *testing.T) {
	h := newHarness(t, "", nil)
	h.signUp("c@example.com", "", "world")
	link := path(t, h.mails()[0].link(t))
	s := h.subscriber("c@example.com")

	before := h.snapshot()
	for i := 0; i < 3; i++ {
		checkPage(t, "GET /confirm", h.get(link), http.StatusOK, "Confirm subscription</button>", `action="`+strings.ReplaceAll(link, "&", "&amp;")+`"`)
	}
	if after := h.snapshot(); after != before {
		t.Fatalf("GET /confirm changed data:\n%s", cmp.Diff(before, after))
	}
	checkPage(t, "POST /confirm cross-site", h.do(request{method: http.MethodPost, target: link, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}), http.StatusForbidden)
	if after := h.snapshot(); after != before {
		t.Fatal("cross-site POST /confirm changed data")
	}
	// Behind a proxy that rewrites Host, an old browser's Origin (no
	// Sec-Fetch-Site) still matches the public base URL.
	proxied := h.do(request{method: http.MethodPost, target: "/subscribe", ip: "192.0.2.50",
		form:   url.Values{"email": {"proxied@example.com"}, "csrf": {h.formToken()}},
		header: map[string]string{"Sec-Fetch-Site": "", "Origin": "http://example.com", "Host": "127.0.0.1:8080"}})
	checkPage(t, "same-origin POST through a proxy", proxied, http.StatusOK, "Check your inbox")
	if st := h.subscriber("proxied@example.com").Status; st != news.StatusPending {
		t.Errorf("sign-up through the proxy: status %s", st)
	}

	h.clock.Advance(time.Hour)
	body := checkPage(t, "POST /confirm", h.do(request{method: http.MethodPost, target: link}), http.StatusOK, "your subscription is confirmed")
	got := h.subscriber("c@example.com")
	if got.Status != news.StatusActive || !got.ConfirmedAt.Equal(h.clock.Now()) {
		t.Errorf("after confirming: %+v", got)
	}
	log := h.consentLog(s.ID)
	if last := log[len(log)-1]; last.Action != news.ConsentConfirm || last.Source != news.SourceWeb || last.IP != "192.0.2.1" || last.FormVersion != "confirm@2026-11" {
		t.Errorf("confirm event = %+v", last)
	}
	prefs := regexp.MustCompile(`href="(/preferences\?t=[^"]+)"`).FindStringSubmatch(body)
	if prefs == nil {
		t.Fatalf("no preference link on the confirmation page:\n%s", body)
	}
	checkPage(t, "preferences from confirm page", h.get(prefs[1]), http.StatusOK, "c@example.com")

	// Replays change nothing and say so.
	before = h.snapshot()
	checkPage(t, "replayed POST", h.do(request{method: http.MethodPost, target: link}), http.StatusOK, "already confirmed")
	checkPage(t, "replayed GET", h.get(link), http.StatusOK, "already confirmed")
	if after := h.snapshot(); after != before {
		t.Error("a replayed confirmation changed data")
	}

	// After unsubscribing, the old confirmation link no longer subscribes.
	if _, _, err := h.db.Unsubscribe(context.Background(), s.ID, news.ConsentEvent{At: h.clock.Now(), Source: news.SourceCLI}); err != nil {
		t.Fatal(err)
	}
	before = h.snapshot()
	checkPage(t, "confirm after unsubscribing", h.do(request{method: http.MethodPost, target: link}), http.StatusBadRequest, "no longer valid")
	if after := h.snapshot(); after != before {
		t.Error("an old confirmation link re-subscribed")
	}
}

func TestConfirmLinkExpires(t *testing.T) {
	h := newHarness(t, "", func(o *web.SubscribeOptions) { o.ConfirmTTL = 48 * time.Hour })
	h.signUp("e@example.com", "")
	checkPage(t, "sent page", h.signUp("x@example.com", ""), http.StatusOK, "works for 2 days")
	link := path(t, h.mails()[0].link(t))
	h.clock.Advance(48*time.Hour - time.Second)
	checkPage(t, "just before expiry", h.get(link), http.StatusOK, "Confirm subscription")
	h.clock.Advance(time.Second)
	before := h.snapshot()
	checkPage(t, "expired GET", h.get(link), http.StatusBadRequest, "This link is not valid", "has expired", "sign up again")
	checkPage(t, "expired POST", h.do(request{method: http.MethodPost, target: link}), http.StatusBadRequest, "has expired")
	if after := h.snapshot(); after != before {
		t.Error("an expired link changed data")
	}
	if s := h.subscriber("e@example.com"); s.Status != news.StatusPending {
		t.Errorf("status %s after an expired confirmation", s.Status)
	}
}

func TestBadTokens(t *testing.T) {
	h := newHarness(t, "", nil)
	h.signUp("t@example.com", "")
	s := h.subscriber("t@example.com")
	good := h.token(s.ID, news.PurposeConfirm)
	other, _ := news.NewTokenSigner([]byte("a different secret of enough length"))
	tampered := []byte(good)
	tampered[len(tampered)-3] ^= 1
	tokens := map[string]string{
		"missing":         "",
		"garbage":         "hello",
		"tampered":        string(tampered),
		"other id":        strings.Replace(good, itoa(s.ID)+".", itoa(s.ID+1)+".", 1),
		"unknown id":      h.signer.Sign(999999, news.PurposeConfirm, h.clock.Now().Add(time.Hour)),
		"other secret":    other.Sign(s.ID, news.PurposeConfirm, h.clock.Now().Add(time.Hour)),
		"huge":            strings.Repeat("9", 5000),
		"html injection":  `"><script>alert(1)</script>`,
		"wrong purpose":   h.token(s.ID, news.PurposeUnsubscribe),
		"newline":         good + "\n",
		"percent-encoded": url.QueryEscape(good + " "),
	}
	before := h.snapshot()
	for _, page := range []string{"/confirm", "/preferences", "/unsubscribe"} {
		for name, tok := range tokens {
			if page != "/confirm" && name == "wrong purpose" {
				tok = h.token(s.ID, news.PurposeConfirm)
			}
			target := page + "?t=" + url.QueryEscape(tok)
			if name == "missing" {
				target = page
			}
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				body := checkPage(t, method+" "+page+" "+name, h.do(request{method: method, target: target}), http.StatusBadRequest, "This link is not valid")
				if strings.Contains(body, "<script>alert") {
					t.Errorf("%s %s %s: token echoed unescaped", method, page, name)
				}
			}
		}
	}
	if after := h.snapshot(); after != before {
		t.Error("bad tokens changed data")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestPreferences(t *testing.T) {
	h := newHarness(t, "", nil)
	h.signUp("p@example.com", "", "politics", "world")
	s := h.subscriber("p@example.com")
	if _, _, err := h.db.ConfirmSubscriber(context.Background(), s.ID, news.ConsentEvent{At: h.clock.Now(), Source: news.SourceWeb}); err != nil {
		t.Fatal(err)
	}
	link := "/preferences?t=" + h.token(s.ID, news.PurposePreferences)

	before := h.snapshot()
	body := checkPage(t, "GET /preferences", h.get(link), http.StatusOK, "p@example.com", `value="politics" checked`, `value="world" checked`,
		`<option value="" selected>The newsroom&#39;s usual time</option>`, `<label for="time_zone">Time zone</label>`, "Unsubscribe</button>")
	if strings.Contains(body, `value="sport" checked`) {
		t.Error("sport shown as chosen")
	}
	if after := h.snapshot(); after != before {
		t.Fatal("GET /preferences changed data")
	}

	post := func(f url.Values, hdr map[string]string) *http.Response {
		return h.do(request{method: http.MethodPost, target: link, form: f, header: hdr}).Result()
	}
	bad := []struct {
		name string
		f    url.Values
		want string
	}{
		{"unknown section", url.Values{"sections": {"weather"}}, "unknown section"},
		{"hour 24", url.Values{"delivery_hour": {"24"}}, "Delivery time"},
		{"hour -1", url.Values{"delivery_hour": {"-1"}}, "Delivery time"},
		{"hour text", url.Values{"delivery_hour": {"seven"}}, "Delivery time"},
		{"unknown zone", url.Values{"time_zone": {"Mars/Olympus_Mons"}}, "unknown time zone"},
		{"Local zone", url.Values{"time_zone": {"Local"}}, "not an IANA"},
		{"path zone", url.Values{"time_zone": {"../../../etc/passwd"}}, "Time zone"},
		{"unknown action", url.Values{"action": {"delete"}}, "Unknown action"},
	}
	for _, tc := range bad {
		checkPage(t, tc.name, h.do(request{method: http.MethodPost, target: link, form: tc.f}), http.StatusBadRequest, tc.want)
	}
	checkPage(t, "oversized", h.do(request{method: http.MethodPost, target: link, form: url.Values{"time_zone": {strings.Repeat("x", 17000)}}}), http.StatusRequestEntityTooLarge)
	if res := post(url.Values{"sections": {"sport"}}, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /preferences = %d, want 403", res.StatusCode)
	}
	if after := h.snapshot(); after != before {
		t.Fatalf("rejected preferences changed data:\n%s", cmp.Diff(before, after))
	}

	h.clock.Advance(time.Hour)
	body = checkPage(t, "save", h.do(request{method: http.MethodPost, target: link,
		form: url.Values{"action": {"save"}, "sections": {"sport", "economy"}, "delivery_hour": {"7"}, "time_zone": {"Asia/Vladivostok"}, "paused": {"on"}}}),
		http.StatusOK, "Your preferences are saved", `value="sport" checked`, `<option value="7" selected>07:00</option>`, `value="Asia/Vladivostok"`)
	got := h.subscriber("p@example.com")
	want := news.Preferences{Sections: []string{"economy", "sport"}, DeliveryHour: 7, TimeZone: "Asia/Vladivostok", Paused: true}
	if diff := cmp.Diff(want, got.Preferences()); diff != "" {
		t.Errorf("saved preferences (-want +got):\n%s", diff)
	}
	log := h.consentLog(s.ID)
	if last := log[len(log)-1]; last.Action != news.ConsentPreferences || last.Detail != "sections: economy, sport; hour: 07:00; zone: Asia/Vladivostok; paused" || last.FormVersion != "preferences@2026-11" {
		t.Errorf("preferences event = %+v", last)
	}
	_ = body
	n := len(log)
	checkPage(t, "save unchanged", h.do(request{method: http.MethodPost, target: link,
		form: url.Values{"sections": {"economy", "sport"}, "delivery_hour": {"7"}, "time_zone": {"Asia/Vladivostok"}, "paused": {"on"}}}), http.StatusOK, "Nothing changed")
	if len(h.consentLog(s.ID)) != n {
		t.Error("saving unchanged preferences logged an event")
	}
	// No boxes ticked: all sections again; default hour and zone.
	checkPage(t, "reset", h.do(request{method: http.MethodPost, target: link, form: url.Values{"delivery_hour": {""}, "time_zone": {""}}}), http.StatusOK, "saved")
	if got := h.subscriber("p@example.com").Preferences(); got.Sections != nil || got.DeliveryHour != -1 || got.TimeZone != "" || got.Paused {
		t.Errorf("after reset: %+v", got)
	}

	// Unsubscribe from the preference centre, then subscribe again.
	checkPage(t, "unsubscribe from preferences", h.do(request{method: http.MethodPost, target: link, form: url.Values{"action": {"unsubscribe"}}}), http.StatusOK, "You are unsubscribed")
	if st := h.subscriber("p@example.com").Status; st != news.StatusUnsubscribed {
		t.Fatalf("status %s", st)
	}
	checkPage(t, "GET /preferences unsubscribed", h.get(link), http.StatusOK, "You are unsubscribed", "Subscribe again</button>")
	checkPage(t, "save while unsubscribed", h.do(request{method: http.MethodPost, target: link, form: url.Values{"sections": {"world"}}}), http.StatusConflict, "no preferences to save")
	checkPage(t, "resubscribe", h.do(request{method: http.MethodPost, target: link, form: url.Values{"action": {"resubscribe"}}}), http.StatusOK, "subscribed again")
	if st := h.subscriber("p@example.com").Status; st != news.StatusActive {
		t.Errorf("status after resubscribing: %s", st)
	}
	var acts []string
	for _, e := range h.consentLog(s.ID) {
		acts = append(acts, string(e.Action))
	}
	if diff := cmp.Diff([]string{"subscribe", "confirm", "preferences", "preferences", "unsubscribe", "subscribe"}, acts); diff != "" {
		t.Errorf("consent log (-want +got):\n%s", diff)
	}
}

func TestUnsubscribe(t *testing.T) {
	h := newHarness(t, "", nil)
	ctx := context.Background()
	ev := news.ConsentEvent{At: h.clock.Now(), Source: news.SourceCLI}
	a, _ := h.db.AddSubscriber(ctx, news.Subscriber{Email: "a@example.com", Status: news.StatusActive, DeliveryHour: -1}, ev)
	b, _ := h.db.AddSubscriber(ctx, news.Subscriber{Email: "b@example.com", Status: news.StatusActive, DeliveryHour: -1}, ev)
	c, _ := h.db.AddSubscriber(ctx, news.Subscriber{Email: "c@example.com", Status: news.StatusActive, DeliveryHour: -1}, ev)

	linkA := "/unsubscribe?t=" + h.token(a.ID, news.PurposeUnsubscribe)
	before := h.snapshot()
	checkPage(t, "GET /unsubscribe", h.get(linkA), http.StatusOK, "Unsubscribe</button>", "Change sections or pause instead")
	if after := h.snapshot(); after != before {
		t.Fatal("GET /unsubscribe changed data")
	}
	// The page's own button: a POST without a body.
	checkPage(t, "POST /unsubscribe", h.do(request{method: http.MethodPost, target: linkA}), http.StatusOK, "You are unsubscribed")
	if got := h.subscriber("a@example.com"); got.Status != news.StatusUnsubscribed {
		t.Errorf("a: %s", got.Status)
	}
	if last := h.consentLog(a.ID)[1]; last.Source != news.SourceWeb || last.Action != news.ConsentUnsubscribe {
		t.Errorf("a's event = %+v", last)
	}

	// RFC 8058 one-click: a mail provider's server POSTs the fixed body,
	// with no browser headers at all.
	linkB := "/unsubscribe?t=" + h.token(b.ID, news.PurposeUnsubscribe)
	rec := h.do(request{method: http.MethodPost, target: linkB, body: "List-Unsubscribe=One-Click",
		header: map[string]string{"Sec-Fetch-Site": "", "User-Agent": "GoogleOneClick/1.0"}, ip: "203.0.113.77"})
	checkPage(t, "one-click", rec, http.StatusOK)
	if got := h.subscriber("b@example.com"); got.Status != news.StatusUnsubscribed {
		t.Errorf("b: %s", got.Status)
	}
	if last := h.consentLog(b.ID)[1]; last.Source != news.SourceOneClick || last.IP != "203.0.113.77" || last.UserAgent != "GoogleOneClick/1.0" || last.FormVersion != "" {
		t.Errorf("one-click event = %+v", last)
	}
	// RFC 8058 says the body SHOULD be multipart/form-data.
	d, _ := h.db.AddSubscriber(ctx, news.Subscriber{Email: "d@example.com", Status: news.StatusActive, DeliveryHour: -1}, ev)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	if err := mw.WriteField("List-Unsubscribe", "One-Click"); err != nil {
		t.Fatal(err)
	}
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/unsubscribe?t="+h.token(d.ID, news.PurposeUnsubscribe), &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.RemoteAddr = "203.0.113.78:4000"
	mrec := httptest.NewRecorder()
	h.srv.ServeHTTP(mrec, req)
	checkPage(t, "multipart one-click", mrec, http.StatusOK, "You are unsubscribed")
	if log := h.consentLog(d.ID); log[len(log)-1].Source != news.SourceOneClick || h.subscriber("d@example.com").Status != news.StatusUnsubscribed {
		t.Errorf("multipart one-click: %+v", log[len(log)-1])
	}
	bad := httptest.NewRequest(http.MethodPost, "/unsubscribe?t="+h.token(d.ID, news.PurposeUnsubscribe), strings.NewReader("--x\r\nbroken"))
	bad.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	brec := httptest.NewRecorder()
	h.srv.ServeHTTP(brec, bad)
	checkPage(t, "broken multipart", brec, http.StatusBadRequest, "could not be read")

	// A one-click POST from a web mail client's page (cross-site) also works.
	linkC := "/unsubscribe?t=" + h.token(c.ID, news.PurposeUnsubscribe)
	checkPage(t, "cross-site one-click", h.do(request{method: http.MethodPost, target: linkC, body: "List-Unsubscribe=One-Click",
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://mail.example"}}), http.StatusOK)
	if got := h.subscriber("c@example.com"); got.Status != news.StatusUnsubscribed {
		t.Errorf("c: %s", got.Status)
	}

	// Replays are answered 200 and change nothing.
	before = h.snapshot()
	checkPage(t, "replayed one-click", h.do(request{method: http.MethodPost, target: linkB, body: "List-Unsubscribe=One-Click"}), http.StatusOK, "not subscribed")
	checkPage(t, "GET after unsubscribing", h.get(linkA), http.StatusOK, "not subscribed", "Subscribe again")
	checkPage(t, "oversized one-click", h.do(request{method: http.MethodPost, target: linkB, body: "x=" + strings.Repeat("y", 40000)}), http.StatusRequestEntityTooLarge)
	if after := h.snapshot(); after != before {
		t.Error("replayed unsubscribes changed data")
	}
}

func TestSubscriptionsOff(t *testing.T) {
	h := newHarness(t, "", nil)
	srv, err := web.New(web.Options{Store: h.db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/subscribe", "/confirm?t=x", "/preferences?t=x", "/unsubscribe?t=x"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "not enabled") {
			t.Errorf("GET %s without subscriptions = %d", target, rec.Code)
		}
	}
	if _, err := web.New(web.Options{Store: h.db, Subscriptions: &web.SubscribeOptions{Signer: h.signer, Mailer: nil}}); err == nil {
		t.Error("New accepted subscriptions without a mailer")
	}
	if _, err := web.New(web.Options{Store: h.db, Subscriptions: &web.SubscribeOptions{Signer: h.signer, Mailer: discard{}, From: &netmail.Address{Address: "a@b.example"}}}); err == nil ||
		!strings.Contains(err.Error(), "BaseURL") {
		t.Errorf("New without BaseURL = %v, want an error naming BaseURL", err)
	}
}

// discard is a MailSender that drops messages, for option checks only.
type discard struct{}

func (discard) Send(context.Context, *mail.Message) mail.Result {
	return mail.Result{Status: mail.Sent}
}

func TestClientIPBehind(t *testing.T) {
	ip := web.ClientIPBehind(web.LoopbackProxies())
	for _, tc := range []struct {
		peer    string
		headers map[string][]string
		want    string
	}{
		{"203.0.113.9:5000", map[string][]string{"X-Real-Ip": {"198.51.100.1"}, "X-Forwarded-For": {"198.51.100.2"}}, "203.0.113.9"},
		{"127.0.0.1:5000", map[string][]string{"X-Real-Ip": {"198.51.100.7"}}, "198.51.100.7"},
		{"127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.8"}}, "198.51.100.8"},
		{"127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.8, 127.0.0.1"}}, "198.51.100.8"},
		{"127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"1.1.1.1", "198.51.100.9"}}, "198.51.100.9"},
		{"127.0.0.1:5000", map[string][]string{"X-Real-Ip": {"not an address"}}, "127.0.0.1"},
		{"127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.8, junk"}}, "127.0.0.1"},
		{"[::1]:5000", nil, "::1"},
		{"[::1]:5000", map[string][]string{"X-Real-Ip": {"2001:db8::7"}}, "2001:db8::7"},
		{"[::ffff:127.0.0.1]:5000", map[string][]string{"X-Real-Ip": {"198.51.100.3"}}, "198.51.100.3"},
		{"[2001:db8::1]:5000", map[string][]string{"X-Real-Ip": {"198.51.100.3"}}, "2001:db8::1"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.peer
		for k, v := range tc.headers {
			r.Header[k] = v
		}
		if got := ip(r); got != tc.want {
			t.Errorf("peer %s headers %v: client %q, want %q", tc.peer, tc.headers, got, tc.want)
		}
	}
}

// TestSignUpBehindProxy: behind nginx on the same machine every
// connection comes from 127.0.0.1; the rate limit and the consent log
// must use the reader's address from X-Real-IP instead.
func TestSignUpBehindProxy(t *testing.T) {
	h := newHarness(t, "", func(o *web.SubscribeOptions) { o.SignupBurst = 2 })
	token := h.formToken()
	post := func(email, client string) int {
		return h.do(request{method: http.MethodPost, target: "/subscribe", ip: "127.0.0.1",
			form: url.Values{"email": {email}, "csrf": {token}}, header: map[string]string{"X-Real-IP": client}}).Code
	}
	for i, client := range []string{"198.51.100.1", "198.51.100.1", "198.51.100.2", "198.51.100.2", "198.51.100.3"} {
		if code := post("r"+strconv.Itoa(i)+"@example.com", client); code != http.StatusOK {
			t.Errorf("sign-up %d from %s: %d, want 200", i, client, code)
		}
	}
	if code := post("r9@example.com", "198.51.100.1"); code != http.StatusTooManyRequests {
		t.Errorf("third sign-up from 198.51.100.1: %d, want 429", code)
	}
	if log := h.consentLog(h.subscriber("r2@example.com").ID); log[0].IP != "198.51.100.2" {
		t.Errorf("consent log IP = %q, want the reader's 198.51.100.2", log[0].IP)
	}
}

// blockingMailer holds every message until released, like a slow SMTP
// relay.
type blockingMailer struct {
	next    web.MailSender
	release chan struct{}
}

func (b *blockingMailer) Send(ctx context.Context, m *mail.Message) mail.Result {
	select {
	case <-b.release:
	case <-ctx.Done():
		return mail.Result{Status: mail.Temporary, Err: ctx.Err()}
	}
	return b.next.Send(ctx, m)
}

// TestSignUpDoesNotWaitForMail: the answer comes while the mail server is
// still busy, so its timing says nothing about whether an email was due.
func TestSignUpDoesNotWaitForMail(t *testing.T) {
	bm := &blockingMailer{release: make(chan struct{})}
	h := newHarness(t, "", func(o *web.SubscribeOptions) { bm.next = o.Mailer; o.Mailer = bm })
	done := make(chan int, 1)
	go func() { done <- h.signUp("slow@example.com", "").Code }()
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Fatalf("POST /subscribe = %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the sign-up page waited for the mail server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.srv.FlushMail(ctx); err == nil {
		t.Error("FlushMail returned while an email was still being sent")
	}
	close(bm.release)
	if m := h.mails(); len(m) != 1 {
		t.Fatalf("%d emails after the mail server answered, want 1", len(m))
	}
}
