package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	pmail "github.com/pressroom/pressroom/internal/mail"
)

// mailFlags are the outgoing-mail flags shared by serve, digest send and
// anything else that sends email. Each has an environment variable used
// when the flag is not given.
type mailFlags struct {
	smtpURL, from, replyTo, envelopeFrom, outbox string
	workers, recycle                             int
	rate                                         float64
	timeout                                      time.Duration
	dkimKey, dkimSelector, dkimDomain            string
	unsubscribeMailto                            string

	cf     *cmdFlags // the command they belong to, for usage errors
	noSync bool      // outbox files need no fsync (dry runs)
}

// mailFlagEnv maps each mail flag to its environment variable.
var mailFlagEnv = map[string]string{
	"smtp-url": "PRESSROOM_SMTP_URL", "from": "PRESSROOM_FROM", "reply-to": "PRESSROOM_REPLY_TO",
	"envelope-from": "PRESSROOM_ENVELOPE_FROM", "outbox": "PRESSROOM_OUTBOX",
	"smtp-workers": "PRESSROOM_SMTP_WORKERS", "smtp-recycle": "PRESSROOM_SMTP_RECYCLE", "rate": "PRESSROOM_RATE",
	"smtp-timeout": "PRESSROOM_SMTP_TIMEOUT", "dkim-key": "PRESSROOM_DKIM_KEY",
	"dkim-selector": "PRESSROOM_DKIM_SELECTOR", "dkim-domain": "PRESSROOM_DKIM_DOMAIN",
	"unsubscribe-mailto": "PRESSROOM_UNSUBSCRIBE_MAILTO",
}

// addMailFlags registers the mail flags on a command's flag set.
func addMailFlags(cf *cmdFlags) *mailFlags {
	m := &mailFlags{cf: cf}
	cf.StringVar(&m.smtpURL, "smtp-url", "", "SMTP relay `URL`: smtp://user:pass@host:587?tls=starttls|tls|none (env PRESSROOM_SMTP_URL); unset, mail goes to the --outbox folder")
	cf.StringVar(&m.from, "from", "", "From `ADDRESS`, e.g. \"Пресс-служба <digest@news.example>\" (env PRESSROOM_FROM; default digest@ the base URL's host)")
	cf.StringVar(&m.replyTo, "reply-to", "", "Reply-To `ADDRESS` (env PRESSROOM_REPLY_TO)")
	cf.StringVar(&m.envelopeFrom, "envelope-from", "", "envelope sender (bounce) `ADDRESS`; {token} becomes the delivery's VERP token, e.g. bounces+{token}@news.example (env PRESSROOM_ENVELOPE_FROM)")
	cf.StringVar(&m.outbox, "outbox", "outbox", "`DIR` for .eml files when no SMTP URL is set (env PRESSROOM_OUTBOX)")
	cf.IntVar(&m.workers, "smtp-workers", 4, "SMTP connections kept open and sending in parallel (env PRESSROOM_SMTP_WORKERS)")
	cf.IntVar(&m.recycle, "smtp-recycle", 100, "messages per SMTP connection before it is closed and redialed (env PRESSROOM_SMTP_RECYCLE)")
	cf.Float64Var(&m.rate, "rate", 0, "at most this many messages per second across all connections, 0 = no limit (env PRESSROOM_RATE)")
	cf.DurationVar(&m.timeout, "smtp-timeout", 30*time.Second, "timeout of each SMTP exchange (env PRESSROOM_SMTP_TIMEOUT)")
	cf.StringVar(&m.dkimKey, "dkim-key", "", "PEM private key `FILE` (RSA or Ed25519) to DKIM-sign with (env PRESSROOM_DKIM_KEY)")
	cf.StringVar(&m.dkimSelector, "dkim-selector", "", "DKIM selector (env PRESSROOM_DKIM_SELECTOR)")
	cf.StringVar(&m.dkimDomain, "dkim-domain", "", "DKIM signing domain; default the From domain (env PRESSROOM_DKIM_DOMAIN)")
	cf.StringVar(&m.unsubscribeMailto, "unsubscribe-mailto", "", "mailto: `URI` added to List-Unsubscribe (env PRESSROOM_UNSUBSCRIBE_MAILTO)")
	return m
}

// resolveEnv fills flags that were not given from their environment
// variables.
func (m *mailFlags) resolveEnv(cf *cmdFlags, lookupEnv func(string) (string, bool)) error {
	return setFromEnv(cf, mailFlagEnv, lookupEnv)
}

// mailer is the configured outgoing mail: the sender and what the
// messages carry.
type mailer struct {
	sender  pmail.Sender
	close   func() error
	from    *mail.Address
	replyTo *mail.Address
	// envelopeFrom is the VERP pattern ("" = From).
	envelopeFrom      string
	unsubscribeMailto string
	workers           int
	describe          string
}

// open builds the sender: SMTP when a URL is set, otherwise the outbox
// folder (and the log says so).
func (m *mailFlags) open(e *env) (*mailer, error) {
	cf := m.cf
	if err := m.resolveEnv(cf, e.lookupEnv); err != nil {
		return nil, err
	}
	out := &mailer{envelopeFrom: m.envelopeFrom, unsubscribeMailto: m.unsubscribeMailto, workers: m.workers}
	if m.workers < 1 || m.workers > 64 {
		return nil, cf.usageErrorf("--smtp-workers %d: want 1 to 64", m.workers)
	}
	if m.rate < 0 {
		return nil, cf.usageErrorf("--rate %v: must not be negative", m.rate)
	}
	from := m.from
	if from == "" {
		host := "localhost"
		if u, err := url.Parse(e.cfg.BaseURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		from = "Press Review <digest@" + host + ">"
	}
	fa, err := mail.ParseAddress(from)
	if err != nil {
		return nil, cf.usageErrorf("--from %q: %v", from, err)
	}
	out.from = fa
	if m.replyTo != "" {
		if out.replyTo, err = mail.ParseAddress(m.replyTo); err != nil {
			return nil, cf.usageErrorf("--reply-to %q: %v", m.replyTo, err)
		}
	}
	if m.envelopeFrom != "" {
		if _, err := mail.ParseAddress(pmail.ExpandVERP(m.envelopeFrom, "d1-aaaaaaaaaaaaaaaa")); err != nil {
			return nil, cf.usageErrorf("--envelope-from %q: %v", m.envelopeFrom, err)
		}
	}
	if m.unsubscribeMailto != "" && !strings.HasPrefix(m.unsubscribeMailto, "mailto:") {
		return nil, cf.usageErrorf("--unsubscribe-mailto %q: want a mailto: URI", m.unsubscribeMailto)
	}
	var dkim *pmail.DKIM
	if m.dkimKey != "" || m.dkimSelector != "" {
		if m.dkimKey == "" || m.dkimSelector == "" {
			return nil, cf.usageErrorf("--dkim-key and --dkim-selector go together")
		}
		domain := m.dkimDomain
		if domain == "" {
			domain = fa.Address[strings.LastIndex(fa.Address, "@")+1:]
		}
		if dkim, err = pmail.LoadDKIM(m.dkimKey, domain, m.dkimSelector); err != nil {
			return nil, err
		}
	}
	if m.smtpURL == "" {
		ob, err := pmail.NewOutbox(m.outbox, pmail.OutboxOptions{Logger: e.logger, Now: e.now, DKIM: dkim, NoSync: m.noSync})
		if err != nil {
			return nil, err
		}
		if !m.noSync {
			e.logger.Info("No SMTP URL set: writing messages to the outbox folder", "outbox", m.outbox)
		}
		out.sender, out.close, out.describe = ob, ob.Close, "outbox "+m.outbox
		return out, nil
	}
	ep, err := pmail.ParseURL(m.smtpURL)
	if err != nil {
		return nil, cf.usageErrorf("--smtp-url: %v", err)
	}
	s, err := pmail.NewSMTP(pmail.SMTPOptions{Endpoint: ep, Workers: m.workers, Recycle: m.recycle, Rate: m.rate,
		Timeout: m.timeout, DKIM: dkim, Logger: e.logger, Now: e.now})
	if err != nil {
		return nil, err
	}
	e.logger.Info("Sending mail over SMTP", "relay", ep.String(), "workers", m.workers, "rate", m.rate, "dkim", dkim != nil)
	out.sender, out.close, out.describe = s, s.Close, ep.String()
	return out, nil
}

// openOutbox opens the outbox folder dir whatever --smtp-url says (dry
// runs), without fsync per file.
func (m *mailFlags) openOutbox(e *env, dir string) (*mailer, error) {
	if err := m.resolveEnv(m.cf, e.lookupEnv); err != nil {
		return nil, err
	}
	m.smtpURL, m.outbox, m.noSync = "", dir, true
	return m.open(e)
}

// leaseOwner names this process in delivery leases: host/pid/nonce.
func leaseOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b)
}

// ownerAlive tells whether the process named by a lease owner still
// runs. Owners on other hosts count as alive until their lease expires.
func ownerAlive(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 3 {
		return true
	}
	host, _ := os.Hostname()
	if parts[0] != host {
		return true
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return true
	}
	if pid == os.Getpid() {
		return true
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
