package smtptest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/testtool/smtptest"
)

// dial opens a client connection to srv and says EHLO.
func dial(t *testing.T, srv *smtptest.Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// send runs one MAIL/RCPT/DATA transaction and returns the first error.
func send(c *smtp.Client, from string, to []string, body string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

// code returns the SMTP reply code and enhanced code of err, or zeros.
func code(err error) (int, smtp.EnhancedCode) {
	var e *smtp.SMTPError
	if errors.As(err, &e) {
		return e.Code, e.EnhancedCode
	}
	return 0, smtp.EnhancedCode{}
}

func TestRecordsMessages(t *testing.T) {
	srv := smtptest.New(t, nil)
	if !strings.HasPrefix(srv.URL(), "smtp://"+srv.Addr()+"?") {
		t.Errorf("URL() = %q, want it to name Addr() %q", srv.URL(), srv.Addr())
	}
	c := dial(t, srv)
	if err := send(c, "a@news.example", []string{"r1@reader.example", "r2@reader.example"}, "Subject: one\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "b@news.example", []string{"r1@reader.example"}, "Subject: two\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	want := []smtptest.Message{
		{From: "a@news.example", To: []string{"r1@reader.example", "r2@reader.example"}, Data: []byte("Subject: one\r\n\r\nbody\r\n"), Conn: 1},
		{From: "b@news.example", To: []string{"r1@reader.example"}, Data: []byte("Subject: two\r\n\r\n"), Conn: 1},
	}
	if diff := cmp.Diff(want, srv.Messages()); diff != "" {
		t.Errorf("Messages() (-want +got):\n%s", diff)
	}
	if n := srv.Len(); n != 2 {
		t.Errorf("Len() = %d, want 2", n)
	}
	if diff := cmp.Diff(map[string]int{"r1@reader.example": 2, "r2@reader.example": 1}, srv.CountTo()); diff != "" {
		t.Errorf("CountTo() (-want +got):\n%s", diff)
	}

	c2 := dial(t, srv)
	if err := send(c2, "c@news.example", []string{"r3@reader.example"}, "Subject: three\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages()[2].Conn; got != 2 {
		t.Errorf("third message came on connection %d, want 2", got)
	}
	if n, open := srv.Conns(), srv.Open(); n != 2 || open != 2 {
		t.Errorf("Conns(), Open() = %d, %d; want 2, 2", n, open)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Open() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if open := srv.Open(); open != 1 {
		t.Errorf("Open() after one QUIT = %d, want 1", open)
	}
}

func TestRepliesAndFailTimes(t *testing.T) {
	srv := smtptest.New(t, func(s *smtptest.Server) {
		s.RcptReply["gone@reader.example"] = smtptest.Reply(550, smtp.EnhancedCode{5, 1, 1}, "No such user")
		s.RcptReply["busy@reader.example"] = smtptest.Reply(421, smtp.EnhancedCode{4, 7, 0}, "Try later")
		s.FailTimes["busy@reader.example"] = 1
		s.DataReply["greylist@reader.example"] = smtptest.Reply(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted")
		s.FailTimes["greylist@reader.example"] = 2
	})
	c := dial(t, srv)
	tries := []struct {
		to       string
		code     int
		enhanced smtp.EnhancedCode
	}{
		{"gone@reader.example", 550, smtp.EnhancedCode{5, 1, 1}},
		{"gone@reader.example", 550, smtp.EnhancedCode{5, 1, 1}}, // no FailTimes: always
		{"busy@reader.example", 421, smtp.EnhancedCode{4, 7, 0}},
		{"busy@reader.example", 0, smtp.EnhancedCode{}},
		{"greylist@reader.example", 451, smtp.EnhancedCode{4, 7, 1}},
		{"greylist@reader.example", 451, smtp.EnhancedCode{4, 7, 1}},
		{"greylist@reader.example", 0, smtp.EnhancedCode{}},
	}
	for i, try := range tries {
		err := send(c, "a@news.example", []string{try.to}, "Subject: x\r\n\r\n")
		if got, enh := code(err); got != try.code || enh != try.enhanced {
			t.Errorf("try %d to %s: %v, want %d %v", i, try.to, err, try.code, try.enhanced)
		}
		if err != nil {
			if err := c.Reset(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if diff := cmp.Diff(map[string]int{"busy@reader.example": 1, "greylist@reader.example": 1}, srv.CountTo()); diff != "" {
		t.Errorf("CountTo() (-want +got):\n%s", diff)
	}
}

func TestDropMidDataAndCloseAfter(t *testing.T) {
	var calls atomic.Int32
	srv := smtptest.New(t, func(s *smtptest.Server) {
		s.DropMidData["drop@reader.example"] = 1
		s.CloseAfter = 2
		s.OnData = func() { calls.Add(1) }
	})
	body := "Subject: x\r\n\r\n" + strings.Repeat("long enough to be cut\r\n", 20)
	if err := send(dial(t, srv), "a@news.example", []string{"drop@reader.example"}, body); err == nil {
		t.Error("send on a connection dropped mid-DATA succeeded")
	}
	c := dial(t, srv)
	for i := range 2 {
		if err := send(c, "a@news.example", []string{"drop@reader.example"}, body); err != nil {
			t.Fatalf("send %d after the drop: %v", i, err)
		}
	}
	if err := c.Mail("a@news.example", nil); err == nil {
		t.Error("MAIL FROM after CloseAfter messages succeeded")
	}
	if n, conns := srv.Len(), srv.Conns(); n != 2 || conns != 2 {
		t.Errorf("Len(), Conns() = %d, %d; want 2, 2", n, conns)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("OnData ran %d times, want 2 (once per DATA read whole)", n)
	}
}

func TestStartTLSAndAuth(t *testing.T) {
	// httptest's certificate is valid for 127.0.0.1.
	hs := httptest.NewTLSServer(nil)
	defer hs.Close()
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	srv := smtptest.New(t, func(s *smtptest.Server) {
		s.TLS = &tls.Config{Certificates: hs.TLS.Certificates, MinVersion: tls.VersionTLS12}
		s.Users = map[string]string{"digest": "secret"}
	})
	to := []string{"r@reader.example"}

	c := dial(t, srv)
	if got, enh := code(send(c, "a@news.example", to, "Subject: x\r\n\r\n")); got != 502 || enh != (smtp.EnhancedCode{5, 7, 0}) {
		t.Errorf("MAIL before AUTH: %d %v, want 502 5.7.0", got, enh)
	}
	if got, _ := code(c.Auth(sasl.NewPlainClient("", "digest", "wrong"))); got != 535 {
		t.Errorf("AUTH with a wrong password: code %d, want 535", got)
	}
	if err := c.Auth(sasl.NewPlainClient("", "digest", "secret")); err != nil {
		t.Fatal(err)
	}
	if got, enh := code(send(c, "a@news.example", to, "Subject: x\r\n\r\n")); got != 530 || enh != (smtp.EnhancedCode{5, 7, 0}) {
		t.Errorf("DATA without STARTTLS: %d %v, want 530 5.7.0", got, enh)
	}

	tc, err := smtp.DialStartTLS(srv.Addr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if err := tc.Auth(sasl.NewPlainClient("", "digest", "secret")); err != nil {
		t.Fatal(err)
	}
	if err := send(tc, "a@news.example", to, "Subject: x\r\n\r\n"); err != nil {
		t.Fatalf("send over STARTTLS after AUTH: %v", err)
	}
	if n := srv.Len(); n != 1 {
		t.Errorf("Len() = %d, want 1 (only the message over TLS)", n)
	}
}
