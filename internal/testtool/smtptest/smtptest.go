// Package smtptest runs a real SMTP server over TCP (emersion/go-smtp) for
// tests: it records every message it accepts and can misbehave on chosen
// recipients (refuse them, greylist them, drop the connection mid-DATA,
// hang up after N messages), offer STARTTLS and require AUTH PLAIN.
//
// It is for tests only: shipped code must not import it (layering_test.go
// checks), and like internal/testtool it imports no project package, so a
// test builds whatever project type it needs (a mail.Endpoint, a
// --smtp-url flag) from Addr or URL.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message as the server accepted it.
type Message struct {
	From string   // MAIL FROM
	To   []string // the accepted RCPT TO addresses
	Data []byte   // the message as received, CRLF line ends
	Conn int      // which connection (1-based, in accept order) carried it
}

// Server is a running SMTP server. Its exported fields configure it: set
// them in the configure function given to New, before it starts; they
// must not be changed afterwards. A recipient address is matched exactly
// as the client sends it.
type Server struct {
	// RcptReply answers RCPT TO for an address with this error.
	RcptReply map[string]*smtp.SMTPError
	// DataReply answers the end of DATA with this error when the message
	// is addressed to this recipient.
	DataReply map[string]*smtp.SMTPError
	// FailTimes limits an address's RcptReply or DataReply to its first N
	// attempts; afterwards the address is accepted. Without an entry the
	// reply applies every time.
	FailTimes map[string]int
	// DropMidData closes the connection after reading part of the DATA of
	// a message to this recipient, the first N times.
	DropMidData map[string]int
	// CloseAfter closes each connection at the next MAIL FROM once it has
	// carried this many messages (0: never).
	CloseAfter int
	// Delay slows the end of every DATA (a slow server).
	Delay time.Duration
	// OnData, when set, runs at the end of every DATA while the client
	// waits for the reply (to look at the sending process meanwhile).
	OnData func()
	// TLS, when set, offers STARTTLS with this configuration and refuses
	// a message sent before it (530 5.7.0).
	TLS *tls.Config
	// Users, when set, requires AUTH PLAIN with one of these
	// user -> password pairs before MAIL FROM (else 502 5.7.0, go-smtp's
	// ErrAuthRequired).
	Users map[string]string

	addr string
	srv  *smtp.Server

	mu       sync.Mutex
	msgs     []Message
	conns    int            // connections accepted
	open     int            // sessions not yet logged out
	attempts map[string]int // RCPT/DATA attempts per address, for FailTimes
}

// New starts a server on a free port of 127.0.0.1 and closes it when the
// test ends. configure, when not nil, sets the server's fields before it
// starts; the maps are already made.
func New(t testing.TB, configure func(*Server)) *Server {
	t.Helper()
	s := &Server{
		RcptReply: map[string]*smtp.SMTPError{}, DataReply: map[string]*smtp.SMTPError{},
		FailTimes: map[string]int{}, DropMidData: map[string]int{}, attempts: map[string]int{},
	}
	if configure != nil {
		configure(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.conns++
		s.open++
		return &session{s: s, conn: c, id: s.conns}, nil
	}))
	s.srv.Domain = "sink.test"
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // dropped connections are the point of some tests
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.TLSConfig = s.TLS
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Addr is the server's address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// URL is the server as Pressroom's SMTP URL without TLS (the --smtp-url
// flag, mail.ParseURL).
func (s *Server) URL() string { return "smtp://" + s.addr + "?tls=none" }

// Messages returns a copy of the accepted messages, in acceptance order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Len is the number of accepted messages.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// CountTo returns how many accepted messages went to each recipient.
func (s *Server) CountTo() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, m := range s.msgs {
		for _, to := range m.To {
			out[to]++
		}
	}
	return out
}

// Conns is the number of connections the server has accepted.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Open is the number of connections the server still has open.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// Reply is an SMTP error reply, for RcptReply and DataReply:
// Reply(550, smtp.EnhancedCode{5, 1, 1}, "No such user").
func Reply(code int, enhanced smtp.EnhancedCode, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}
}

// failing reports whether the configured failure still applies to addr,
// counting the attempt. The caller holds s.mu.
func (s *Server) failing(addr string) bool {
	s.attempts[addr]++
	n, ok := s.FailTimes[addr]
	return !ok || s.attempts[addr] <= n
}

// session is one connection's SMTP session.
type session struct {
	s     *Server
	conn  *smtp.Conn
	id    int // the connection's number, 1-based
	count int // messages accepted on this connection
	from  string
	to    []string
	user  string // authenticated user, if any
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.Users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if want, ok := ss.s.Users[user]; !ok || want != pass {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.open--
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.Users != nil && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	if ss.s.CloseAfter > 0 && ss.count >= ss.s.CloseAfter {
		_ = ss.conn.Close()
		return errors.New("closing")
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if e, ok := ss.s.RcptReply[to]; ok && ss.s.failing(to) {
		return e
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if ss.s.TLS != nil {
		if _, ok := ss.conn.TLSConnectionState(); !ok {
			return Reply(530, smtp.EnhancedCode{5, 7, 0}, "Must issue a STARTTLS command first")
		}
	}
	ss.s.mu.Lock()
	drop := false
	for _, to := range ss.to {
		if ss.s.DropMidData[to] > 0 {
			ss.s.DropMidData[to]--
			drop = true
		}
	}
	ss.s.mu.Unlock()
	if drop {
		buf := make([]byte, 100)
		_, _ = io.ReadFull(r, buf)
		_ = ss.conn.Conn().Close()
		return errors.New("dropped")
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	if ss.s.Delay > 0 {
		time.Sleep(ss.s.Delay)
	}
	if ss.s.OnData != nil {
		ss.s.OnData()
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	for _, to := range ss.to {
		if e, ok := ss.s.DataReply[to]; ok && ss.s.failing(to) {
			return e
		}
	}
	ss.count++
	ss.s.msgs = append(ss.s.msgs, Message{From: ss.from, To: append([]string(nil), ss.to...), Data: b.Bytes(), Conn: ss.id})
	return nil
}
