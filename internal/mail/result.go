package mail

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Sender delivers one message and reports what the receiving side said.
// *SMTP and *Outbox implement it; consumers (digest, web) declare their own
// copy of whatever subset they need.
type Sender interface {
	Send(ctx context.Context, m *Message) Result
	// SendBatch sends msgs in order and returns their results in order.
	// When ctx ends it may return fewer: the messages beyond were not
	// attempted.
	SendBatch(ctx context.Context, msgs []*Message) []Result
}

// SendEach is SendBatch for a sender that sends one message at a time.
func SendEach(ctx context.Context, s interface {
	Send(context.Context, *Message) Result
}, msgs []*Message) []Result {
	res := make([]Result, 0, len(msgs))
	for _, m := range msgs {
		if ctx.Err() != nil {
			break
		}
		res = append(res, s.Send(ctx, m))
	}
	return res
}

// Status classifies the outcome of one send.
type Status int

const (
	// Sent: the server accepted the message (250 after DATA), or the
	// outbox wrote it.
	Sent Status = iota + 1
	// Temporary: a 4xx reply, a network error or a timeout; try later.
	Temporary
	// Permanent: a 5xx reply or a message that cannot be built; do not
	// retry.
	Permanent
)

func (s Status) String() string {
	switch s {
	case Sent:
		return "sent"
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result is the outcome of sending one message.
type Result struct {
	Status Status
	// Reply is the server's reply text for a sent message (e.g. "2.0.0 Ok:
	// queued as 4A1B2") or the error text otherwise.
	Reply string
	// Code is the SMTP reply code (250, 421, 550, ...); 0 when no reply
	// was received (network error, timeout, dial failure).
	Code int
	// Enhanced is the RFC 3463 enhanced status code ("5.1.1"), if any.
	Enhanced string
	// Err is nil for Sent.
	Err error
}

// NoSuchUser reports a permanent "bad destination mailbox" failure
// (enhanced status 5.1.x, or a bare 550 "no such user"-style code without
// an enhanced code): the address should not be mailed again.
func (r Result) NoSuchUser() bool {
	if r.Status != Permanent {
		return false
	}
	if r.Enhanced != "" {
		return strings.HasPrefix(r.Enhanced, "5.1.")
	}
	return r.Code == 550 || r.Code == 551 || r.Code == 553
}

// Error returns r.Err; nil when the message was sent.
func (r Result) Error() error { return r.Err }

var enhancedRE = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)

var replyCodeRE = regexp.MustCompile(`(?:^|[:\s])([45][0-9][0-9])[\s-]`)

func replyCode(s string) int {
	m := replyCodeRE.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	return int(m[1][0]-'0')*100 + int(m[1][1]-'0')*10 + int(m[1][2]-'0')
}
