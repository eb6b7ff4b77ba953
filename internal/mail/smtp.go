package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
	"golang.org/x/time/rate"
)

// TLSMode is how the SMTP connection is secured.
type TLSMode string

// TLS modes of an SMTP URL's tls= parameter.
const (
	TLSStartTLS TLSMode = "starttls" // plain connect, STARTTLS required (default; port 587)
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (port 465)
	TLSNone     TLSMode = "none"     // no TLS at all (local relays, tests; port 25)
)

// Endpoint is a parsed SMTP URL.
type Endpoint struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      TLSMode
	// Insecure skips certificate verification (tls_insecure=1); only for
	// relays with self-signed certificates.
	Insecure bool
}

// String is the URL without the password.
func (e Endpoint) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(e.Host, strconv.Itoa(e.Port)),
		RawQuery: "tls=" + string(e.TLS)}
	if e.Username != "" {
		u.User = url.User(e.Username)
	}
	return u.String()
}

// ParseURL parses smtp://[user[:pass]@]host[:port][?tls=starttls|tls|none].
// The port defaults to 587 for starttls, 465 for tls and 25 for none.
// The scheme "smtps" means tls=tls.
func ParseURL(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included: keep only
		// the reason, as this error reaches logs and the terminal.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Endpoint{}, fmt.Errorf("mail: smtp url: %w", err)
	}
	var e Endpoint
	switch u.Scheme {
	case "smtp":
		e.TLS = TLSStartTLS
	case "smtps":
		e.TLS = TLSImplicit
	default:
		return Endpoint{}, fmt.Errorf("mail: smtp url %q: scheme must be smtp or smtps", redact(u))
	}
	e.Host = u.Hostname()
	if e.Host == "" {
		return Endpoint{}, fmt.Errorf("mail: smtp url %q: missing host", redact(u))
	}
	q := u.Query()
	for k := range q {
		if k != "tls" && k != "tls_insecure" {
			return Endpoint{}, fmt.Errorf("mail: smtp url %q: unknown parameter %q", redact(u), k)
		}
	}
	if t := q.Get("tls"); t != "" {
		switch TLSMode(t) {
		case TLSStartTLS, TLSImplicit, TLSNone:
			e.TLS = TLSMode(t)
		default:
			return Endpoint{}, fmt.Errorf("mail: smtp url %q: tls=%q: want starttls, tls or none", redact(u), t)
		}
	}
	switch q.Get("tls_insecure") {
	case "", "0", "false":
	case "1", "true":
		e.Insecure = true
	default:
		return Endpoint{}, fmt.Errorf("mail: smtp url %q: tls_insecure must be 0 or 1", redact(u))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Endpoint{}, fmt.Errorf("mail: smtp url %q: bad port %q", redact(u), p)
		}
		e.Port = n
	} else {
		e.Port = map[TLSMode]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[e.TLS]
	}
	if u.User != nil {
		e.Username = u.User.Username()
		e.Password, _ = u.User.Password()
	}
	return e, nil
}

func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}

// SMTPOptions configures an SMTP sender.
type SMTPOptions struct {
	Endpoint Endpoint
	// Workers is the number of connections kept open; Send calls beyond
	// that wait for a free one. Default 4.
	Workers int
	// Recycle closes a connection (QUIT) after this many messages and
	// dials a fresh one; default 100.
	Recycle int
	// Rate limits messages per second across all connections (a token
	// bucket); 0 means no limit.
	Rate float64
	// Timeout bounds each SMTP command/data exchange and each dial; default 30s.
	Timeout time.Duration
	DKIM    *DKIM  // optional
	HELO    string // EHLO name; default the library's (os.Hostname)
	// TLSConfig overrides the TLS configuration (tests with their own CA).
	TLSConfig *tls.Config
	Logger    *slog.Logger
	Now       func() time.Time // Date for messages without one; default time.Now
}

// SMTP is a Sender over a pool of long-lived SMTP connections: each
// connection is dialed once and carries many messages, is recycled after
// Recycle messages, and is redialed after a connection error. It is safe
// for concurrent use; run as many goroutines as Workers to keep every
// connection busy.
type SMTP struct {
	opts    SMTPOptions
	client  *gomail.Client // configuration only; connections are separate
	limiter *rate.Limiter
	pool    chan *conn
	dials   atomic.Int64
	closeMu sync.Mutex
	closed  bool
}

type conn struct {
	c          *gosmtp.Client
	used       int
	pipelining bool // the server offers PIPELINING (RFC 2920)
	dirty      bool // a refused transaction awaits its RSET
}

// NewSMTP checks the options; it does not connect (the first Send on each
// connection does).
func NewSMTP(opts SMTPOptions) (*SMTP, error) {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Recycle <= 0 {
		opts.Recycle = 100
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := opts.Endpoint
	if e.Host == "" || e.Port == 0 {
		return nil, errors.New("mail: smtp: endpoint host and port are required")
	}
	copts := []gomail.Option{
		gomail.WithPort(e.Port),
		gomail.WithTimeout(opts.Timeout),
		// NOOP before every message costs a round trip; a dead connection
		// shows up at MAIL FROM instead, which is retried on a fresh one.
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch e.TLS {
	case TLSNone:
		copts = append(copts, gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithDialContextFunc(dialBatched))
	case TLSImplicit:
		// go-mail dials TLS itself only with its own dialer.
		copts = append(copts, gomail.WithSSL())
	default:
		// STARTTLS wraps the batched connection in TLS: records are
		// batched the same way.
		copts = append(copts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithDialContextFunc(dialBatched))
	}
	tc := opts.TLSConfig
	if tc == nil && e.TLS != TLSNone {
		tc = &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: e.Insecure} //nolint:gosec // opt-in via tls_insecure=1
	}
	if tc != nil {
		copts = append(copts, gomail.WithTLSConfig(tc))
	}
	if e.Username != "" {
		copts = append(copts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(e.Username), gomail.WithPassword(e.Password))
	}
	if opts.HELO != "" {
		copts = append(copts, gomail.WithHELO(opts.HELO))
	}
	client, err := gomail.NewClient(e.Host, copts...)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp: %w", err)
	}
	s := &SMTP{opts: opts, client: client, pool: make(chan *conn, opts.Workers)}
	if opts.Rate > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(opts.Rate), 1)
	}
	for range opts.Workers {
		s.pool <- &conn{}
	}
	return s, nil
}

// Dials is how many connections have been opened so far.
func (s *SMTP) Dials() int64 { return s.dials.Load() }

func (s *SMTP) dial(ctx context.Context, cn *conn) error {
	slot := &dialSlot{}
	c, err := s.client.DialToSMTPClientWithContext(context.WithValue(ctx, dialSlotKey{}, slot))
	if err != nil {
		if slot.conn != nil {
			_ = slot.conn.Close()
		}
		return err
	}
	s.dials.Add(1)
	cn.c, cn.used, cn.dirty = c, 0, false
	cn.pipelining, _ = c.Extension("PIPELINING")
	return nil
}

// drop closes cn's connection; quit says whether to say QUIT first (a
// healthy connection being recycled) or just close the socket.
func (s *SMTP) drop(cn *conn, quit bool) {
	if cn.c == nil {
		return
	}
	if quit {
		if err := cn.c.Quit(); err != nil {
			s.opts.Logger.Debug("SMTP QUIT failed", "error", err)
		}
	}
	_ = cn.c.Close()
	cn.c = nil
}

// Close QUITs every open connection. It waits for Sends in flight to give
// their connection back; Send must not be called after Close.
func (s *SMTP) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for range s.opts.Workers {
		cn := <-s.pool
		s.drop(cn, true)
	}
	return nil
}
