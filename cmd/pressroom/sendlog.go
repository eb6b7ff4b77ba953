package main

import (
	"context"
	"log/slog"

	pmail "github.com/pressroom/pressroom/internal/mail"
)

// logFailures wraps serve's mail sender so that every message not sent
// (a deferred or failed digest delivery, a sign-up email that did not
// go) gets one log line. The line names the message by its Message-ID,
// which for a digest carries the edition date and the subscriber id, and
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
	if r.Status == pmail.Sent {
		return r
	}
	level, msg := slog.LevelWarn, "Mail not sent; will be retried"
	if r.Status == pmail.Permanent {
		level, msg = slog.LevelError, "Mail not sent: permanent failure"
	}
	attrs := []any{"message_id", m.MessageID, "status", r.Status.String(), "code", r.Code}
	if r.Enhanced != "" {
		attrs = append(attrs, "enhanced", r.Enhanced)
	}
	for _, h := range m.Headers {
		if h.Name == "X-Pressroom-Edition" {
			attrs = append(attrs, "edition", h.Value)
		}
	}
	f.logger.Log(ctx, level, msg, append(attrs, "reply", r.Reply)...)
	return r
}
