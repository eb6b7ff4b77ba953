// Package mail builds Pressroom's outgoing email and hands it to a
// transport: an SMTP relay (a pool of long-lived connections with a shared
// rate limit, per-message results and optional DKIM signing) or a file
// outbox that writes one .eml per message for the demo and dry runs.
//
// The MIME work is done by github.com/wneessen/go-mail; this package fixes
// the choices Pressroom makes for every message: our own Message-ID, UTF-8,
// base64 for non-ASCII bodies (quoted-printable for ASCII), text before HTML
// in multipart/alternative, RFC 2369/2919/8058 list headers and
// Auto-Submitted. It imports no other Pressroom package.
package mail

import (
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Header is one extra header field, kept in order.
type Header struct {
	Name  string
	Value string
}

// Message is one email as Pressroom sends it. Addresses are RFC 5322
// mailboxes; display names may be any UTF-8 (they are RFC 2047 encoded).
type Message struct {
	From    *netmail.Address
	To      *netmail.Address
	ReplyTo *netmail.Address // optional
	Subject string           // UTF-8; encoded as RFC 2047 words where needed
	Text    string           // plain-text part (required)
	HTML    string           // HTML part (optional; text then HTML in multipart/alternative)

	// MessageID is the id without angle brackets, e.g.
	// "digest.2017-01-29.42@news.example". Required: duplicates must be
	// recognisable, so we never let the library invent one.
	MessageID string
	// Date is the Date header; a zero Date is filled by the transport with
	// its clock at send time.
	Date time.Time

	// ListUnsubscribeURL is the one-click URL (RFC 8058); when it is https
	// the message also carries List-Unsubscribe-Post:
	// List-Unsubscribe=One-Click (one-click requires https).
	ListUnsubscribeURL string
	// ListUnsubscribeMailto is a mailto: URI added to List-Unsubscribe.
	ListUnsubscribeMailto string
	ListID                string // RFC 2919 value, e.g. `Press Review <digest.news.example>`
	ListArchive           string // URL of the web archive (RFC 2369)

	// EnvelopeFrom is the SMTP MAIL FROM address (the bounce address,
	// e.g. a VERP address from ExpandVERP); empty means the From address.
	EnvelopeFrom string

	Headers []Header // extra header fields, written in order
}

// MaxLineOctets is the RFC 5322 limit on a line, excluding CRLF.
const MaxLineOctets = 998

// ExpandVERP replaces "{token}" in pattern (e.g. "bounces+{token}@news.example")
// with token. A pattern without the placeholder is returned unchanged.
func ExpandVERP(pattern, token string) string {
	return strings.ReplaceAll(pattern, "{token}", token)
}

// VERPToken extracts the token from addr according to pattern, the inverse
// of ExpandVERP. ok is false when addr does not match the pattern.
func VERPToken(pattern, addr string) (token string, ok bool) {
	before, after, found := strings.Cut(pattern, "{token}")
	if !found {
		return "", false
	}
	la, lb, ll := strings.ToLower(addr), strings.ToLower(before), strings.ToLower(after)
	if len(la) < len(lb)+len(ll) || !strings.HasPrefix(la, lb) || !strings.HasSuffix(la, ll) {
		return "", false
	}
	t := addr[len(before) : len(addr)-len(after)]
	if t == "" {
		return "", false
	}
	return t, true
}

// dkimSignedHeaders are the header fields every DKIM signature covers.
// Keep the list short: go-mail v0.8.1 folds the DKIM-Signature header at
// 78 columns and splits a tag that does not fit on one line in the middle
// of a word; relaxed canonicalization then sees "List-Unsubscrib e-Post"
// and the signature fails. These seven names (70 characters) fit.
var dkimSignedHeaders = []string{
	"From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
}

// Validate reports what is missing or malformed in m.
func (m *Message) Validate() error {
	switch {
	case m.From == nil || m.From.Address == "":
		return errors.New("mail: message: From is required")
	case m.To == nil || m.To.Address == "":
		return errors.New("mail: message: To is required")
	case strings.Trim(m.MessageID, "<>") == "":
		return errors.New("mail: message: Message-ID is required")
	case m.Text == "":
		return errors.New("mail: message: a text part is required")
	case strings.ContainsAny(m.Subject, "\r\n"):
		return errors.New("mail: message: subject contains a line break")
	}
	for _, h := range m.Headers {
		if h.Name == "" || strings.ContainsAny(h.Name, ": \r\n") || strings.ContainsAny(h.Value, "\r\n") {
			return fmt.Errorf("mail: message: bad extra header %q", h.Name)
		}
	}
	if id := strings.Trim(m.MessageID, "<>"); !strings.Contains(id, "@") || strings.ContainsAny(id, " <>\r\n") {
		return fmt.Errorf("mail: message: bad Message-ID %q", m.MessageID)
	}
	return nil
}

// build turns m into a go-mail message. date is used when m.Date is zero.
func (m *Message) build(date time.Time) (*gomail.Msg, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingB64),
		gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(m.From)
	msg.ToMailAddress(m.To)
	if m.ReplyTo != nil && m.ReplyTo.Address != "" {
		msg.ReplyToMailAddress(m.ReplyTo)
	}
	if m.EnvelopeFrom != "" {
		if err := msg.EnvelopeFrom(m.EnvelopeFrom); err != nil {
			return nil, fmt.Errorf("mail: envelope from %q: %w", m.EnvelopeFrom, err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<>"))
	if !m.Date.IsZero() {
		date = m.Date
	}
	msg.SetDateWithValue(date)
	switch {
	case m.ListUnsubscribeURL != "" && !strings.HasPrefix(strings.ToLower(m.ListUnsubscribeURL), "https:"):
		// One-click (RFC 8058) needs https; a plain-http site (the demo)
		// gets the RFC 2369 header without List-Unsubscribe-Post.
		uris := []string{m.ListUnsubscribeURL}
		if m.ListUnsubscribeMailto != "" {
			uris = append(uris, m.ListUnsubscribeMailto)
		}
		msg.SetListUnsubscribe(uris...)
	case m.ListUnsubscribeURL != "":
		var extra []string
		if m.ListUnsubscribeMailto != "" {
			extra = append(extra, m.ListUnsubscribeMailto)
		}
		if err := msg.SetListUnsubscribeOneClick(m.ListUnsubscribeURL, extra...); err != nil {
			return nil, fmt.Errorf("mail: list-unsubscribe: %w", err)
		}
	case m.ListUnsubscribeMailto != "":
		msg.SetListUnsubscribe(m.ListUnsubscribeMailto)
	}
	if m.ListID != "" {
		msg.SetGenHeaderPreformatted("List-Id", m.ListID)
	}
	if m.ListArchive != "" {
		msg.SetGenHeaderPreformatted("List-Archive", "<"+m.ListArchive+">")
	}
	msg.SetGenHeaderPreformatted("Auto-Submitted", "auto-generated")
	for _, h := range m.Headers {
		msg.SetGenHeader(gomail.Header(h.Name), h.Value)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text, gomail.WithPartEncoding(bodyEncoding(m.Text)))
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML, gomail.WithPartEncoding(bodyEncoding(m.HTML)))
	}
	return msg, nil
}

// bodyEncoding picks base64 for non-ASCII bodies (about 1.35 bytes per
// byte against ~3 for quoted-printable Cyrillic) and quoted-printable for
// ASCII. Both keep lines far under 998 octets. go-mail's "7bit" encoding is
// avoided on purpose: v0.8.1 writes quoted-printable content under a
// "7bit" label, which would corrupt any "=" in the text.
func bodyEncoding(s string) gomail.Encoding {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return gomail.EncodingB64
		}
	}
	return gomail.EncodingQP
}

// Render writes m as an RFC 5322 message (CRLF line ends) to w, with
// date used when m.Date is zero. It does not DKIM-sign.
func (m *Message) Render(w io.Writer, date time.Time) (int64, error) {
	msg, err := m.build(date)
	if err != nil {
		return 0, err
	}
	n, err := msg.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("mail: render %s: %w", m.MessageID, err)
	}
	return n, nil
}
