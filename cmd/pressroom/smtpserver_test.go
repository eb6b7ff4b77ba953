package main

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// This file is a copy of internal/mail's test server (test helpers cannot
// be shared between packages' tests).

// received is one message as the test server accepted it.
type received struct {
	From string
	To   []string
	Data []byte
	Conn int // which connection (1-based, in accept order) carried it
}

// testServer is a real SMTP server over TCP (emersion/go-smtp) that
// records every accepted message and can misbehave on chosen recipients.
type testServer struct {
	Addr string

	mu    sync.Mutex
	msgs  []received
	conns int
	// RcptReply answers RCPT TO for an address with this error.
	RcptReply map[string]*smtp.SMTPError
	// DataReply answers the end of DATA for a recipient with this error.
	DataReply map[string]*smtp.SMTPError
	// FailTimes limits RcptReply/DataReply to the first N attempts per
	// address (0 = always).
	FailTimes map[string]int
	// DropMidData closes the connection after reading part of the DATA of
	// a message to this recipient, for the first N times.
	DropMidData map[string]int
	// CloseAfter closes each connection at the next MAIL FROM once it has
	// carried this many messages (0 = never).
	CloseAfter int
	// Delay slows the end of every DATA (a slow server, for kill tests).
	Delay time.Duration
	// OnData, when set, runs at the end of every DATA, while the sender
	// waits for the reply (to look at the sending process meanwhile).
	OnData func()

	attempts map[string]int
	srv      *smtp.Server
}

func newTestServer(t testing.TB, configure func(*testServer)) *testServer {
	t.Helper()
	ts := &testServer{
		RcptReply: map[string]*smtp.SMTPError{}, DataReply: map[string]*smtp.SMTPError{},
		FailTimes: map[string]int{}, DropMidData: map[string]int{}, attempts: map[string]int{},
	}
	if configure != nil {
		configure(ts)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Addr = ln.Addr().String()
	ts.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ts.mu.Lock()
		ts.conns++
		n := ts.conns
		ts.mu.Unlock()
		return &testSession{ts: ts, conn: c, id: n}, nil
	}))
	ts.srv.Domain = "sink.test"
	ts.srv.ErrorLog = log.New(io.Discard, "", 0) // dropped connections are the point of some tests
	ts.srv.AllowInsecureAuth = true
	ts.srv.ReadTimeout = 10 * time.Second
	ts.srv.WriteTimeout = 10 * time.Second
	ts.srv.MaxMessageBytes = 10 << 20
	go func() { _ = ts.srv.Serve(ln) }()
	t.Cleanup(func() { _ = ts.srv.Close() })
	return ts
}

// URL is the server's address as a --smtp-url.
func (ts *testServer) URL() string { return "smtp://" + ts.Addr + "?tls=none" }

// CountTo returns how many accepted messages went to each recipient.
func (ts *testServer) CountTo() map[string]int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := map[string]int{}
	for _, m := range ts.msgs {
		for _, to := range m.To {
			out[to]++
		}
	}
	return out
}

func (ts *testServer) Len() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.msgs)
}

func (ts *testServer) Messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

func (ts *testServer) Conns() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.conns
}

// failing reports whether the configured failure still applies to addr
// and counts the attempt.
func (ts *testServer) failing(addr string) bool {
	ts.attempts[addr]++
	n, ok := ts.FailTimes[addr]
	return !ok || ts.attempts[addr] <= n
}

type testSession struct {
	ts    *testServer
	conn  *smtp.Conn
	id    int
	count int
	from  string
	to    []string
}

func (s *testSession) Reset()        { s.from, s.to = "", nil }
func (s *testSession) Logout() error { return nil }

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.CloseAfter > 0 && s.count >= s.ts.CloseAfter {
		_ = s.conn.Close()
		return errors.New("closing")
	}
	s.from = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	if e, ok := s.ts.RcptReply[to]; ok && s.ts.failing(to) {
		return e
	}
	s.to = append(s.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	s.ts.mu.Lock()
	drop := false
	for _, to := range s.to {
		if s.ts.DropMidData[to] > 0 {
			s.ts.DropMidData[to]--
			drop = true
		}
	}
	s.ts.mu.Unlock()
	if drop {
		buf := make([]byte, 100)
		_, _ = io.ReadFull(r, buf)
		_ = s.conn.Conn().Close()
		return errors.New("dropped")
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	if s.ts.Delay > 0 {
		time.Sleep(s.ts.Delay)
	}
	if s.ts.OnData != nil {
		s.ts.OnData()
	}
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	for _, to := range s.to {
		if e, ok := s.ts.DataReply[to]; ok && s.ts.failing(to) {
			return e
		}
	}
	s.count++
	s.ts.msgs = append(s.ts.msgs, received{From: s.from, To: append([]string(nil), s.to...), Data: b.Bytes(), Conn: s.id})
	return nil
}

func smtpErr(code int, enh smtp.EnhancedCode, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}
