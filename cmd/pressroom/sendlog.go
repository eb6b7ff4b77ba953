package main

import (
	"context"
	"log/slog"

	pmail "github.com/pressroom/pressroom/internal/mail"
)

// logFailures wraps serve's mail sender so that every digest delivery
// not sent (deferred or failed) gets one log line; sign-up emails are
// logged by internal/web already. The line names the message by its
// Message-ID, which carries the edition date and the subscriber id, and
// gives the server's reply; it never lists recipients.
func logFailures(next pmail.Sender, logger *slog.Logger) pmail.Sender {
	return failureLogger{next: next, logger: logger}
}

type failureLogger struct {
	next   pmail.Sender
	logger *slog.Logger
}

func (f failureLogger) Send(ctx context.Context, m *pmail.Message) pmail.Result {
	r := f.next.Send(ctx, m)
	f.log(ctx, m, r)
	return r
}

func (f failureLogger) SendBatch(ctx context.Context, msgs []*pmail.Message) []pmail.Result {
	res := f.next.SendBatch(ctx, msgs)
	for i, r := range res {
		f.log(ctx, msgs[i], r)
	}
	return res
}

func (f failureLogger) log(ctx context.Context, m *pmail.Message, r pmail.Result) {
	edition := ""
	for _, h := range m.Headers {
		if h.Name == "X-Pressroom-Edition" {
			edition = h.Value
		}
	}
	if r.Status == pmail.Sent || edition == "" {
		return
	}
	level, msg := slog.LevelWarn, "Digest not sent: temporary failure"
	if r.Status == pmail.Permanent {
		level, msg = slog.LevelError, "Digest not sent: permanent failure"
	}
	attrs := []any{"message_id", m.MessageID, "status", r.Status.String(), "code", r.Code}
	if r.Enhanced != "" {
		attrs = append(attrs, "enhanced", r.Enhanced)
	}
	f.logger.Log(ctx, level, msg, append(attrs, "edition", edition, "reply", r.Reply)...)
}
