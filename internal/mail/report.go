package mail

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
)

// ReportKind says what a machine-readable report is about.
type ReportKind string

// Report kinds.
const (
	KindDSN       ReportKind = "dsn"       // RFC 3464 delivery status notification
	KindComplaint ReportKind = "complaint" // RFC 5965 abuse feedback report (ARF)
)

// Report is a bounce (DSN) or a complaint (ARF) as a mailbox receives it.
type Report struct {
	Kind ReportKind
	// Addressed are the addresses the report was delivered to (To,
	// Delivered-To, X-Original-To, Envelope-To): with VERP the bounce
	// address carries the delivery's token.
	Addressed []string
	// OriginalMessageID is the Message-ID (without brackets) of the message
	// the report is about, from the returned message or its headers.
	OriginalMessageID string
	// OriginalEnvelopeFrom is the MAIL FROM of the original message when
	// the report says it (ARF Original-Mail-From, or the returned message's
	// Return-Path).
	OriginalEnvelopeFrom string
	// Recipients are the per-recipient fields of a DSN.
	Recipients []DSNRecipient
	// FeedbackType is the ARF Feedback-Type ("abuse", "fraud", ...).
	FeedbackType string
	// OriginalRecipient is the ARF Original-Rcpt-To, if present.
	OriginalRecipient string
}

// DSNRecipient is one per-recipient block of a DSN (RFC 3464 section 2.3).
type DSNRecipient struct {
	FinalRecipient    string // address only, "rfc822;" removed
	OriginalRecipient string
	Action            string // failed, delayed, delivered, relayed, expanded (lower case)
	Status            string // e.g. "5.1.1"
	Diagnostic        string // Diagnostic-Code, e.g. "smtp; 550 5.1.1 User unknown"
}

// Failed reports a DSN block that says the message was not and will not
// be delivered.
func (r DSNRecipient) Failed() bool { return r.Action == "failed" }

// Hard reports a permanent failure that means the address is bad: status
// 5.1.x (bad mailbox or domain) or 5.2.1 (mailbox disabled). Other
// failures (full mailbox, policy, content) are soft: they count towards
// a run of soft bounces but do not condemn the address on their own.
func (r DSNRecipient) Hard() bool {
	return r.Failed() && (strings.HasPrefix(r.Status, "5.1.") || r.Status == "5.2.1")
}

// ErrNotReport is returned by ParseReport for a message that is neither a
// DSN nor an ARF report.
var ErrNotReport = errors.New("not a delivery status or feedback report")

// ParseReport reads one message and extracts a DSN (multipart/report;
// report-type=delivery-status) or an ARF complaint (report-type=
// feedback-report). Anything else gives an error wrapping ErrNotReport.
func ParseReport(r io.Reader) (*Report, error) {
	m, err := netmail.ReadMessage(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("mail: report: %w", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" {
		return nil, fmt.Errorf("mail: report: content type %q: %w", m.Header.Get("Content-Type"), ErrNotReport)
	}
	rep := &Report{}
	switch strings.ToLower(params["report-type"]) {
	case "delivery-status":
		rep.Kind = KindDSN
	case "feedback-report":
		rep.Kind = KindComplaint
	default:
		return nil, fmt.Errorf("mail: report: report-type %q: %w", params["report-type"], ErrNotReport)
	}
	for _, h := range []string{"Delivered-To", "X-Original-To", "Envelope-To", "To"} {
		for _, v := range m.Header[textproto.CanonicalMIMEHeaderKey(h)] {
			if list, err := netmail.ParseAddressList(v); err == nil {
				for _, a := range list {
					rep.Addressed = append(rep.Addressed, a.Address)
				}
			} else if a := strings.Trim(strings.TrimSpace(v), "<>"); a != "" {
				rep.Addressed = append(rep.Addressed, a)
			}
		}
	}
	rep.Addressed = slices.Compact(rep.Addressed)
	mr := multipart.NewReader(m.Body, params["boundary"])
	found := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("mail: report: %w", err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body, err := io.ReadAll(io.LimitReader(p, 4<<20))
		if err != nil {
			return nil, fmt.Errorf("mail: report: part %s: %w", pt, err)
		}
		body = decodeCTE(p.Header.Get("Content-Transfer-Encoding"), body)
		switch pt {
		case "message/delivery-status", "message/global-delivery-status":
			if err := rep.parseDeliveryStatus(body); err != nil {
				return nil, err
			}
			found = true
		case "message/feedback-report":
			f, err := readFields(body)
			if err != nil || len(f) == 0 {
				return nil, fmt.Errorf("mail: report: feedback-report fields: %v", err)
			}
			fields := f[0]
			rep.FeedbackType = strings.ToLower(strings.TrimSpace(fields.Get("Feedback-Type")))
			rep.OriginalEnvelopeFrom = strings.Trim(strings.TrimSpace(fields.Get("Original-Mail-From")), "<>")
			rep.OriginalRecipient = stripAddrType(fields.Get("Original-Rcpt-To"))
			found = true
		case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers":
			rep.parseOriginal(body)
		}
	}
	if !found {
		return nil, fmt.Errorf("mail: report: no %s part: %w", rep.Kind, ErrNotReport)
	}
	return rep, nil
}

func decodeCTE(cte string, body []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		b, err := io.ReadAll(newBase64Reader(body))
		if err == nil {
			return b
		}
	case "quoted-printable":
		b, err := io.ReadAll(newQPReader(body))
		if err == nil {
			return b
		}
	}
	return body
}

// parseDeliveryStatus reads the per-message block and the per-recipient
// blocks of a message/delivery-status body.
func (rep *Report) parseDeliveryStatus(body []byte) error {
	blocks, err := readFields(body)
	if err != nil {
		return fmt.Errorf("mail: report: delivery-status: %w", err)
	}
	for i, b := range blocks {
		if i == 0 && b.Get("Final-Recipient") == "" {
			continue // the per-message block (Reporting-MTA, Arrival-Date...)
		}
		r := DSNRecipient{
			FinalRecipient:    stripAddrType(b.Get("Final-Recipient")),
			OriginalRecipient: stripAddrType(b.Get("Original-Recipient")),
			Action:            strings.ToLower(strings.TrimSpace(b.Get("Action"))),
			Status:            statusRE.FindString(b.Get("Status")),
			Diagnostic:        strings.Join(strings.Fields(b.Get("Diagnostic-Code")), " "),
		}
		if r.FinalRecipient == "" && r.Action == "" {
			continue
		}
		rep.Recipients = append(rep.Recipients, r)
	}
	if len(rep.Recipients) == 0 {
		return fmt.Errorf("mail: report: delivery-status has no recipient block")
	}
	return nil
}

var statusRE = regexp.MustCompile(`[245]\.\d{1,3}\.\d{1,3}`)

// parseOriginal takes the Message-ID and Return-Path of the returned
// message (or its headers only).
func (rep *Report) parseOriginal(body []byte) {
	if !bytes.Contains(body, []byte("\n\n")) && !bytes.Contains(body, []byte("\r\n\r\n")) {
		body = append(body, "\r\n\r\n"...) // headers only
	}
	m, err := netmail.ReadMessage(bytes.NewReader(body))
	if err != nil {
		return
	}
	if id := strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>"); id != "" {
		rep.OriginalMessageID = id
	}
	if rp := strings.Trim(strings.TrimSpace(m.Header.Get("Return-Path")), "<>"); rp != "" && rep.OriginalEnvelopeFrom == "" {
		rep.OriginalEnvelopeFrom = rp
	}
}

// readFields reads blank-line separated groups of header fields.
func readFields(body []byte) ([]textproto.MIMEHeader, error) {
	body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	var out []textproto.MIMEHeader
	for _, chunk := range regexp.MustCompile(`\n[ \t]*\n`).Split(string(body), -1) {
		chunk = strings.Trim(chunk, "\n")
		if strings.TrimSpace(chunk) == "" {
			continue
		}
		tr := textproto.NewReader(bufio.NewReader(strings.NewReader(chunk + "\n\n")))
		h, err := tr.ReadMIMEHeader()
		if err != nil && len(h) == 0 {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// stripAddrType turns "rfc822; user@example.com" into "user@example.com".
func stripAddrType(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, ";"); i >= 0 {
		v = strings.TrimSpace(v[i+1:])
	}
	return strings.Trim(v, "<>")
}

func newBase64Reader(b []byte) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b))
}

func newQPReader(b []byte) io.Reader { return quotedprintable.NewReader(bytes.NewReader(b)) }
