package mail

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/testtool/smtptest"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want Endpoint
		err  string
	}{
		{in: "smtp://user:p%40ss@mail.example:2525?tls=starttls", want: Endpoint{Host: "mail.example", Port: 2525, Username: "user", Password: "p@ss", TLS: TLSStartTLS}},
		{in: "smtp://mail.example", want: Endpoint{Host: "mail.example", Port: 587, TLS: TLSStartTLS}},
		{in: "smtp://mail.example?tls=tls", want: Endpoint{Host: "mail.example", Port: 465, TLS: TLSImplicit}},
		{in: "smtps://mail.example", want: Endpoint{Host: "mail.example", Port: 465, TLS: TLSImplicit}},
		{in: "smtp://127.0.0.1?tls=none", want: Endpoint{Host: "127.0.0.1", Port: 25, TLS: TLSNone}},
		{in: "smtp://[::1]:2525?tls=none", want: Endpoint{Host: "::1", Port: 2525, TLS: TLSNone}},
		{in: "smtp://m.example?tls=starttls&tls_insecure=1", want: Endpoint{Host: "m.example", Port: 587, TLS: TLSStartTLS, Insecure: true}},
		{in: "http://mail.example", err: "scheme must be smtp"},
		{in: "smtp://:25", err: "missing host"},
		{in: "smtp://mail.example?tls=ssl", err: `tls="ssl"`},
		{in: "smtp://mail.example?workers=3", err: `unknown parameter "workers"`},
		{in: "smtp://u:secret@mail.example:99999", err: "bad port"},
		{in: "smtp://u:secret@mail.example:xx", err: "invalid port"}, // url.Parse's own error quotes the whole URL
		{in: "smtp://u:secret@mail example", err: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseURL(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q leaks the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseURL(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
	e, _ := ParseURL("smtp://user:secret@mail.example")
	if s := e.String(); strings.Contains(s, "secret") || !strings.Contains(s, "user@mail.example:587") {
		t.Errorf("Endpoint.String() = %q", s)
	}
}

func readerMessage(i int) *Message {
	return &Message{
		From:               &netmail.Address{Name: "Пресс-обзор", Address: "digest@news.example"},
		To:                 &netmail.Address{Name: fmt.Sprintf("Читатель %d", i), Address: fmt.Sprintf("reader%d@reader.example", i)},
		Subject:            fmt.Sprintf("Обзор прессы, 29 января 2017 (#%d)", i),
		Text:               fmt.Sprintf("Текст для читателя %d\n", i),
		HTML:               fmt.Sprintf("<p>HTML для читателя %d</p>", i),
		MessageID:          fmt.Sprintf("digest.2017-01-29.%d@news.example", i),
		ListUnsubscribeURL: fmt.Sprintf("https://news.example/u/%d", i),
		ListID:             "Press Review <digest.news.example>",
		EnvelopeFrom:       ExpandVERP("bounces+{token}@news.example", fmt.Sprintf("t%d", i)),
	}
}

// endpoint is the test server as an SMTP endpoint without TLS.
func endpoint(t testing.TB, ts *smtptest.Server) Endpoint {
	t.Helper()
	e, err := ParseURL(ts.URL())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newSender(t testing.TB, ts *smtptest.Server, change func(*SMTPOptions)) *SMTP {
	t.Helper()
	opts := SMTPOptions{Endpoint: endpoint(t, ts), Timeout: 5 * time.Second, HELO: "sender.test"}
	if change != nil {
		change(&opts)
	}
	s, err := NewSMTP(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sendAll sends msgs from `workers` goroutines and returns results by index.
func sendAll(t testing.TB, s *SMTP, workers int, msgs []*Message) []Result {
	t.Helper()
	results := make([]Result, len(msgs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				results[i] = s.Send(context.Background(), msgs[i])
			}
		})
	}
	for i := range msgs {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

func TestSMTPManyMessagesFewConnections(t *testing.T) {
	ts := smtptest.New(t, nil)
	const n, workers = 1000, 4
	s := newSender(t, ts, func(o *SMTPOptions) { o.Workers = workers; o.Recycle = 100 })
	msgs := make([]*Message, n)
	for i := range msgs {
		msgs[i] = readerMessage(i)
	}
	for i, r := range sendAll(t, s, workers, msgs) {
		if r.Status != Sent || r.Code != 250 || r.Err != nil {
			t.Fatalf("message %d: %+v", i, r)
		}
	}
	got := ts.Messages()
	if len(got) != n {
		t.Fatalf("server received %d messages, want %d", len(got), n)
	}
	// Recycling every 100 messages: 1000/100 connections in all, never one
	// per message. Each worker's last partial batch may add one.
	if c := ts.Conns(); c < n/100 || c > n/100+workers {
		t.Errorf("server saw %d connections, want about %d", c, n/100)
	}
	if d := s.Dials(); int(d) != ts.Conns() {
		t.Errorf("Dials() = %d, server saw %d", d, ts.Conns())
	}
	perConn := map[int]int{}
	seen := map[string]bool{}
	for _, r := range got {
		perConn[r.Conn]++
		p := parseMessage(t, r.Data)
		id := p.Header.Get("Message-Id")
		if seen[id] {
			t.Fatalf("message %s received twice", id)
		}
		seen[id] = true
		var i int
		if _, err := fmt.Sscanf(id, "<digest.2017-01-29.%d@news.example>", &i); err != nil {
			t.Fatalf("Message-ID %q: %v", id, err)
		}
		want := msgs[i]
		if r.From != want.EnvelopeFrom || !slices.Equal(r.To, []string{want.To.Address}) {
			t.Errorf("envelope %s -> %v, want %s -> %s", r.From, r.To, want.EnvelopeFrom, want.To.Address)
		}
		if got := decodeHeader(t, p.Header.Get("Subject")); got != want.Subject {
			t.Errorf("Subject = %q, want %q", got, want.Subject)
		}
		if len(p.Parts) != 2 || p.Parts[0].Body != want.Text || p.Parts[1].Body != want.HTML ||
			p.Parts[0].Charset != "UTF-8" || p.Parts[1].ContentType != "text/html" {
			t.Errorf("message %d parts = %+v", i, p.Parts)
		}
		if _, err := p.Header.Date(); err != nil {
			t.Errorf("message %d Date: %v", i, err)
		}
		if p.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("message %d has no one-click header", i)
		}
	}
	for c, k := range perConn {
		if k > 100 {
			t.Errorf("connection %d carried %d messages, recycle limit is 100", c, k)
		}
	}
}

func TestSMTPReplies(t *testing.T) {
	ts := smtptest.New(t, func(ts *smtptest.Server) {
		ts.RcptReply["busy@reader.example"] = smtptest.Reply(421, smtp.EnhancedCode{4, 7, 0}, "Too busy, try later")
		ts.DataReply["greylist@reader.example"] = smtptest.Reply(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted")
		ts.RcptReply["gone@reader.example"] = smtptest.Reply(550, smtp.EnhancedCode{5, 1, 1}, "No such user")
		ts.DataReply["full@reader.example"] = smtptest.Reply(552, smtp.EnhancedCode{5, 2, 2}, "Mailbox full")
	})
	s := newSender(t, ts, func(o *SMTPOptions) { o.Workers = 1 })
	tests := []struct {
		to       string
		status   Status
		code     int
		enhanced string
		noUser   bool
	}{
		{"ok@reader.example", Sent, 250, "", false},
		{"busy@reader.example", Temporary, 421, "4.7.0", false},
		{"greylist@reader.example", Temporary, 451, "4.7.1", false},
		{"gone@reader.example", Permanent, 550, "5.1.1", true},
		{"full@reader.example", Permanent, 552, "5.2.2", false},
		{"ok2@reader.example", Sent, 250, "", false},
	}
	for i, tt := range tests {
		m := readerMessage(i)
		m.To = &netmail.Address{Address: tt.to}
		r := s.Send(context.Background(), m)
		if r.Status != tt.status || r.Code != tt.code || r.Enhanced != tt.enhanced || r.NoSuchUser() != tt.noUser {
			t.Errorf("Send to %s = {%v %d %q noUser=%v} (%v), want {%v %d %q %v}", tt.to,
				r.Status, r.Code, r.Enhanced, r.NoSuchUser(), r.Err, tt.status, tt.code, tt.enhanced, tt.noUser)
		}
		if (r.Err == nil) != (tt.status == Sent) {
			t.Errorf("Send to %s: Err = %v with status %v", tt.to, r.Err, r.Status)
		}
		if tt.status == Sent && !strings.Contains(r.Reply, "OK") {
			t.Errorf("Send to %s: Reply = %q, want the server's 250 text", tt.to, r.Reply)
		}
	}
	var to []string
	for _, r := range ts.Messages() {
		to = append(to, r.To...)
	}
	if diff := cmp.Diff([]string{"ok@reader.example", "ok2@reader.example"}, to); diff != "" {
		t.Errorf("server accepted (-want +got):\n%s", diff)
	}
}

func TestSMTPConnectionDroppedMidData(t *testing.T) {
	ts := smtptest.New(t, func(ts *smtptest.Server) { ts.DropMidData["drop@reader.example"] = 1 })
	s := newSender(t, ts, func(o *SMTPOptions) { o.Workers = 1 })
	send := func(i int, to string) Result {
		m := readerMessage(i)
		m.To = &netmail.Address{Address: to}
		m.Text = strings.Repeat("Длинный текст. ", 2000)
		return s.Send(context.Background(), m)
	}
	if r := send(1, "a@reader.example"); r.Status != Sent {
		t.Fatalf("first send: %+v", r)
	}
	r := send(2, "drop@reader.example")
	if r.Status != Temporary || r.Code != 0 || r.Err == nil {
		t.Errorf("send with connection dropped mid-DATA = %+v, want temporary without a reply code", r)
	}
	// The same message again (a later retry) and another one: both go
	// through on a fresh connection.
	if r := send(2, "drop@reader.example"); r.Status != Sent {
		t.Errorf("retry after drop: %+v", r)
	}
	if r := send(3, "b@reader.example"); r.Status != Sent {
		t.Errorf("send after drop: %+v", r)
	}
	if c := ts.Conns(); c != 2 {
		t.Errorf("server saw %d connections, want 2 (one redial)", c)
	}
	if n := len(ts.Messages()); n != 3 {
		t.Errorf("server kept %d messages, want 3 (the dropped one is not half-kept)", n)
	}
}

func TestSMTPServerClosesAfterN(t *testing.T) {
	ts := smtptest.New(t, func(ts *smtptest.Server) { ts.CloseAfter = 7 })
	s := newSender(t, ts, func(o *SMTPOptions) { o.Workers = 2; o.Recycle = 1000 })
	msgs := make([]*Message, 50)
	for i := range msgs {
		msgs[i] = readerMessage(i)
	}
	for i, r := range sendAll(t, s, 2, msgs) {
		if r.Status != Sent {
			t.Errorf("message %d: %+v", i, r)
		}
	}
	if n := len(ts.Messages()); n != 50 {
		t.Errorf("server received %d, want 50", n)
	}
	if c := ts.Conns(); c < 50/7 {
		t.Errorf("server saw %d connections, want at least %d", c, 50/7+1)
	}
}

func TestSMTPRateLimitWaitsForTokens(t *testing.T) {
	ts := smtptest.New(t, nil)
	s := newSender(t, ts, func(o *SMTPOptions) { o.Rate = 0.5 }) // one token every 2 s
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if r := s.Send(ctx, readerMessage(1)); r.Status != Sent {
		t.Fatalf("first send (bucket full): %+v", r)
	}
	// The bucket is empty and the next token is 2 s away, beyond ctx's
	// deadline: the limiter refuses at once rather than sending.
	r := s.Send(ctx, readerMessage(2))
	if r.Status != Temporary || !strings.Contains(r.Reply, "rate limit") {
		t.Errorf("second send = %+v, want a temporary rate-limit refusal", r)
	}
	if n := len(ts.Messages()); n != 1 {
		t.Errorf("server received %d, want 1", n)
	}
}

func TestSMTPDialFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	e, err := ParseURL("smtp://" + addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSMTP(SMTPOptions{Endpoint: e, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Send(context.Background(), readerMessage(1))
	if r.Status != Temporary || r.Code != 0 || !strings.Contains(r.Reply, "connect") {
		t.Errorf("Send to a closed port = %+v, want temporary connect error", r)
	}
}

func pemKey(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestDKIMSignedOverSMTP(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, algo, record string
		pem                []byte
	}{
		{"rsa", "rsa-sha256", "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(rsaPub), pemKey(t, rsaKey)},
		{"ed25519", "ed25519-sha256", "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edPub), pemKey(t, edKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDKIM(tt.pem, "news.example", "sel1")
			if err != nil {
				t.Fatal(err)
			}
			if d.Algorithm() != tt.algo {
				t.Errorf("Algorithm() = %q, want %q", d.Algorithm(), tt.algo)
			}
			ts := smtptest.New(t, nil)
			s := newSender(t, ts, func(o *SMTPOptions) { o.DKIM = d; o.Workers = 3 })
			msgs := make([]*Message, 30)
			for i := range msgs {
				msgs[i] = readerMessage(i)
				msgs[i].ReplyTo = &netmail.Address{Address: "desk@news.example"}
			}
			for i, r := range sendAll(t, s, 3, msgs) {
				if r.Status != Sent {
					t.Fatalf("message %d: %+v", i, r)
				}
			}
			lookup := func(domain string) ([]string, error) {
				if domain != "sel1._domainkey.news.example" {
					return nil, fmt.Errorf("no TXT for %s", domain)
				}
				return []string{tt.record}, nil
			}
			for _, r := range ts.Messages() {
				parseMessage(t, r.Data)
				vs, err := dkim.VerifyWithOptions(bytes.NewReader(r.Data), &dkim.VerifyOptions{LookupTXT: lookup})
				if err != nil || len(vs) != 1 {
					t.Fatalf("verify: %v (%d signatures)", err, len(vs))
				}
				v := vs[0]
				if v.Err != nil || v.Domain != "news.example" {
					t.Fatalf("signature: domain %q err %v", v.Domain, v.Err)
				}
				var signed []string
				for _, k := range v.HeaderKeys {
					signed = append(signed, strings.ToLower(k))
				}
				for _, h := range []string{"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} {
					if !slices.Contains(signed, h) {
						t.Errorf("signature does not cover %s (h=%v)", h, signed)
					}
				}
				// Tampering with a signed header must break the signature.
				bad := bytes.Replace(r.Data, []byte("List-Unsubscribe: <https://news.example/u/"), []byte("List-Unsubscribe: <https://evil.example/u/"), 1)
				vs, err = dkim.VerifyWithOptions(bytes.NewReader(bad), &dkim.VerifyOptions{LookupTXT: lookup})
				if err != nil || len(vs) != 1 || vs[0].Err == nil {
					t.Fatalf("tampered List-Unsubscribe still verifies (err %v)", err)
				}
			}
		})
	}
}

func TestNewDKIMRejectsBadKeys(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for name, tc := range map[string]struct {
		pem            []byte
		domain, sel, e string
	}{
		"not pem":      {[]byte("hello"), "d.example", "s", "no valid PEM"},
		"no selector":  {pemKey(t, edKey), "d.example", "", "selector"},
		"no domain":    {pemKey(t, edKey), "", "s", "domain"},
		"unknown type": {pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}), "d.example", "s", "unsupported"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewDKIM(tc.pem, tc.domain, tc.sel); err == nil || !strings.Contains(err.Error(), tc.e) {
				t.Errorf("NewDKIM() error = %v, want %q", err, tc.e)
			}
		})
	}
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool
// trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sink.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

func TestSMTPStartTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ts := smtptest.New(t, func(ts *smtptest.Server) {
		ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ts.Users = map[string]string{"digest": "s3cr:et@"}
	})
	// Credentials from the URL (percent-encoded), AUTH PLAIN after STARTTLS.
	e, err := ParseURL("smtp://digest:s3cr%3Aet%40@" + ts.Addr() + "?tls=starttls")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSMTP(SMTPOptions{Endpoint: e, Workers: 2, Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs := make([]*Message, 20)
	for i := range msgs {
		msgs[i] = readerMessage(i)
		msgs[i].HTML = strings.Repeat("<p>Длинный абзац обзора прессы.</p>\n", 2000) // > 4 KiB writes, batched
	}
	for i, r := range sendAll(t, s, 2, msgs) {
		if r.Status != Sent {
			t.Fatalf("message %d over STARTTLS: %+v", i, r)
		}
	}
	for _, m := range ts.Messages() {
		p := parseMessage(t, m.Data)
		if len(p.Parts) != 2 || !strings.Contains(p.Parts[1].Body, "Длинный абзац") {
			t.Fatalf("message over STARTTLS garbled")
		}
	}
	if n := len(ts.Messages()); n != 20 {
		t.Errorf("server received %d, want 20", n)
	}
	// A wrong password is a permanent failure naming the reason.
	bad, _ := ParseURL("smtp://digest:wrong@" + ts.Addr() + "?tls=starttls")
	s3, err := NewSMTP(SMTPOptions{Endpoint: bad, Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	// A wrong password is the configuration's fault, not the reader's:
	// temporary (deferred), with the server's code.
	for range 3 {
		if r := s3.Send(context.Background(), readerMessage(99)); r.Status != Temporary || r.Code != 535 || !strings.Contains(r.Reply, "Authentication failed") {
			t.Errorf("send with a wrong password = %+v", r)
		}
	}

	// A server without STARTTLS is refused when tls=starttls.
	plain := smtptest.New(t, nil)
	e2, _ := ParseURL("smtp://" + plain.Addr() + "?tls=starttls")
	s2, err := NewSMTP(SMTPOptions{Endpoint: e2, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if r := s2.Send(context.Background(), readerMessage(1)); r.Status != Temporary || !strings.Contains(r.Reply, "STARTTLS") {
			t.Errorf("send to a server without STARTTLS = %+v", r)
		}
	}
	// Those connections are closed, not left open until the garbage
	// collector finds them (go-mail returns from a failed dial without
	// closing the connection).
	deadline := time.Now().Add(5 * time.Second)
	for plain.Open() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := plain.Open(); n != 0 {
		t.Errorf("%d refused connections still open at the server", n)
	}
	if len(plain.Messages()) != 0 {
		t.Errorf("message went out in clear text")
	}
}
