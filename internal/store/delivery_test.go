package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// ledgerFixture is a database with one edition and n queued deliveries.
type ledgerFixture struct {
	db      *DB
	edition int64
	subs    []int64
}

func newLedgerFixture(t *testing.T, n int, hours map[int]int) *ledgerFixture {
	t.Helper()
	ctx := context.Background()
	db, _ := openSubscriberDB(t)
	f := &ledgerFixture{db: db}
	for i := range n {
		s := news.Subscriber{Email: fmt.Sprintf("reader%d@example.com", i), Name: fmt.Sprintf("Reader %d", i),
			Status: news.StatusActive, DeliveryHour: news.DefaultDeliveryHour}
		if h, ok := hours[i]; ok {
			s.DeliveryHour, s.TimeZone = h, "Asia/Vladivostok"
		}
		got, err := db.AddSubscriber(ctx, s, news.ConsentEvent{At: t0, Source: news.SourceCLI})
		if err != nil {
			t.Fatal(err)
		}
		f.subs = append(f.subs, got.ID)
	}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO editions (date, created_at) VALUES ('2017-01-29', ?)`, t0.Unix())
		if err != nil {
			return err
		}
		f.edition, _ = res.LastInsertId()
		for _, id := range f.subs {
			if _, err := tx.Exec(`INSERT INTO deliveries (edition_id, subscriber_id, state, sections)
				VALUES (?, ?, 'queued', 'politics,world')`, f.edition, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *ledgerFixture) begin(t *testing.T, owner string, now time.Time, mod func(*news.LedgerBegin)) (news.LedgerBegun, error) {
	t.Helper()
	req := news.LedgerBegin{EditionID: f.edition, Owner: owner, Now: now, LeaseTTL: time.Minute,
		Due: func(hour int, zone string) time.Time {
			if hour < 0 {
				return t0
			}
			return t0.Add(time.Duration(hour) * time.Hour) // enough for the test
		}}
	if mod != nil {
		mod(&req)
	}
	return f.db.BeginDelivery(context.Background(), req)
}

func (f *ledgerFixture) step(t *testing.T, owner string, now time.Time, results []news.DeliveryResult, release []int64, claims ...int) [][]news.ClaimedDelivery {
	t.Helper()
	got, err := f.db.LedgerStep(context.Background(), news.LedgerStep{EditionID: f.edition, Owner: owner, Now: now,
		LeaseTTL: time.Minute, Results: results, Release: release, Claims: claims})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *ledgerFixture) counts(t *testing.T) map[news.DeliveryState]int {
	t.Helper()
	c, err := f.db.DeliveryCounts(context.Background(), f.edition)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLedgerClaimsAndResults(t *testing.T) {
	f := newLedgerFixture(t, 10, map[int]int{9: 20})
	if _, err := f.begin(t, "a", t0, nil); err != nil {
		t.Fatal(err)
	}
	got := f.step(t, "a", t0, nil, nil, 3, 4)
	if len(got) != 2 || len(got[0]) != 3 || len(got[1]) != 4 {
		t.Fatalf("claimed %v, want chunks of 3 and 4", got)
	}
	first := got[0][0]
	if first.Email != "reader0@example.com" || first.Name != "Reader 0" || !slices.Equal(first.Sections, []string{"politics", "world"}) ||
		first.EditionDate != "2017-01-29" || !first.DueAt.Equal(t0) || first.State != news.DeliverySending {
		t.Errorf("first claimed row = %+v", first)
	}
	if c := f.counts(t); c[news.DeliverySending] != 7 || c[news.DeliveryQueued] != 3 {
		t.Errorf("counts after claiming = %v", c)
	}
	at := t0.Add(time.Second)
	var results []news.DeliveryResult
	for i, r := range got[0] {
		switch i {
		case 0:
			results = append(results, news.DeliveryResult{DeliveryID: r.ID, SubscriberID: r.SubscriberID, State: news.DeliverySent, At: at, Reply: "250 2.0.0 Ok: queued", Attempted: true, MessageID: "m0@x"})
		case 1:
			results = append(results, news.DeliveryResult{DeliveryID: r.ID, SubscriberID: r.SubscriberID, State: news.DeliveryDeferred, At: at, Reply: "451 4.7.1 Greylisted", NextAttemptAt: at.Add(time.Minute), Attempted: true})
		case 2:
			results = append(results, news.DeliveryResult{DeliveryID: r.ID, SubscriberID: r.SubscriberID, State: news.DeliveryFailed, At: at, Reply: "550 5.1.1 No such user", Bounced: true, Attempted: true})
		}
	}
	var release []int64
	for _, r := range got[1] {
		release = append(release, r.ID)
	}
	// The second worker gives its rows back unsent and claims none: the
	// remaining queued rows (3 due now + 4 released; the reader with
	// delivery hour 20 is not due) go to the next claim.
	next := f.step(t, "a", at, results, release, 100)
	if n := len(next[0]); n != 6 {
		t.Errorf("next claim got %d rows, want 6 (due queued rows; deferred not yet due, hour-20 reader not due)", n)
	}
	rows, err := f.db.DeliveriesInStates(context.Background(), f.edition, []news.DeliveryState{news.DeliverySent, news.DeliveryDeferred, news.DeliveryFailed}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].State != news.DeliverySent || rows[0].Reply != "250 2.0.0 Ok: queued" || rows[0].Attempts != 1 ||
		!rows[0].SentAt.Equal(at) || rows[1].State != news.DeliveryDeferred || !rows[1].NextAttemptAt.Equal(at.Add(time.Minute)) ||
		rows[1].LastError != "451 4.7.1 Greylisted" || rows[2].State != news.DeliveryFailed {
		t.Errorf("recorded rows = %+v", rows)
	}
	s, err := f.db.SubscriberByID(context.Background(), got[0][2].SubscriberID)
	if err != nil || s.Status != news.StatusBounced {
		t.Errorf("subscriber after 5.1.1 = %v (%v), want bounced", s.Status, err)
	}
	// The deferred row is claimed again once its time has come. The run
	// renews its one-minute lease meanwhile, as digest's ledger writer
	// does every LeaseTTL/3 (an expired lease claims nothing: see
	// TestLedgerStepAfterLeaseExpiry).
	f.step(t, "a", at.Add(50*time.Second), nil, nil)
	f.step(t, "a", at.Add(100*time.Second), nil, nil)
	later := f.step(t, "a", at.Add(2*time.Minute), nil, nil, 100)
	if len(later[0]) != 1 || later[0][0].ID != got[0][1].ID || later[0][0].Attempts != 1 {
		t.Errorf("retry claim = %+v, want the deferred row with 1 attempt", later[0])
	}
	// Recording a result for a row that is not in sending is refused.
	_, err = f.db.LedgerStep(context.Background(), news.LedgerStep{EditionID: f.edition, Owner: "a", Now: at, LeaseTTL: time.Minute,
		Results: []news.DeliveryResult{{DeliveryID: got[0][0].ID, State: news.DeliverySent, At: at}}})
	if err == nil {
		t.Error("recording a second result for a sent row succeeded")
	}
}

func TestLedgerLeaseAndRecovery(t *testing.T) {
	f := newLedgerFixture(t, 20, nil)
	if _, err := f.begin(t, "a", t0, nil); err != nil {
		t.Fatal(err)
	}
	claimed := f.step(t, "a", t0, nil, nil, 5, 5)
	// A second live process is refused while the lease holds.
	alive := func(string) bool { return true }
	if _, err := f.begin(t, "b", t0.Add(10*time.Second), func(r *news.LedgerBegin) { r.OwnerAlive = alive }); !errors.Is(err, news.ErrDeliveryBusy) {
		t.Fatalf("second begin while leased: %v, want ErrDeliveryBusy", err)
	}
	// "a" dies (owner not alive): "b" takes over at once; a's 10 rows in
	// sending become unknown, not resent.
	dead := func(o string) bool { return o != "a" }
	begun, err := f.begin(t, "b", t0.Add(20*time.Second), func(r *news.LedgerBegin) { r.OwnerAlive = dead })
	if err != nil {
		t.Fatal(err)
	}
	if begun.Recovered != 10 {
		t.Errorf("recovered %d rows, want 10 (workers x chunk)", begun.Recovered)
	}
	// The dead owner can no longer write.
	if _, err := f.db.LedgerStep(context.Background(), news.LedgerStep{EditionID: f.edition, Owner: "a", Now: t0, LeaseTTL: time.Minute, Claims: []int{1}}); !errors.Is(err, news.ErrDeliveryBusy) {
		t.Errorf("step by the old owner: %v, want ErrDeliveryBusy", err)
	}
	rest := f.step(t, "b", t0.Add(20*time.Second), nil, nil, 100)
	if len(rest[0]) != 10 {
		t.Errorf("b claimed %d, want the 10 never-claimed rows", len(rest[0]))
	}
	for _, r := range rest[0] {
		for _, c := range append(claimed[0], claimed[1]...) {
			if r.ID == c.ID {
				t.Fatalf("row %d claimed by a was claimed again", r.ID)
			}
		}
	}
	if c := f.counts(t); c[news.DeliveryUnknown] != 10 {
		t.Errorf("counts = %v, want 10 unknown", c)
	}
	if err := f.db.EndDelivery(context.Background(), f.edition, "b"); err != nil {
		t.Fatal(err)
	}
	// b ended without recording: its rows are left in sending and a later
	// run marks them unknown too. With --resend-unknown all 20 are queued.
	begun, err = f.begin(t, "c", t0.Add(time.Hour), func(r *news.LedgerBegin) { r.ResendUnknown = true })
	if err != nil {
		t.Fatal(err)
	}
	if begun.Recovered != 10 {
		t.Errorf("recovered %d, want 10", begun.Recovered)
	}
	if c := f.counts(t); c[news.DeliveryQueued] != 20 {
		t.Errorf("after resend-unknown counts = %v, want 20 queued", c)
	}
}

func TestLedgerPersonalHoursAndStaleRows(t *testing.T) {
	f := newLedgerFixture(t, 4, map[int]int{2: 5, 3: 20})
	begun, err := f.begin(t, "a", t0.Add(6*time.Hour), func(r *news.LedgerBegin) { r.StaleBefore = t0.Add(3 * time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	// Due at t0 (two default readers) is more than 3h before "now": missed.
	// The hour-5 reader (due t0+5h) is within the window and due; the
	// hour-20 reader is not due yet.
	if begun.Missed != 2 {
		t.Errorf("missed %d, want 2", begun.Missed)
	}
	got := f.step(t, "a", t0.Add(6*time.Hour), nil, nil, 10)
	if len(got[0]) != 1 || got[0][0].SubscriberID != f.subs[2] {
		t.Errorf("claimed %+v, want only the hour-5 reader", got[0])
	}
	if c := f.counts(t); c[news.DeliverySkipped] != 2 || c[news.DeliveryQueued] != 1 {
		t.Errorf("counts = %v", c)
	}
}

func TestLedgerSkipsReadersWhoLeft(t *testing.T) {
	f := newLedgerFixture(t, 3, nil)
	ctx := context.Background()
	if _, _, err := f.db.Unsubscribe(ctx, f.subs[1], news.ConsentEvent{At: t0, Source: news.SourceOneClick}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.begin(t, "a", t0, nil); err != nil {
		t.Fatal(err)
	}
	got := f.step(t, "a", t0, nil, nil, 10)
	if len(got[0]) != 2 {
		t.Errorf("claimed %d rows, want 2 (the unsubscribed reader is skipped)", len(got[0]))
	}
	if c := f.counts(t); c[news.DeliverySkipped] != 1 {
		t.Errorf("counts = %v, want 1 skipped", c)
	}
}

func TestRecordBounce(t *testing.T) {
	f := newLedgerFixture(t, 3, nil)
	ctx := context.Background()
	if _, err := f.begin(t, "a", t0, nil); err != nil {
		t.Fatal(err)
	}
	got := f.step(t, "a", t0, nil, nil, 10)
	var res []news.DeliveryResult
	for _, r := range got[0] {
		res = append(res, news.DeliveryResult{DeliveryID: r.ID, SubscriberID: r.SubscriberID, State: news.DeliverySent, At: t0, Attempted: true})
	}
	f.step(t, "a", t0, res, nil)
	d0, d1, d2 := got[0][0], got[0][1], got[0][2]

	out, err := f.db.RecordBounce(ctx, news.BounceEvent{DeliveryID: d0.ID, Kind: news.BounceHard, Status: "5.1.1", Diagnostic: "User unknown", Source: "a.eml", At: t0}, "k1")
	if err != nil || out.NewStatus != news.StatusBounced || out.Email != "reader0@example.com" {
		t.Fatalf("hard bounce = %+v, %v", out, err)
	}
	if out, err := f.db.RecordBounce(ctx, news.BounceEvent{DeliveryID: d0.ID, Kind: news.BounceHard, Status: "5.1.1", At: t0}, "k1"); err != nil || !out.Duplicate {
		t.Errorf("same report again = %+v, %v; want duplicate", out, err)
	}
	out, err = f.db.RecordBounce(ctx, news.BounceEvent{DeliveryID: d1.ID, Kind: news.BounceComplaint, Source: "arf.eml", At: t0}, "k2")
	if err != nil || out.NewStatus != news.StatusComplained {
		t.Errorf("complaint = %+v, %v", out, err)
	}
	out, err = f.db.RecordBounce(ctx, news.BounceEvent{DeliveryID: d2.ID, Kind: news.BounceDelayed, Status: "4.2.2", At: t0}, "k3")
	if err != nil || out.NewStatus != "" {
		t.Errorf("delayed = %+v, %v", out, err)
	}
	rows, _ := f.db.DeliveriesInStates(ctx, f.edition, []news.DeliveryState{news.DeliveryFailed, news.DeliverySent}, 0)
	states := map[int64]news.DeliveryState{}
	for _, r := range rows {
		states[r.ID] = r.State
	}
	if states[d0.ID] != news.DeliveryFailed || states[d1.ID] != news.DeliverySent || states[d2.ID] != news.DeliverySent {
		t.Errorf("delivery states after bounces = %v", states)
	}
	if _, err := f.db.RecordBounce(ctx, news.BounceEvent{DeliveryID: 99999, Kind: news.BounceHard, At: t0}, "k4"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bounce for unknown delivery: %v, want ErrNotFound", err)
	}
	log, err := f.db.ConsentLog(ctx, d0.SubscriberID)
	if err != nil || len(log) == 0 || log[len(log)-1].Source != news.SourceMail || log[len(log)-1].Action != news.ConsentStatus {
		t.Errorf("consent log after bounce = %+v (%v)", log, err)
	}
}

func TestThreeSoftBouncesInARow(t *testing.T) {
	ctx := context.Background()
	db, _ := openSubscriberDB(t)
	s, err := db.AddSubscriber(ctx, news.Subscriber{Email: "soft@example.com", Status: news.StatusActive, DeliveryHour: -1}, news.ConsentEvent{At: t0, Source: news.SourceCLI})
	if err != nil {
		t.Fatal(err)
	}
	var dels []int64
	err = db.Write(ctx, func(tx *sql.Tx) error {
		for i := range 4 {
			res, err := tx.Exec(`INSERT INTO editions (date, created_at) VALUES (?, ?)`, fmt.Sprintf("2017-01-%02d", 20+i), t0.Unix())
			if err != nil {
				return err
			}
			ed, _ := res.LastInsertId()
			res, err = tx.Exec(`INSERT INTO deliveries (edition_id, subscriber_id, state) VALUES (?, ?, 'sent')`, ed, s.ID)
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			dels = append(dels, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []news.SubscriberStatus{"", "", news.StatusBounced} {
		out, err := db.RecordBounce(ctx, news.BounceEvent{DeliveryID: dels[i], Kind: news.BounceSoft, Status: "5.2.2", At: t0.Add(time.Duration(i) * time.Hour)}, fmt.Sprint("soft", i))
		if err != nil {
			t.Fatal(err)
		}
		if out.NewStatus != want {
			t.Errorf("soft bounce %d: new status %q, want %q", i+1, out.NewStatus, want)
		}
	}
}

func TestDurableWritePragmas(t *testing.T) {
	db, _ := openSubscriberDB(t)
	ctx := context.Background()
	var sync, cache int
	err := db.durableWrite(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
			return err
		}
		return tx.QueryRow("PRAGMA cache_size").Scan(&cache)
	})
	if err != nil {
		t.Fatal(err)
	}
	if sync != 2 || cache != -ledgerCacheKiB {
		t.Errorf("inside a ledger write: synchronous=%d cache_size=%d, want 2 (FULL) and %d", sync, cache, -ledgerCacheKiB)
	}
	err = db.Write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
			return err
		}
		return tx.QueryRow("PRAGMA cache_size").Scan(&cache)
	})
	if err != nil {
		t.Fatal(err)
	}
	if sync != 1 || cache != -16384 {
		t.Errorf("after a ledger write: synchronous=%d cache_size=%d, want the DSN's 1 (NORMAL) and -16384", sync, cache)
	}
}

// ledgerDump returns every delivery row, every lease and every
// subscriber row as text, to compare the ledger before and after a step.
func ledgerDump(t *testing.T, db *DB) string {
	t.Helper()
	return dumpRows(t, db,
		`SELECT * FROM deliveries ORDER BY id`,
		`SELECT * FROM delivery_leases ORDER BY edition_id`,
		`SELECT * FROM subscribers ORDER BY id`)
}

// TestLedgerStepAfterLeaseExpiry: a step renews the lease while it is
// unexpired; once it has expired (the run stalled past its TTL, nobody
// took it over yet) a step records the results and releases it carries
// but renews nothing, claims nothing and fails with ErrLeaseExpired, and
// a step with nothing to record leaves the database exactly as it was.
func TestLedgerStepAfterLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	f := newLedgerFixture(t, 6, nil)
	lease := func() (string, time.Time) {
		t.Helper()
		v, err := f.db.LedgerView(ctx, f.edition, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		return v.LeaseOwner, v.LeaseExpires
	}
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	if _, err := f.begin(t, "a", t0, nil); err != nil {
		t.Fatal(err)
	}
	claimed := f.step(t, "a", t0, nil, nil, 3)[0] // lease until t0+60s

	// Before expiry (one second before) a step renews the lease: a claim
	// at t0+100s, past the first expiry, then succeeds.
	f.step(t, "a", sec(59), nil, nil)
	if owner, until := lease(); owner != "a" || !until.Equal(sec(119)) {
		t.Fatalf("lease after a renewal at t0+59s = %q until %v, want a until %v", owner, until, sec(119))
	}
	claimed = append(claimed, f.step(t, "a", sec(100), nil, nil, 1)[0]...)
	if len(claimed) != 4 {
		t.Fatalf("claimed %d rows, want 4", len(claimed))
	}
	if _, until := lease(); !until.Equal(sec(160)) {
		t.Fatalf("lease after the claim at t0+100s until %v, want %v", until, sec(160))
	}

	// At expiry (expires_at <= now, as BeginDelivery reads it) a step
	// with nothing to record fails and changes nothing.
	before := ledgerDump(t, f.db)
	rows, err := f.db.LedgerStep(ctx, news.LedgerStep{EditionID: f.edition, Owner: "a", Now: sec(160), LeaseTTL: time.Minute, Claims: []int{2}})
	if !errors.Is(err, news.ErrLeaseExpired) || errors.Is(err, news.ErrDeliveryBusy) || rows != nil {
		t.Fatalf("step at expiry = %v, %v; want no rows and ErrLeaseExpired (not ErrDeliveryBusy)", rows, err)
	}
	if after := ledgerDump(t, f.db); after != before {
		t.Errorf("a refused renewal changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Long after expiry, a step carrying results and a release records
	// them, claims nothing and leaves the lease as it was.
	late := t0.Add(10 * time.Minute)
	results := []news.DeliveryResult{
		{DeliveryID: claimed[0].ID, SubscriberID: claimed[0].SubscriberID, State: news.DeliverySent, At: late,
			Reply: "250 2.0.0 Ok: queued as A1", MessageID: "m0@x", Attempted: true},
		{DeliveryID: claimed[1].ID, SubscriberID: claimed[1].SubscriberID, State: news.DeliveryDeferred, At: late,
			Reply: "451 4.7.1 Greylisted", NextAttemptAt: late.Add(time.Minute), Attempted: true},
	}
	rows, err = f.db.LedgerStep(ctx, news.LedgerStep{EditionID: f.edition, Owner: "a", Now: late, LeaseTTL: time.Minute,
		Results: results, Release: []int64{claimed[2].ID}, Claims: []int{10, 10}})
	if !errors.Is(err, news.ErrLeaseExpired) || rows != nil {
		t.Fatalf("step after expiry = %v, %v; want no rows and ErrLeaseExpired", rows, err)
	}
	if owner, until := lease(); owner != "a" || !until.Equal(sec(160)) {
		t.Errorf("lease after the refused step = %q until %v, want a until %v (not renewed)", owner, until, sec(160))
	}
	want := map[news.DeliveryState]int{news.DeliverySent: 1, news.DeliveryDeferred: 1, news.DeliverySending: 1, news.DeliveryQueued: 3}
	if got := f.counts(t); !maps.Equal(got, want) {
		t.Errorf("counts = %v, want %v (results and release recorded, nothing claimed)", got, want)
	}
	states := map[int64]news.DeliveryStatus{}
	all, err := f.db.DeliveriesInStates(ctx, f.edition, []news.DeliveryState{news.DeliveryQueued, news.DeliverySending,
		news.DeliverySent, news.DeliveryDeferred}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		states[r.ID] = r
	}
	if r := states[claimed[0].ID]; r.State != news.DeliverySent || r.Reply != "250 2.0.0 Ok: queued as A1" || !r.SentAt.Equal(late) || r.Attempts != 1 {
		t.Errorf("sent row = %+v", r)
	}
	if r := states[claimed[1].ID]; r.State != news.DeliveryDeferred || !r.NextAttemptAt.Equal(late.Add(time.Minute)) {
		t.Errorf("deferred row = %+v", r)
	}
	if r := states[claimed[2].ID]; r.State != news.DeliveryQueued {
		t.Errorf("released row = %+v, want queued", r)
	}
	if r := states[claimed[3].ID]; r.State != news.DeliverySending {
		t.Errorf("row still in hand = %+v, want sending", r)
	}

	// Another run takes the expired lease over even though a still runs:
	// only the row a never reported becomes unknown; the recorded ones
	// keep their results, so nothing is sent twice.
	begun, err := f.begin(t, "b", late, func(r *news.LedgerBegin) { r.OwnerAlive = func(string) bool { return true } })
	if err != nil {
		t.Fatal(err)
	}
	if begun.Recovered != 1 {
		t.Errorf("b recovered %d rows, want 1 (the row a had in hand)", begun.Recovered)
	}
	want = map[news.DeliveryState]int{news.DeliverySent: 1, news.DeliveryDeferred: 1, news.DeliveryUnknown: 1, news.DeliveryQueued: 3}
	if got := f.counts(t); !maps.Equal(got, want) {
		t.Errorf("counts after b took over = %v, want %v", got, want)
	}
	if _, err := f.db.LedgerStep(ctx, news.LedgerStep{EditionID: f.edition, Owner: "a", Now: late, LeaseTTL: time.Minute, Claims: []int{1}}); !errors.Is(err, news.ErrDeliveryBusy) {
		t.Errorf("a's step after b took over = %v, want ErrDeliveryBusy", err)
	}
}
