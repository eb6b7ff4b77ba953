package store

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/pressroom/pressroom/internal/news"
)

// TestEraseScrubsServerReplies: mail servers quote the recipient in their
// replies and bounce reports. After erasure the address is nowhere in the
// database file, not in the ledger, the bounce events or the consent log,
// while the codes and other readers' rows stay.
func TestEraseScrubsServerReplies(t *testing.T) {
	ctx := context.Background()
	f := newLedgerFixture(t, 3, nil)
	if _, err := f.begin(t, "a", t0, nil); err != nil {
		t.Fatal(err)
	}
	got := f.step(t, "a", t0, nil, nil, 10)
	d0, d1, d2 := got[0][0], got[0][1], got[0][2]
	f.step(t, "a", t0, []news.DeliveryResult{
		// reader0: refused at RCPT, in upper case.
		{DeliveryID: d0.ID, SubscriberID: d0.SubscriberID, State: news.DeliveryFailed, At: t0, Attempted: true, Bounced: true,
			Reply: "550 5.1.1 <READER0@EXAMPLE.COM>: Recipient address rejected: User unknown"},
		{DeliveryID: d1.ID, SubscriberID: d1.SubscriberID, State: news.DeliverySent, At: t0, Attempted: true, Reply: "250 2.0.0 Ok: queued as 4XyZ"},
		{DeliveryID: d2.ID, SubscriberID: d2.SubscriberID, State: news.DeliveryDeferred, At: t0, Attempted: true, NextAttemptAt: t0.Add(10 * 60e9),
			Reply: "452 4.2.2 <reader2@example.com>: Mailbox full"},
	}, nil)
	// reader1: a bounce report arrives later and quotes the address.
	if _, err := f.db.RecordBounce(ctx, news.BounceEvent{DeliveryID: d1.ID, Kind: news.BounceHard, Status: "5.1.1",
		Diagnostic: "smtp; 550 5.1.1 <Reader1@Example.com>: Recipient address rejected", Source: "bounce-reader1@example.com.eml", At: t0}, "k1"); err != nil {
		t.Fatal(err)
	}

	for _, addr := range []string{"reader0@example.com", "reader1@example.com"} {
		if _, err := f.db.EraseSubscriber(ctx, addr, news.ConsentEvent{At: t0.Add(3600e9), Source: news.SourceCLI}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	var data []byte
	for _, p := range []string{f.db.path, f.db.path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		data = append(data, bytes.ToLower(b)...)
	}
	for _, gone := range []string{"reader0@example.com", "reader1@example.com"} {
		if bytes.Contains(data, []byte(gone)) {
			t.Errorf("the database file still holds %s after its erasure", gone)
		}
	}
	if !bytes.Contains(data, []byte("reader2@example.com")) {
		t.Error("reader2, never erased, is gone from the file too: the check finds nothing")
	}

	// What the servers said stays, without the address.
	var reply0, reply2, diag, source string
	if err := f.db.read.QueryRowContext(ctx, `SELECT last_error FROM deliveries WHERE id = ?`, d0.ID).Scan(&reply0); err != nil {
		t.Fatal(err)
	}
	if err := f.db.read.QueryRowContext(ctx, `SELECT last_error FROM deliveries WHERE id = ?`, d2.ID).Scan(&reply2); err != nil {
		t.Fatal(err)
	}
	if err := f.db.read.QueryRowContext(ctx, `SELECT diagnostic, source FROM bounce_events WHERE delivery_id = ?`, d1.ID).Scan(&diag, &source); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"reader0 last_error", reply0, "550 5.1.1 <" + erasedAddress + ">: Recipient address rejected: User unknown"},
		{"reader2 last_error", reply2, "452 4.2.2 <reader2@example.com>: Mailbox full"},
		{"reader1 diagnostic", diag, "smtp; 550 5.1.1 <" + erasedAddress + ">: Recipient address rejected"},
		{"reader1 report name", source, "bounce-" + erasedAddress + ".eml"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	for _, id := range []int64{d0.SubscriberID, d1.SubscriberID} {
		log, err := f.db.ConsentLog(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var bounced string
		for _, e := range log {
			if e.Action == news.ConsentStatus {
				bounced = e.Detail
			}
		}
		if !strings.HasPrefix(bounced, "bounced: ") || !strings.Contains(bounced, erasedAddress) || !strings.Contains(bounced, "5.1.1") {
			t.Errorf("subscriber %d: bounce in the consent log = %q, want the reply with the address redacted", id, bounced)
		}
	}
}
