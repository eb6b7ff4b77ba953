package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/news"
)

func openSubscriberDB(t *testing.T) (*DB, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "subs.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for i, s := range []news.Section{{Slug: "politics", Title: "Politics"}, {Slug: "world", Title: "World"}, {Slug: "sport", Title: "Sport"}} {
		s.Position = i
		if err := db.AddSection(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return db, path
}

var t0 = time.Date(2017, 1, 29, 8, 0, 0, 0, time.UTC)

func webEvent(at time.Time) news.ConsentEvent {
	return news.ConsentEvent{At: at, Source: news.SourceWeb, FormVersion: "subscribe-v1", IP: "192.0.2.7", UserAgent: "TestBrowser/1.0"}
}

// dump returns every subscriber-related row, to compare before and after.
func dump(t *testing.T, db *DB) string {
	t.Helper()
	return dumpRows(t, db,
		`SELECT id, email, email_key, name, status, created_at, confirmed_at, unsubscribed_at, delivery_hour, time_zone, paused, notified_at, erased_at FROM subscribers ORDER BY id`,
		`SELECT subscriber_id, section FROM subscriber_sections ORDER BY 1, 2`,
		`SELECT id, subscriber_id, at, action, source, form_version, ip, user_agent, detail FROM consent_log ORDER BY id`)
}

// dumpRows runs each query and returns every row as text, the queries'
// results separated by "--" lines: a database's state to compare before
// and after an operation that must change nothing.
func dumpRows(t *testing.T, db *DB, queries ...string) string {
	t.Helper()
	var b strings.Builder
	for _, q := range queries {
		rows, err := db.read.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%q\n", vals)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

func actions(t *testing.T, db *DB, id int64) []string {
	t.Helper()
	log, err := db.ConsentLog(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range log {
		out = append(out, string(e.Action)+"/"+string(e.Source))
	}
	return out
}

func TestSignUpLifeCycle(t *testing.T) {
	ctx := context.Background()
	db, _ := openSubscriberDB(t)

	s, outcome, err := db.SignUp(ctx, news.Subscriber{Email: "Reader@Example.com", Name: "Иван", Sections: []string{"politics", "world"}}, webEvent(t0))
	if err != nil || outcome != news.SignUpNew {
		t.Fatalf("SignUp(new) = %v, %v; want new", outcome, err)
	}
	want := news.Subscriber{ID: s.ID, Email: "Reader@Example.com", Name: "Иван", Sections: []string{"politics", "world"},
		Status: news.StatusPending, CreatedAt: t0, DeliveryHour: -1}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("after sign-up (-want +got):\n%s", diff)
	}

	// A second sign-up, by anyone, changes nothing while pending or active.
	before := dump(t, db)
	for _, email := range []string{"reader@example.com", "READER@EXAMPLE.COM"} {
		_, outcome, err = db.SignUp(ctx, news.Subscriber{Email: email, Name: "Mallory", Sections: []string{"sport"}}, webEvent(t0.Add(time.Minute)))
		if err != nil || outcome != news.SignUpPending {
			t.Errorf("SignUp(%s while pending) = %v, %v; want pending", email, outcome, err)
		}
	}
	if after := dump(t, db); after != before {
		t.Errorf("duplicate sign-up changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	s, changed, err := db.ConfirmSubscriber(ctx, s.ID, webEvent(t0.Add(time.Hour)))
	if err != nil || !changed || s.Status != news.StatusActive || !s.ConfirmedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ConfirmSubscriber = %+v, %v, %v; want active, confirmed at t0+1h", s, changed, err)
	}
	before = dump(t, db)
	if s2, changed, err := db.ConfirmSubscriber(ctx, s.ID, webEvent(t0.Add(2*time.Hour))); err != nil || changed || s2.Status != news.StatusActive {
		t.Errorf("ConfirmSubscriber again = %v, %v, %v; want active, unchanged", s2.Status, changed, err)
	}
	if _, outcome, err = db.SignUp(ctx, news.Subscriber{Email: "reader@example.com"}, webEvent(t0.Add(3*time.Hour))); err != nil || outcome != news.SignUpActive {
		t.Errorf("SignUp(active) = %v, %v; want active", outcome, err)
	}
	if after := dump(t, db); after != before {
		t.Errorf("replayed confirmation or sign-up of an active address changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	s, changed, err = db.Unsubscribe(ctx, s.ID, news.ConsentEvent{At: t0.Add(4 * time.Hour), Source: news.SourceOneClick})
	if err != nil || !changed || s.Status != news.StatusUnsubscribed || !s.UnsubscribedAt.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("Unsubscribe = %+v, %v, %v", s, changed, err)
	}
	if _, changed, err = db.Unsubscribe(ctx, s.ID, webEvent(t0.Add(5*time.Hour))); err != nil || changed {
		t.Errorf("Unsubscribe twice = changed %v, %v; want unchanged", changed, err)
	}
	if _, changed, err = db.ConfirmSubscriber(ctx, s.ID, webEvent(t0.Add(5*time.Hour))); err != nil || changed {
		t.Errorf("ConfirmSubscriber after unsubscribing = changed %v, %v; want unchanged", changed, err)
	}

	s, outcome, err = db.SignUp(ctx, news.Subscriber{Email: "reader@example.com", Sections: []string{"sport"}}, webEvent(t0.Add(6*time.Hour)))
	if err != nil || outcome != news.SignUpRenewed || s.Status != news.StatusPending || !cmp.Equal(s.Sections, []string{"sport"}) || !s.UnsubscribedAt.IsZero() {
		t.Errorf("SignUp after unsubscribing = %+v, %v, %v; want pending with [sport]", s, outcome, err)
	}
	if _, err := db.SetSubscriberStatus(ctx, s.ID, news.StatusComplained, news.ConsentEvent{At: t0.Add(7 * time.Hour), Source: news.SourceMail, Detail: "ARF report"}); err != nil {
		t.Fatal(err)
	}
	before = dump(t, db)
	if _, outcome, err = db.SignUp(ctx, news.Subscriber{Email: "reader@example.com"}, webEvent(t0.Add(8*time.Hour))); err != nil || outcome != news.SignUpBlocked {
		t.Errorf("SignUp(complained) = %v, %v; want blocked", outcome, err)
	}
	if after := dump(t, db); after != before {
		t.Errorf("sign-up of a complained address changed the database")
	}

	got := actions(t, db, s.ID)
	wantLog := []string{"subscribe/web", "confirm/web", "unsubscribe/one-click", "subscribe/web", "status/mail"}
	if diff := cmp.Diff(wantLog, got); diff != "" {
		t.Errorf("consent log (-want +got):\n%s", diff)
	}
	log, _ := db.ConsentLog(ctx, s.ID)
	if e := log[0]; e.IP != "192.0.2.7" || e.UserAgent != "TestBrowser/1.0" || e.FormVersion != "subscribe-v1" || e.Detail != "sections: politics, world" || !e.At.Equal(t0) {
		t.Errorf("first consent event = %+v", e)
	}
	if d := log[4].Detail; d != "pending -> complained; ARF report" {
		t.Errorf("status event detail = %q", d)
	}
}

func TestSignUpRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	db, _ := openSubscriberDB(t)
	before := dump(t, db)
	for _, s := range []news.Subscriber{
		{Email: "Name <a@example.com>"},
		{Email: "a@example.com\r\nBcc: b@example.com"},
		{Email: "a@example.com", Sections: []string{"weather"}},
		{Email: "a@example.com", Name: "x\ny"},
	} {
		if _, _, err := db.SignUp(ctx, s, webEvent(t0)); err == nil {
			t.Errorf("SignUp(%+v) = nil error", s)
		}
	}
	if after := dump(t, db); after != before {
		t.Errorf("rejected sign-ups changed the database:\n%s", after)
	}
}

func TestConsentLogAppendOnly(t *testing.T) {
	ctx := context.Background()
	db, _ := openSubscriberDB(t)
	s, _, err := db.SignUp(ctx, news.Subscriber{Email: "a@example.com"}, webEvent(t0))
	if err != nil {
		t.Fatal(err)
	}
	before := dump(t, db)
	for _, q := range []string{
		`UPDATE consent_log SET ip = '0.0.0.0'`,
		`UPDATE consent_log SET action = 'confirm' WHERE subscriber_id = ` + fmt.Sprint(s.ID),
		`DELETE FROM consent_log`,
		`DELETE FROM subscribers WHERE id = ` + fmt.Sprint(s.ID), // the log refers to it
		`UPDATE subscribers SET status = 'deleted'`,
		`INSERT INTO subscribers (email, email_key, status, created_at) VALUES ('b@example.com', 'b@example.com', 'gone', 0)`,
	} {
		if _, err := db.write.ExecContext(ctx, q); err == nil {
			t.Errorf("%s: succeeded, want an error", q)
		} else if strings.HasPrefix(q, "UPDATE consent_log") || q == "DELETE FROM consent_log" {
			if !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: error %v, want it to say append-only", q, err)
			}
		}
	}
	if after := dump(t, db); after != before {
		t.Errorf("consent log changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestEraseSubscriber(t *testing.T) {
	ctx := context.Background()
	db, path := openSubscriberDB(t)
	const addr = "erase.me.please@example.com"
	s, err := db.AddSubscriber(ctx, news.Subscriber{Email: addr, Name: "Eraseme Person", Status: news.StatusActive, Sections: []string{"world"}},
		news.ConsentEvent{At: t0, Source: news.SourceCLI})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpdatePreferences(ctx, s.ID, news.Preferences{Sections: []string{"sport"}, DeliveryHour: 7, TimeZone: "Europe/Berlin"}, webEvent(t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	other, err := db.AddSubscriber(ctx, news.Subscriber{Email: "stays@example.com", Status: news.StatusActive}, news.ConsentEvent{At: t0, Source: news.SourceCLI})
	if err != nil {
		t.Fatal(err)
	}

	id, err := db.EraseSubscriber(ctx, strings.ToUpper(addr), news.ConsentEvent{At: t0.Add(2 * time.Hour), Source: news.SourceCLI, Detail: "GDPR request #12"})
	if err != nil || id != s.ID {
		t.Fatalf("EraseSubscriber = %d, %v; want %d", id, err, s.ID)
	}
	if _, err := db.SubscriberByEmail(ctx, addr); !errors.Is(err, ErrNotFound) || !errors.Is(err, news.ErrUnknownSubscriber) {
		t.Errorf("SubscriberByEmail(erased) = %v, want ErrNotFound and news.ErrUnknownSubscriber", err)
	}
	if _, err := db.SubscriberByID(ctx, s.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("SubscriberByID(erased) = %v, want ErrNotFound", err)
	}
	if _, err := db.EraseSubscriber(ctx, addr, news.ConsentEvent{At: t0.Add(3 * time.Hour), Source: news.SourceCLI}); !errors.Is(err, ErrNotFound) {
		t.Errorf("EraseSubscriber twice = %v, want ErrNotFound", err)
	}
	list, err := db.ListSubscribers(ctx, "", "")
	if err != nil || len(list) != 1 || list[0].ID != other.ID {
		t.Errorf("ListSubscribers after erasure = %+v, %v; want only %d", list, err, other.ID)
	}
	got := actions(t, db, s.ID)
	if diff := cmp.Diff([]string{"subscribe/cli", "preferences/web", "erase/cli"}, got); diff != "" {
		t.Errorf("consent log kept after erasure (-want +got):\n%s", diff)
	}
	if _, _, err := db.UpdatePreferences(ctx, s.ID, news.Preferences{DeliveryHour: -1}, webEvent(t0.Add(4*time.Hour))); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdatePreferences(erased) = %v, want ErrNotFound", err)
	}
	// The same address may sign up again later as a new subscriber.
	again, outcome, err := db.SignUp(ctx, news.Subscriber{Email: addr}, webEvent(t0.Add(5*time.Hour)))
	if err != nil || outcome != news.SignUpNew || again.ID == s.ID {
		t.Errorf("SignUp after erasure = %d, %v, %v; want a new subscriber", again.ID, outcome, err)
	}
	if _, err := db.EraseSubscriber(ctx, addr, news.ConsentEvent{At: t0.Add(6 * time.Hour), Source: news.SourceCLI}); err != nil {
		t.Fatal(err)
	}

	// Nothing of the address or name is left in the file.
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"erase.me.please", "ERASE.ME.PLEASE", "Eraseme Person"} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s still contains %q after erasure", filepath.Base(f), secret)
			}
		}
	}
}

func TestImportSubscribersAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := openSubscriberDB(t)
	if _, err := db.AddSubscriber(ctx, news.Subscriber{Email: "old@example.com", Status: news.StatusActive}, news.ConsentEvent{At: t0, Source: news.SourceCLI}); err != nil {
		t.Fatal(err)
	}
	before := dump(t, db)
	bad := [][]news.Subscriber{
		{{Email: "a@example.com", Status: news.StatusActive}, {Email: "A@example.com", Status: news.StatusActive}},
		{{Email: "a@example.com", Status: news.StatusActive}, {Email: "OLD@example.com", Status: news.StatusPending}},
		{{Email: "a@example.com", Status: news.StatusActive}, {Email: "b@example.com", Status: news.StatusActive, Sections: []string{"weather"}}},
		{{Email: "a@example.com", Status: "gone"}},
	}
	for i, batch := range bad {
		n, err := db.ImportSubscribers(ctx, t0, func(put func(news.Subscriber) error) error {
			for _, s := range batch {
				if err := put(s); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil || n != 0 {
			t.Errorf("batch %d: ImportSubscribers = %d, %v; want an error", i, n, err)
		}
	}
	if after := dump(t, db); after != before {
		t.Errorf("failed imports changed the database:\n%s", after)
	}
	n, err := db.ImportSubscribers(ctx, t0, func(put func(news.Subscriber) error) error {
		for _, s := range []news.Subscriber{
			{Email: "a@example.com", Status: news.StatusActive, Sections: []string{"world", "politics"}},
			{Email: "b@example.com", Status: news.StatusUnsubscribed},
			{Email: "c@example.com", Status: news.StatusPending, Sections: []string{"sport"}},
		} {
			if err := put(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("ImportSubscribers = %d, %v", n, err)
	}
	for _, tc := range []struct {
		status  news.SubscriberStatus
		section string
		want    []string
	}{
		{"", "", []string{"old@example.com", "a@example.com", "b@example.com", "c@example.com"}},
		{news.StatusActive, "", []string{"old@example.com", "a@example.com"}},
		{"", "sport", []string{"old@example.com", "b@example.com", "c@example.com"}},
		{news.StatusActive, "world", []string{"old@example.com", "a@example.com"}},
		{news.StatusPending, "world", nil},
	} {
		list, err := db.ListSubscribers(ctx, tc.status, tc.section)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range list {
			got = append(got, s.Email)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ListSubscribers(%q, %q) (-want +got):\n%s", tc.status, tc.section, diff)
		}
	}
	a, _ := db.SubscriberByEmail(ctx, "a@example.com")
	if !cmp.Equal(a.Sections, []string{"politics", "world"}) || !a.ConfirmedAt.Equal(t0) {
		t.Errorf("imported a = %+v", a)
	}
	if got := actions(t, db, a.ID); !cmp.Equal(got, []string{"subscribe/import"}) {
		t.Errorf("imported consent log = %v", got)
	}
}

func TestUpdatePreferences(t *testing.T) {
	ctx := context.Background()
	db, _ := openSubscriberDB(t)
	s, err := db.AddSubscriber(ctx, news.Subscriber{Email: "p@example.com", Status: news.StatusActive, DeliveryHour: -1}, news.ConsentEvent{At: t0, Source: news.SourceCLI})
	if err != nil {
		t.Fatal(err)
	}
	before := dump(t, db)
	for _, p := range []news.Preferences{
		{Sections: []string{"weather"}, DeliveryHour: -1},
		{DeliveryHour: 24},
		{DeliveryHour: 7, TimeZone: "Mars/Base"},
	} {
		if _, _, err := db.UpdatePreferences(ctx, s.ID, p, webEvent(t0)); err == nil {
			t.Errorf("UpdatePreferences(%+v) = nil error", p)
		}
	}
	if _, changed, err := db.UpdatePreferences(ctx, s.ID, news.Preferences{DeliveryHour: -1}, webEvent(t0)); err != nil || changed {
		t.Errorf("UpdatePreferences(same) = changed %v, %v", changed, err)
	}
	if _, _, err := db.UpdatePreferences(ctx, 9999, news.Preferences{DeliveryHour: -1}, webEvent(t0)); !errors.Is(err, news.ErrUnknownSubscriber) {
		t.Errorf("UpdatePreferences(unknown id) = %v", err)
	}
	if after := dump(t, db); after != before {
		t.Errorf("rejected preference changes changed the database")
	}
	p := news.Preferences{Sections: []string{"world", "politics"}, DeliveryHour: 6, TimeZone: "Asia/Vladivostok", Paused: true}
	got, changed, err := db.UpdatePreferences(ctx, s.ID, p, webEvent(t0.Add(time.Hour)))
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	p.Sections = []string{"politics", "world"}
	if diff := cmp.Diff(p, got.Preferences()); diff != "" || got.Receives() {
		t.Errorf("preferences (-want +got):\n%s (receives %v)", diff, got.Receives())
	}
	log, _ := db.ConsentLog(ctx, s.ID)
	if d := log[len(log)-1].Detail; d != "sections: politics, world; hour: 06:00; zone: Asia/Vladivostok; paused" {
		t.Errorf("preferences detail = %q", d)
	}
	if _, _, err := db.Unsubscribe(ctx, s.ID, webEvent(t0.Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpdatePreferences(ctx, s.ID, news.Preferences{DeliveryHour: -1}, webEvent(t0)); err == nil {
		t.Error("UpdatePreferences(unsubscribed) = nil error")
	}
	r, changed, err := db.Resubscribe(ctx, s.ID, webEvent(t0.Add(3*time.Hour)))
	if err != nil || !changed || r.Status != news.StatusActive || !cmp.Equal(r.Sections, []string{"politics", "world"}) {
		t.Errorf("Resubscribe = %+v, %v, %v", r, changed, err)
	}
}

func TestNoteSubscriberMailAndSecret(t *testing.T) {
	ctx := context.Background()
	db, path := openSubscriberDB(t)
	s, _, err := db.SignUp(ctx, news.Subscriber{Email: "n@example.com"}, webEvent(t0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {time.Minute, false}, {9 * time.Minute, false}, {10 * time.Minute, true}, {11 * time.Minute, false}} {
		ok, err := db.NoteSubscriberMail(ctx, s.ID, t0.Add(tc.at), 10*time.Minute)
		if err != nil || ok != tc.want {
			t.Errorf("NoteSubscriberMail(t0+%v) = %v, %v; want %v", tc.at, ok, err, tc.want)
		}
	}

	sec, err := db.LinkSecret(ctx)
	if err != nil || len(sec) != 32 {
		t.Fatalf("LinkSecret = %x, %v", sec, err)
	}
	db.Close()
	db2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	sec2, err := db2.LinkSecret(ctx)
	if err != nil || !bytes.Equal(sec, sec2) {
		t.Errorf("LinkSecret after reopening = %x, %v; want %x", sec2, err, sec)
	}
	other, _ := openSubscriberDB(t)
	if sec3, _ := other.LinkSecret(ctx); bytes.Equal(sec3, sec) {
		t.Error("two databases generated the same secret")
	}
}

func TestEachSubscriberSections(t *testing.T) {
	ctx := context.Background()
	db, _ := openSubscriberDB(t)
	all := [][]string{nil, {"sport"}, {"politics", "world"}, nil, nil, {"politics", "sport", "world"}, {"world"}}
	want := map[string][]string{}
	for i, secs := range all {
		email := fmt.Sprintf("r%d@example.com", i)
		status := news.StatusActive
		if i == 3 {
			status = news.StatusPending
		}
		if _, err := db.AddSubscriber(ctx, news.Subscriber{Email: email, Status: status, Sections: secs, DeliveryHour: -1}, news.ConsentEvent{At: t0, Source: news.SourceCLI}); err != nil {
			t.Fatal(err)
		}
		if status == news.StatusActive {
			want[email] = secs
		}
	}
	if _, err := db.EraseSubscriber(ctx, "r2@example.com", news.ConsentEvent{At: t0, Source: news.SourceCLI}); err != nil {
		t.Fatal(err)
	}
	delete(want, "r2@example.com")
	got := map[string][]string{}
	var ids []int64
	err := db.EachSubscriber(ctx, news.StatusActive, "", func(s news.Subscriber) error {
		got[s.Email] = s.Sections
		ids = append(ids, s.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EachSubscriber sections (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids not in order: %v", ids)
	}
	stop := errors.New("enough")
	n := 0
	if err := db.EachSubscriber(ctx, "", "", func(news.Subscriber) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachSubscriber with a failing fn = %v after %d calls", err, n)
	}
}
