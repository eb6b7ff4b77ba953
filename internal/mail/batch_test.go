package mail

import (
	"context"
	"fmt"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/testtool/smtptest"
)

// Over PIPELINING the end of each message travels with the next one's
// MAIL, RCPT and DATA: one round trip per message.
func TestSMTPBatchPipelinesAcrossMessages(t *testing.T) {
	srv := newScriptServer(t, []string{"PIPELINING", "ENHANCEDSTATUSCODES"}, okReply)
	snd := scriptSender(t, srv)
	msgs := make([]*Message, 4)
	for i := range msgs {
		msgs[i] = readerMessage(i)
	}
	res := snd.SendBatch(context.Background(), msgs)
	if len(res) != len(msgs) {
		t.Fatalf("%d results for %d messages", len(res), len(msgs))
	}
	for i, r := range res {
		if r.Status != Sent || r.Reply != "2.0.0 queued as X1" {
			t.Errorf("message %d: %+v", i, r)
		}
	}
	_, piped, data, conns := srv.seen()
	var want []string
	for i := range msgs {
		want = append(want, fmt.Sprintf("MAIL FROM:<bounces+t%d@news.example>", i), fmt.Sprintf("RCPT TO:<reader%d@reader.example>", i))
		if i < len(msgs)-1 {
			want = append(want, ".") // the end of data, with the next MAIL behind it
		}
	}
	if diff := cmp.Diff(want, piped); diff != "" {
		t.Errorf("what arrived with more behind it (-want +got):\n%s", diff)
	}
	if conns != 1 || len(data) != 4 {
		t.Fatalf("server saw %d connections and %d messages, want 1 and 4", conns, len(data))
	}
	for i, d := range data {
		if !strings.Contains(d, fmt.Sprintf("reader%d@reader.example", i)) {
			t.Errorf("message %d as received is not reader %d's", i, i)
		}
	}
}

// Refusals in the middle of a batch are each message's own; the others
// go through on the same connection, in order.
func TestSMTPBatchRefusals(t *testing.T) {
	ts := smtptest.New(t, func(ts *smtptest.Server) {
		ts.RcptReply["gone@reader.example"] = smtptest.Reply(550, smtp.EnhancedCode{5, 1, 1}, "No such user")
		ts.DataReply["greylist@reader.example"] = smtptest.Reply(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted")
		ts.DataReply["full@reader.example"] = smtptest.Reply(552, smtp.EnhancedCode{5, 2, 2}, "Mailbox full")
	})
	s := newSender(t, ts, func(o *SMTPOptions) { o.Workers = 1 })
	to := []string{"a@reader.example", "gone@reader.example", "b@reader.example", "greylist@reader.example",
		"full@reader.example", "gone@reader.example", "c@reader.example"}
	msgs := make([]*Message, len(to))
	for i, addr := range to {
		msgs[i] = readerMessage(i)
		msgs[i].To = &netmail.Address{Address: addr}
	}
	msgs = append(msgs, &Message{From: msgs[0].From, To: msgs[0].To}) // cannot be built: no Message-ID
	res := s.SendBatch(context.Background(), msgs)
	type outcome struct {
		Status Status
		Code   int
	}
	var got []outcome
	for _, r := range res {
		got = append(got, outcome{r.Status, r.Code})
	}
	want := []outcome{{Sent, 250}, {Permanent, 550}, {Sent, 250}, {Temporary, 451}, {Permanent, 552},
		{Permanent, 550}, {Sent, 250}, {Permanent, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if !res[1].NoSuchUser() || res[4].NoSuchUser() {
		t.Errorf("NoSuchUser: 550 5.1.1 = %v, 552 5.2.2 = %v", res[1].NoSuchUser(), res[4].NoSuchUser())
	}
	var accepted []string
	for _, m := range ts.Messages() {
		accepted = append(accepted, m.To...)
	}
	if diff := cmp.Diff([]string{"a@reader.example", "b@reader.example", "c@reader.example"}, accepted); diff != "" {
		t.Errorf("server accepted (-want +got):\n%s", diff)
	}
	if c := ts.Conns(); c != 1 {
		t.Errorf("server saw %d connections, want 1", c)
	}
}

// A connection dropped during one message's data: that message is
// Temporary without a reply (the server may or may not have it); the
// next one, whose commands were in flight, goes through on a new
// connection; recycling splits a long batch over several connections.
func TestSMTPBatchDropAndRecycle(t *testing.T) {
	ts := smtptest.New(t, func(ts *smtptest.Server) { ts.DropMidData["drop@reader.example"] = 1 })
	s := newSender(t, ts, func(o *SMTPOptions) { o.Workers = 1; o.Recycle = 3 })
	msgs := make([]*Message, 8)
	for i := range msgs {
		msgs[i] = readerMessage(i)
		msgs[i].Text = strings.Repeat("Длинный текст. ", 2000)
	}
	msgs[1].To = &netmail.Address{Address: "drop@reader.example"}
	res := s.SendBatch(context.Background(), msgs)
	for i, r := range res {
		want := Sent
		if i == 1 {
			want = Temporary
		}
		if r.Status != want || (i == 1 && r.Code != 0) {
			t.Errorf("message %d: %+v, want %v", i, r, want)
		}
	}
	if len(res) != 8 || len(ts.Messages()) != 7 {
		t.Fatalf("%d results, server kept %d messages; want 8 and 7", len(res), len(ts.Messages()))
	}
	// Connection 1: messages 0 and 1 (dropped); then 2-4, 5-7 in threes.
	if c := ts.Conns(); c != 3 {
		t.Errorf("server saw %d connections, want 3", c)
	}
	if d := s.Dials(); d != 3 {
		t.Errorf("%d dials, want 3", d)
	}
}

// When the context ends, a batch stops starting messages and returns the
// results of those it attempted.
func TestSMTPBatchStopsWithContext(t *testing.T) {
	ts := smtptest.New(t, nil)
	s := newSender(t, ts, func(o *SMTPOptions) { o.Rate = 0.5 }) // one token every 2 s
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res := s.SendBatch(ctx, []*Message{readerMessage(1), readerMessage(2), readerMessage(3)})
	if len(res) != 1 || res[0].Status != Sent {
		t.Fatalf("results = %+v, want only the first, sent", res)
	}
	if n := len(ts.Messages()); n != 1 {
		t.Errorf("server received %d, want 1", n)
	}
}

// Under a rate limit a message's data is never held back while the next
// message waits for its token: it goes out alone, not with the next MAIL.
func TestSMTPBatchRateLimitDoesNotHoldData(t *testing.T) {
	srv := newScriptServer(t, []string{"PIPELINING"}, okReply)
	e, err := ParseURL("smtp://" + srv.Addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	snd, err := NewSMTP(SMTPOptions{Endpoint: e, Workers: 1, Rate: 2, Timeout: 5 * time.Second, HELO: "sender.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = snd.Close() })
	res := snd.SendBatch(context.Background(), []*Message{readerMessage(0), readerMessage(1), readerMessage(2)})
	if len(res) != 3 || res[0].Status != Sent || res[1].Status != Sent || res[2].Status != Sent {
		t.Fatalf("results = %+v", res)
	}
	_, piped, data, _ := srv.seen()
	if len(data) != 3 {
		t.Fatalf("server received %d messages, want 3", len(data))
	}
	for _, p := range piped {
		if p == "." {
			t.Errorf("a message's end of data waited for the next message's token: pipelined %q", piped)
			break
		}
	}
}
