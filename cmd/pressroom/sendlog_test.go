package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/testtool/smtptest"
)

// TestServeLogsFailedDeliveries: serve sends a digest (its start-up
// catch-up, as in TestServeCatchesUpTheDigest) to a real SMTP server that
// refuses one reader for good and another for now. Each failure is one
// JSON log line naming the message and the server's reply; the log names
// no other reader.
func TestServeLogsFailedDeliveries(t *testing.T) {
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	now := time.Now().In(loc)
	slotAt := now.Add(-time.Minute).Truncate(time.Minute)
	path := filepath.Join(t.TempDir(), "pressroom.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadDemo(ctx, db, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportSubscribers(ctx, now, func(put func(news.Subscriber) error) error {
		for i := range 4 {
			if err := put(news.Subscriber{Email: fmt.Sprintf("r%d@reader.example", i), Status: news.StatusActive, DeliveryHour: -1}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	srv := smtptest.New(t, func(s *smtptest.Server) {
		s.RcptReply["r1@reader.example"] = smtptest.Reply(550, smtp.EnhancedCode{5, 1, 1}, "no such mailbox here")
		s.RcptReply["r2@reader.example"] = smtptest.Reply(451, smtp.EnhancedCode{4, 3, 0}, "try again later")
	})
	hm := slotAt.Format("15:04")
	_, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", path, "--addr", "127.0.0.1:0",
		"--log-format", "json", "--smtp-url", srv.URL(), "--from", "Вестник <digest@news.example>", "--tz", "Europe/Moscow",
		"--digest-cron", fmt.Sprintf("%d %d * * *", slotAt.Minute(), slotAt.Hour()), "--cutoff", hm)
	// The ledger is written after each send returns, so once it shows
	// both failures their log lines are out.
	ledger := openDB(t, path)
	deadline := time.Now().Add(30 * time.Second)
	for {
		counts, err := ledger.DeliveryStateCounts(ctx)
		if err == nil && counts["sent"] == 2 && counts["failed"] == 1 && counts["deferred"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			r := stop()
			t.Fatalf("ledger after 30s: %v (%v), want 2 sent, 1 failed, 1 deferred\n%s", counts, err, r.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := stop()
	r.want(t, 0)
	date := slotAt.Format("2006-01-02")
	secret, err := ledger.LinkSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := news.NewTokenSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`"level":"ERROR","msg":"Digest not sent: permanent failure","message_id":"digest\.` + date + `\.s2\.` + signer.MessageTag(date, 2) + `@news\.example","status":"permanent","code":550,"enhanced":"5\.1\.1","edition":"` + date + `","reply":"[^\n]*no such mailbox here`),
		regexp.MustCompile(`"level":"WARN","msg":"Digest not sent: temporary failure","message_id":"digest\.` + date + `\.s3\.` + signer.MessageTag(date, 3) + `@news\.example","status":"temporary","code":451,"enhanced":"4\.3\.0","edition":"` + date + `","reply":"[^\n]*try again later`),
	} {
		if n := len(want.FindAllString(r.stderr, -1)); n != 1 {
			t.Errorf("serve log has %d lines matching %s, want 1:\n%s", n, want, r.stderr)
		}
	}
	for _, reader := range []string{"r0@reader.example", "r3@reader.example"} {
		if strings.Contains(r.stderr, reader) {
			t.Errorf("serve log names %s, a reader whose digest went out", reader)
		}
	}
}
