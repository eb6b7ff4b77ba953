package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// part is one decoded MIME body part.
type part struct {
	ContentType string
	Charset     string
	Encoding    string
	Body        string
}

// parsed is a message read back with net/mail and mime/multipart only.
type parsed struct {
	Header netmail.Header
	Parts  []part
	Raw    []byte
}

func parseMessage(t testing.TB, raw []byte) parsed {
	t.Helper()
	for i, l := range strings.Split(string(raw), "\r\n") {
		if len(l) > MaxLineOctets {
			t.Fatalf("line %d is %d octets long (max %d)", i+1, len(l), MaxLineOctets)
		}
	}
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail: %v\n%s", err, raw)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	p := parsed{Header: m.Header, Raw: raw}
	if !strings.HasPrefix(mt, "multipart/") {
		p.Parts = append(p.Parts, decodePart(t, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body))
		return p
	}
	if mt != "multipart/alternative" {
		t.Fatalf("top-level type %q, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		pt, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		p.Parts = append(p.Parts, decodePart(t, pt.Header.Get("Content-Type"), pt.Header.Get("Content-Transfer-Encoding"), pt))
	}
	return p
}

func decodePart(t testing.TB, ctype, cte string, r io.Reader) part {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("part Content-Type %q: %v", ctype, err)
	}
	switch strings.ToLower(cte) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("part %s (%s): %v", mt, cte, err)
	}
	return part{ContentType: mt, Charset: strings.ToUpper(params["charset"]), Encoding: strings.ToLower(cte),
		Body: strings.ReplaceAll(string(b), "\r\n", "\n")}
}

func decodeHeader(t testing.TB, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decode %q: %v", v, err)
	}
	return s
}

func cyrillicMessage() *Message {
	longWord := strings.Repeat("длинное-слово-", 300) // one 4,200-byte "line"
	return &Message{
		From:                  &netmail.Address{Name: "Пресс-служба «Вести»", Address: "digest@news.example"},
		To:                    &netmail.Address{Name: "Анна Петрова", Address: "anna@reader.example"},
		ReplyTo:               &netmail.Address{Address: "desk@news.example"},
		Subject:               "Обзор прессы, 29 января 2017: Путин и Трамп провели первый телефонный разговор",
		Text:                  "Здравствуйте!\n\n" + longWord + "\n",
		HTML:                  "<html><body><p>Здравствуйте!</p><p>" + longWord + "</p></body></html>",
		MessageID:             "digest.2017-01-29.s42@news.example",
		Date:                  time.Date(2017, 1, 29, 8, 0, 5, 0, time.FixedZone("MSK", 3*3600)),
		ListUnsubscribeURL:    "https://news.example/unsubscribe?t=abc123",
		ListUnsubscribeMailto: "mailto:unsubscribe@news.example?subject=unsubscribe-abc123",
		ListID:                "Press Review <digest.news.example>",
		ListArchive:           "https://news.example/digest/",
		EnvelopeFrom:          "bounces+abc123@news.example",
		Headers:               []Header{{Name: "X-Pressroom-Edition", Value: "2017-01-29"}},
	}
}

func TestRenderCyrillic(t *testing.T) {
	m := cyrillicMessage()
	var buf bytes.Buffer
	if _, err := m.Render(&buf, time.Time{}); err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, buf.Bytes())
	h := p.Header

	if raw := h.Get("Subject"); !strings.HasPrefix(raw, "=?UTF-8?") {
		t.Errorf("raw Subject %q is not RFC 2047 encoded", raw)
	}
	if got := decodeHeader(t, h.Get("Subject")); got != m.Subject {
		t.Errorf("Subject = %q, want %q", got, m.Subject)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("From %q: %v", h.Get("From"), err)
	}
	if diff := cmp.Diff(*m.From, *from[0]); diff != "" {
		t.Errorf("From (-want +got):\n%s", diff)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || *to[0] != *m.To {
		t.Errorf("To = %v (%v), want %v", to, err, m.To)
	}
	if rt, err := h.AddressList("Reply-To"); err != nil || len(rt) != 1 || rt[0].Address != "desk@news.example" {
		t.Errorf("Reply-To = %v (%v)", rt, err)
	}
	date, err := h.Date()
	if err != nil || !date.Equal(m.Date) {
		t.Errorf("Date = %v (%v), want %v", date, err, m.Date)
	}
	want := map[string]string{
		"Message-Id":            "<digest.2017-01-29.s42@news.example>",
		"List-Unsubscribe":      "<https://news.example/unsubscribe?t=abc123>, <mailto:unsubscribe@news.example?subject=unsubscribe-abc123>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"List-Id":               "Press Review <digest.news.example>",
		"List-Archive":          "<https://news.example/digest/>",
		"Auto-Submitted":        "auto-generated",
		"Mime-Version":          "1.0",
		"X-Pressroom-Edition":   "2017-01-29",
	}
	for k, v := range want {
		if got := strings.Join(strings.Fields(h.Get(k)), " "); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(h["Message-Id"]) != 1 || len(h["Date"]) != 1 {
		t.Errorf("Message-ID/Date appear %d/%d times, want once", len(h["Message-Id"]), len(h["Date"]))
	}
	wantParts := []part{
		{ContentType: "text/plain", Charset: "UTF-8", Encoding: "base64", Body: m.Text},
		{ContentType: "text/html", Charset: "UTF-8", Encoding: "base64", Body: m.HTML},
	}
	if diff := cmp.Diff(wantParts, p.Parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
}

func TestRenderASCIIUsesQuotedPrintable(t *testing.T) {
	m := &Message{
		From:      &netmail.Address{Name: "Newsroom", Address: "n@news.example"},
		To:        &netmail.Address{Address: "r@reader.example"},
		Subject:   "Confirm your subscription",
		Text:      "Open https://news.example/confirm?a=1&b=2 to confirm.\n" + strings.Repeat("x", 2000) + "\n",
		MessageID: "confirm.1@news.example",
	}
	var buf bytes.Buffer
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := m.Render(&buf, date); err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, buf.Bytes())
	if got := p.Header.Get("Subject"); got != m.Subject {
		t.Errorf("Subject = %q, want plain %q", got, m.Subject)
	}
	if d, _ := p.Header.Date(); !d.Equal(date) {
		t.Errorf("Date = %v, want the fallback %v", d, date)
	}
	wantParts := []part{{ContentType: "text/plain", Charset: "UTF-8", Encoding: "quoted-printable", Body: m.Text}}
	if diff := cmp.Diff(wantParts, p.Parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if p.Header.Get("List-Unsubscribe") != "" || p.Header.Get("List-Unsubscribe-Post") != "" {
		t.Errorf("list headers present on a message without them")
	}
}

func TestValidate(t *testing.T) {
	ok := func() *Message { return cyrillicMessage() }
	tests := []struct {
		name   string
		change func(*Message)
		want   string
	}{
		{"no from", func(m *Message) { m.From = nil }, "From is required"},
		{"no to", func(m *Message) { m.To = &netmail.Address{} }, "To is required"},
		{"no id", func(m *Message) { m.MessageID = "" }, "Message-ID is required"},
		{"bad id", func(m *Message) { m.MessageID = "no-at-sign" }, "bad Message-ID"},
		{"no text", func(m *Message) { m.Text = "" }, "text part is required"},
		{"subject newline", func(m *Message) { m.Subject = "a\r\nBcc: x@y" }, "line break"},
		{"header injection", func(m *Message) { m.Headers = []Header{{Name: "X-A", Value: "b\r\nBcc: x@y"}} }, "bad extra header"},
		{"unsubscribe not a URL", func(m *Message) { m.ListUnsubscribeURL = "https://" }, "list-unsubscribe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok()
			tt.change(m)
			_, err := m.Render(io.Discard, time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRenderPlainHTTPUnsubscribe(t *testing.T) {
	m := cyrillicMessage()
	m.ListUnsubscribeURL = "http://localhost:8080/unsubscribe?t=1"
	var buf bytes.Buffer
	if _, err := m.Render(&buf, time.Time{}); err != nil {
		t.Fatal(err)
	}
	h := parseMessage(t, buf.Bytes()).Header
	if got, want := h.Get("List-Unsubscribe"), "<http://localhost:8080/unsubscribe?t=1>, <mailto:unsubscribe@news.example?subject=unsubscribe-abc123>"; got != want {
		t.Errorf("List-Unsubscribe = %q, want %q", got, want)
	}
	if got := h.Get("List-Unsubscribe-Post"); got != "" {
		t.Errorf("List-Unsubscribe-Post = %q on a plain-http URL, want none (RFC 8058 needs https)", got)
	}
}

func TestVERP(t *testing.T) {
	const pattern = "bounces+{token}@news.example"
	addr := ExpandVERP(pattern, "e20170129-s42")
	if addr != "bounces+e20170129-s42@news.example" {
		t.Fatalf("ExpandVERP = %q", addr)
	}
	if tok, ok := VERPToken(pattern, "Bounces+e20170129-s42@NEWS.example"); !ok || tok != "e20170129-s42" {
		t.Errorf("VERPToken = %q, %v", tok, ok)
	}
	for _, bad := range []string{"bounces@news.example", "bounces+@news.example", "other+x@news.example"} {
		if tok, ok := VERPToken(pattern, bad); ok {
			t.Errorf("VERPToken(%q) = %q, want no match", bad, tok)
		}
	}
}

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "box") // created by the first Send
	now := time.Date(2017, 1, 29, 5, 0, 0, 0, time.UTC)
	ob, err := NewOutbox(dir, OutboxOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	m := cyrillicMessage()
	m.Date = time.Time{}
	m.MessageID = "<digest.2017-01-29.s42/x@news.example>"
	for range 2 { // the same message twice: one file, overwritten
		if r := ob.Send(t.Context(), m); r.Status != Sent {
			t.Fatalf("Send = %+v", r)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"digest.2017-01-29.s42_x@news.example.eml"}, names); diff != "" {
		t.Fatalf("outbox files (-want +got):\n%s", diff)
	}
	raw, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, raw)
	if d, _ := p.Header.Date(); !d.Equal(now) {
		t.Errorf("Date = %v, want outbox clock %v", d, now)
	}
	if len(p.Parts) != 2 || p.Parts[1].Body != m.HTML {
		t.Errorf("outbox message parts wrong: %d parts", len(p.Parts))
	}
	if r := ob.Send(t.Context(), &Message{}); r.Status != Permanent || r.Err == nil {
		t.Errorf("Send(empty) = %+v, want a permanent error", r)
	}
}
