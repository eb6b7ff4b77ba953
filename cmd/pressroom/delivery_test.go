package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"github.com/pressroom/pressroom/digest"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/testtool/smtptest"
)

var msk = time.FixedZone("MSK", 3*3600)

// The demo data's articles end on 2026-11-27; the edition of that date
// covers (26 Nov 08:00, 27 Nov 08:00] Moscow time.
const edDate = "2026-11-27"

var (
	demoNow = time.Date(2026, 11, 27, 12, 0, 0, 0, msk)
	slot    = time.Date(2026, 11, 27, 8, 0, 0, 0, msk)
)

// deliveryNewsroom creates a database with the demo articles and n active
// readers reader0000@reader.example...; mod may change each reader.
func deliveryNewsroom(t testing.TB, n int, mod func(i int, s *news.Subscriber)) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pressroom.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := loadDemo(ctx, db, demoNow); err != nil {
		t.Fatal(err)
	}
	sections := [][]string{nil, {"politics"}, {"economy", "world"}, {"sport"}}
	_, err = db.ImportSubscribers(ctx, demoNow.Add(-48*time.Hour), func(put func(news.Subscriber) error) error {
		for i := range n {
			s := news.Subscriber{Email: fmt.Sprintf("reader%04d@reader.example", i), Name: fmt.Sprintf("Читатель %d", i),
				Status: news.StatusActive, DeliveryHour: news.DefaultDeliveryHour, Sections: sections[i%len(sections)]}
			if mod != nil {
				mod(i, &s)
			}
			if err := put(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// clock is a controlled clock for the delivery code.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// deliveryRig is a database, an SMTP server and the delivery set up as
// digest send and serve build it, with a controlled clock.
type deliveryRig struct {
	t     testing.TB
	path  string
	db    *store.DB
	srv   *smtptest.Server
	clock *clock
	env   *env
	setup *deliverySetup
	log   *lockedBuffer
}

func newRig(t testing.TB, dbPath string, srv *smtptest.Server, flags ...string) *deliveryRig {
	t.Helper()
	ctx := context.Background()
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	r := &deliveryRig{t: t, path: dbPath, srv: srv, clock: &clock{t: demoNow}, log: &lockedBuffer{}}
	r.env = &env{stdout: r.log, stderr: r.log, lookupEnv: func(string) (string, bool) { return "", false },
		now: r.clock.Now, g: newGlobals(), logger: slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		cfg: Config{DB: dbPath, BaseURL: "https://news.example", TimeZone: "Europe/Moscow", Location: loc}}
	cf := r.env.newFlags("test", "", "")
	mf := addMailFlags(cf)
	df := addDeliveryFlags(cf)
	args := append([]string{"--smtp-url", srv.URL(), "--from", "Пресс-служба «Вестник» <digest@news.example>",
		"--envelope-from", "bounces+{token}@news.example", "--postal-address", "1 Tverskaya St, Moscow",
		"--smtp-timeout", "5s"}, flags...)
	if err := cf.Parse(args); err != nil {
		t.Fatal(err)
	}
	r.db, err = store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.db.Close() })
	m, err := mf.open(r.env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.close() })
	r.setup, err = df.setup(ctx, r.env, r.db, m, r.env.cfg.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// plan plans the edition at the current clock.
func (r *deliveryRig) plan() *news.Edition {
	r.t.Helper()
	p, err := r.setup.planner.Plan(context.Background(), edDate, r.clock.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	return &p.Edition
}

func (r *deliveryRig) deliver(ed *news.Edition) digest.DeliveryStats {
	r.t.Helper()
	st, err := r.setup.deliver(context.Background(), r.env, ed, false, time.Time{})
	if err != nil {
		r.t.Fatalf("deliver: %v\nlog:\n%s", err, r.log)
	}
	return st
}

func (r *deliveryRig) counts(ed *news.Edition) map[news.DeliveryState]int {
	r.t.Helper()
	c, err := r.db.DeliveryCounts(context.Background(), ed.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// decodedPart is one body part read back with mime/multipart.
type decodedPart struct {
	ctype, charset, cte, body string
}

func readParts(t testing.TB, m *netmail.Message) []decodedPart {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	var out []decodedPart
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		cte := p.Header.Get("Content-Transfer-Encoding")
		var rd io.Reader = p
		if strings.EqualFold(cte, "base64") {
			rd = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, decodedPart{ctype: pt, charset: strings.ToUpper(pp["charset"]), cte: strings.ToLower(cte), body: string(b)})
	}
	return out
}

func writeKey(t testing.TB) (keyFile, txt string) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile, "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
}

// TestDeliverThousandReaders sends one edition to 1,000 readers over
// four connections with DKIM and checks every message the server got.
func TestDeliverThousandReaders(t *testing.T) {
	const n = 1000
	path := deliveryNewsroom(t, n, nil)
	srv := smtptest.New(t, nil)
	key, record := writeKey(t)
	r := newRig(t, path, srv, "--dkim-key", key, "--dkim-selector", "press", "--smtp-workers", "4", "--chunk", "25",
		"--unsubscribe-mailto", "mailto:unsubscribe@news.example")
	ed := r.plan()
	st := r.deliver(ed)
	if st.Sent != n || st.Failed != 0 || st.Deferred != 0 {
		t.Fatalf("stats = %+v, want %d sent", st, n)
	}
	if c := r.counts(ed); c[news.DeliverySent] != n {
		t.Fatalf("ledger = %v", c)
	}
	if got := srv.Conns(); got > n/100+4 {
		t.Errorf("server saw %d connections for %d messages (recycle 100, 4 workers)", got, n)
	}
	subs, err := r.db.ListSubscribers(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	byEmail := map[string]news.Subscriber{}
	for _, s := range subs {
		byEmail[s.Email] = s
	}
	lookup := func(domain string) ([]string, error) {
		if domain != "press._domainkey.news.example" {
			return nil, fmt.Errorf("no TXT for %s", domain)
		}
		return []string{record}, nil
	}
	dels, err := r.db.Deliveries(context.Background(), ed.ID)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := r.db.LinkSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := news.NewTokenSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	delivery := map[int64]int64{} // subscriber -> delivery
	for _, d := range dels {
		delivery[d.SubscriberID] = d.ID
	}
	seen := map[string]bool{}
	for _, m := range srv.Messages() {
		if len(m.To) != 1 {
			t.Fatalf("message to %v", m.To)
		}
		to := m.To[0]
		if seen[to] {
			t.Fatalf("%s got the edition twice", to)
		}
		seen[to] = true
		sub, ok := byEmail[to]
		if !ok {
			t.Fatalf("message to unknown reader %s", to)
		}
		for i, l := range strings.Split(string(m.Data), "\r\n") {
			if len(l) > 998 {
				t.Fatalf("%s: line %d is %d octets", to, i+1, len(l))
			}
		}
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) != 1 || vs[0].Err != nil {
			t.Fatalf("%s: DKIM: %v %+v", to, err, vs)
		}
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		h := msg.Header
		from, _ := h.AddressList("From")
		if len(from) != 1 || from[0].Name != "Пресс-служба «Вестник»" || from[0].Address != "digest@news.example" {
			t.Errorf("%s: From = %v", to, from)
		}
		toh, _ := h.AddressList("To")
		if len(toh) != 1 || toh[0].Address != to || toh[0].Name != sub.Name {
			t.Errorf("To = %v, want %s %q", toh, to, sub.Name)
		}
		if got, want := h.Get("Message-Id"), fmt.Sprintf("<digest.%s.s%d.%s@news.example>", edDate, sub.ID, signer.MessageTag(edDate, sub.ID)); got != want {
			t.Errorf("Message-ID = %q, want %q", got, want)
		}
		if _, err := h.Date(); err != nil {
			t.Errorf("%s: Date: %v", to, err)
		}
		subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
		if err != nil || !strings.Contains(subj, "27 November 2026") {
			t.Errorf("%s: Subject %q (%v)", to, subj, err)
		}
		lu := h.Get("List-Unsubscribe")
		if !strings.HasPrefix(lu, "<https://news.example/unsubscribe?t=") || !strings.Contains(lu, "<mailto:unsubscribe@news.example>") {
			t.Errorf("%s: List-Unsubscribe = %q", to, lu)
		}
		for k, v := range map[string]string{
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "Auto-Submitted": "auto-generated",
			"List-Archive": "<https://news.example/digest/" + edDate + ">", "List-Id": "Press Review <digest.news.example>",
		} {
			if got := h.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", to, k, got, v)
			}
		}
		if want := "bounces+" + signer.DeliveryToken(delivery[sub.ID]) + "@news.example"; m.From != want {
			t.Errorf("%s: MAIL FROM %s, want %s", to, m.From, want)
		}
		parts := readParts(t, msg)
		if len(parts) != 2 || parts[0].ctype != "text/plain" || parts[1].ctype != "text/html" ||
			parts[0].charset != "UTF-8" || parts[1].charset != "UTF-8" {
			t.Fatalf("%s: parts %+v", to, parts)
		}
		for _, p := range parts {
			if p.cte != "base64" && p.cte != "quoted-printable" {
				t.Errorf("%s: %s part in %q", to, p.ctype, p.cte)
			}
		}
		unsub := strings.Trim(strings.Split(lu, ",")[0], "<>")
		if !strings.Contains(parts[1].body, strings.ReplaceAll(unsub, "&", "&amp;")) && !strings.Contains(parts[1].body, unsub) {
			t.Errorf("%s: HTML lacks the personal unsubscribe link", to)
		}
	}
	if len(seen) != n {
		t.Errorf("%d readers got the edition, want %d", len(seen), n)
	}
	// Delivering again sends nothing: the ledger says everyone has it.
	st = r.deliver(ed)
	if st.Sent != 0 || srv.Len() != n {
		t.Errorf("second run sent %d (server has %d), want nothing more", st.Sent, srv.Len())
	}
}

func deliveryID(t testing.TB, db *store.DB, editionID, subscriberID int64) int64 {
	t.Helper()
	ds, err := db.Deliveries(context.Background(), editionID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.SubscriberID == subscriberID {
			return d.ID
		}
	}
	t.Fatalf("no delivery for subscriber %d", subscriberID)
	return 0
}

// TestDeliverRetriesAndBounces: 421 and 451 are deferred and retried
// after the backoff, 550 5.1.1 fails at once and bounces the reader, a
// connection dropped mid-DATA defers, a server that closes after N
// messages costs nothing but redials.
func TestDeliverRetriesAndBounces(t *testing.T) {
	path := deliveryNewsroom(t, 60, func(i int, s *news.Subscriber) { s.Sections = nil })
	srv := smtptest.New(t, func(ts *smtptest.Server) {
		ts.RcptReply["reader0001@reader.example"] = smtptest.Reply(421, smtp.EnhancedCode{4, 7, 0}, "Try again later")
		ts.FailTimes["reader0001@reader.example"] = 1
		ts.DataReply["reader0002@reader.example"] = smtptest.Reply(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted")
		ts.FailTimes["reader0002@reader.example"] = 2
		ts.RcptReply["reader0003@reader.example"] = smtptest.Reply(550, smtp.EnhancedCode{5, 1, 1}, "No such user")
		ts.DropMidData["reader0004@reader.example"] = 1
		ts.DataReply["reader0005@reader.example"] = smtptest.Reply(451, smtp.EnhancedCode{4, 3, 0}, "Always busy")
		ts.CloseAfter = 7
	})
	r := newRig(t, path, srv, "--smtp-workers", "2", "--chunk", "5", "--smtp-recycle", "1000")
	ed := r.plan()
	st := r.deliver(ed)
	if st.Sent != 55 || st.Deferred != 4 || st.Failed != 1 || st.Bounced != 1 {
		t.Fatalf("first pass = %+v, want 55 sent, 4 deferred, 1 failed and bounced\n%s", st, r.log)
	}
	if c := srv.Conns(); c < 60/7 {
		t.Errorf("server closing after 7 messages: %d connections", c)
	}
	s3, err := r.db.SubscriberByEmail(context.Background(), "reader0003@reader.example")
	if err != nil || s3.Status != news.StatusBounced {
		t.Errorf("reader0003 status %v (%v), want bounced", s3.Status, err)
	}
	rows, err := r.db.DeliveriesInStates(context.Background(), ed.ID, []news.DeliveryState{news.DeliveryDeferred}, 0)
	if err != nil || len(rows) != 4 {
		t.Fatalf("deferred rows %+v (%v)", rows, err)
	}
	for _, row := range rows {
		if want := demoNow.Add(time.Minute); !row.NextAttemptAt.Equal(want) || row.Attempts != 1 {
			t.Errorf("%s: next attempt %v attempts %d, want %v and 1", row.Email, row.NextAttemptAt, row.Attempts, want)
		}
	}
	// Before the backoff nothing is retried.
	r.clock.Set(demoNow.Add(30 * time.Second))
	if st := r.deliver(ed); st.Sent+st.Deferred+st.Failed != 0 {
		t.Errorf("retry before backoff: %+v", st)
	}
	// After a minute: 421 (once), mid-DATA drop (once) go through; 451 x2
	// and the always-busy one are deferred again, now for 5 minutes.
	r.clock.Set(demoNow.Add(61 * time.Second))
	st = r.deliver(ed)
	if st.Sent != 2 || st.Deferred != 2 {
		t.Errorf("second pass = %+v, want 2 sent, 2 deferred", st)
	}
	r.clock.Set(demoNow.Add(61*time.Second + 5*time.Minute + time.Second))
	st = r.deliver(ed)
	if st.Sent != 1 || st.Deferred != 1 {
		t.Errorf("third pass = %+v, want 1 sent (greylisting over), 1 deferred", st)
	}
	// Past the 6-hour deadline the always-busy reader fails.
	r.clock.Set(slot.Add(6*time.Hour + time.Minute))
	st = r.deliver(ed)
	if st.Failed != 1 {
		t.Errorf("after the deadline = %+v, want 1 failed", st)
	}
	counts := srv.CountTo()
	for i := range 60 {
		to := fmt.Sprintf("reader%04d@reader.example", i)
		want := 1
		if i == 3 || i == 5 {
			want = 0
		}
		if counts[to] != want {
			t.Errorf("%s received %d copies, want %d", to, counts[to], want)
		}
	}
	if c := r.counts(ed); c[news.DeliverySent] != 58 || c[news.DeliveryFailed] != 2 {
		t.Errorf("ledger = %v", c)
	}
}

// TestPersonalDeliveryHour: a reader who chose 20:00 in Vladivostok gets
// the edition from the hourly job at that hour, not at the 08:00 slot.
func TestPersonalDeliveryHour(t *testing.T) {
	path := deliveryNewsroom(t, 3, func(i int, s *news.Subscriber) {
		s.Sections = nil
		if i == 2 {
			s.DeliveryHour, s.TimeZone = 20, "Asia/Vladivostok" // UTC+10: 20:00 there is 13:00 in Moscow
		}
	})
	srv := smtptest.New(t, nil)
	r := newRig(t, path, srv)
	d := r.dispatcher(t)
	r.clock.Set(slot.Add(time.Second))
	if err := d.RunSlot(context.Background(), slot, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if srv.Len() != 2 {
		t.Fatalf("at the slot the server got %d, want 2", srv.Len())
	}
	r.clock.Set(time.Date(2026, 11, 27, 12, 0, 0, 0, msk))
	if err := d.Hourly(context.Background(), r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if srv.Len() != 2 {
		t.Fatalf("at 12:00 Moscow the server got %d, want still 2", srv.Len())
	}
	r.clock.Set(time.Date(2026, 11, 27, 13, 0, 1, 0, msk))
	if err := d.Hourly(context.Background(), r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if srv.CountTo()["reader0002@reader.example"] != 1 || srv.Len() != 3 {
		t.Errorf("after 20:00 Vladivostok: %v", srv.CountTo())
	}
}

func (r *deliveryRig) dispatcher(t testing.TB) *digest.Dispatcher {
	t.Helper()
	d, err := newDispatcher(r.env, r.db, r.setup, "0 8 * * *", 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCatchUpAndDoubleFiring drives the scheduled delivery with a
// controlled clock.
func TestCatchUpAndDoubleFiring(t *testing.T) {
	t.Run("within the window", func(t *testing.T) {
		srv := smtptest.New(t, nil)
		r := newRig(t, deliveryNewsroom(t, 20, nil), srv)
		r.clock.Set(slot.Add(2*time.Hour + 59*time.Minute))
		if err := r.dispatcher(t).CatchUp(context.Background(), r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if srv.Len() == 0 {
			t.Fatalf("catch-up 2h59m after the slot sent nothing\n%s", r.log)
		}
		outcome, err := r.db.Slot(context.Background(), slot)
		if err != nil || outcome != "run" {
			t.Errorf("slot outcome %q (%v), want run", outcome, err)
		}
		// Starting again catches up nothing more.
		n := srv.Len()
		if err := r.dispatcher(t).CatchUp(context.Background(), r.clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if srv.Len() != n {
			t.Errorf("second start sent %d more", srv.Len()-n)
		}
	})
	t.Run("too late", func(t *testing.T) {
		srv := smtptest.New(t, nil)
		r := newRig(t, deliveryNewsroom(t, 20, nil), srv)
		r.clock.Set(slot.Add(3*time.Hour + time.Minute))
		if err := r.dispatcher(t).CatchUp(context.Background(), r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if srv.Len() != 0 {
			t.Errorf("catch-up 3h01m after the slot sent %d", srv.Len())
		}
		outcome, err := r.db.Slot(context.Background(), slot)
		if err != nil || outcome != "missed" {
			t.Errorf("slot outcome %q (%v), want missed", outcome, err)
		}
		if !strings.Contains(r.log.String(), "Digest slot missed") {
			t.Errorf("no warning logged:\n%s", r.log)
		}
		if _, err := r.db.EditionByDate(context.Background(), edDate); err == nil {
			t.Errorf("a missed slot planned its edition")
		}
	})
	t.Run("double firing", func(t *testing.T) {
		const n = 200
		srv := smtptest.New(t, func(ts *smtptest.Server) { ts.Delay = time.Millisecond })
		path := deliveryNewsroom(t, n, func(i int, s *news.Subscriber) { s.Sections = nil })
		// Two processes (two rigs, two owners, one database) fire the same
		// slot at once, then one fires it again (DST fall-back).
		a, b := newRig(t, path, srv, "--chunk", "5"), newRig(t, path, srv, "--chunk", "5")
		a.clock.Set(slot.Add(time.Second))
		b.clock.Set(slot.Add(2 * time.Second))
		var wg sync.WaitGroup
		for _, r := range []*deliveryRig{a, b} {
			wg.Go(func() {
				if err := r.dispatcher(t).RunSlot(context.Background(), slot, r.clock.Now()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// Whichever lost the lease left the rest to the winner, or ran
		// after it: run both once more as the hourly job would.
		for _, r := range []*deliveryRig{a, b} {
			if err := r.dispatcher(t).RunSlot(context.Background(), slot, r.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		counts := srv.CountTo()
		if len(counts) != n {
			t.Errorf("%d readers got the edition, want %d", len(counts), n)
		}
		for to, c := range counts {
			if c != 1 {
				t.Errorf("%s got %d copies", to, c)
			}
		}
	})
}

// TestBouncesImport feeds a DSN matched by VERP token, one matched by
// Message-ID and an ARF complaint through "pressroom bounces import",
// each built from what the SMTP server received (the real envelope sender
// and Message-ID). Forged reports first: tokens and Message-IDs that do
// not carry the server's tag are skipped and change nothing.
func TestBouncesImport(t *testing.T) {
	path := deliveryNewsroom(t, 4, func(i int, s *news.Subscriber) { s.Sections = nil })
	srv := smtptest.New(t, nil)
	r := newRig(t, path, srv)
	ed := r.plan()
	r.deliver(ed)
	ctx := context.Background()
	subs, _ := r.db.ListSubscribers(ctx, "", "")
	// What each reader's copy carried: envelope sender and Message-ID.
	bounceAddr, msgID := map[string]string{}, map[string]string{}
	for _, m := range srv.Messages() {
		hdr, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		bounceAddr[m.To[0]] = m.From
		msgID[m.To[0]] = strings.Trim(hdr.Header.Get("Message-ID"), "<>")
	}
	for _, sub := range subs {
		d := deliveryID(t, r.db, ed.ID, sub.ID)
		if got, plain := bounceAddr[sub.Email], fmt.Sprintf("bounces+d%d@news.example", d); !strings.HasPrefix(got, fmt.Sprintf("bounces+d%d-", d)) || len(got) != len(plain)+17 {
			t.Errorf("%s: envelope sender %q, want bounces+d%d- and a 16-character tag", sub.Email, got, d)
		}
		if got := msgID[sub.Email]; !strings.HasPrefix(got, fmt.Sprintf("digest.%s.s%d.", edDate, sub.ID)) || !strings.HasSuffix(got, "@news.example") {
			t.Errorf("%s: Message-ID %q", sub.Email, got)
		}
	}
	dsn := func(to, finalRcpt, status, action, msgID string) string {
		return "To: " + to + "\r\nFrom: MAILER-DAEMON@mx.reader.example\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.reader.example\r\n\r\nFinal-Recipient: rfc822; " + finalRcpt +
			"\r\nAction: " + action + "\r\nStatus: " + status + "\r\nDiagnostic-Code: smtp; 550 " + status + " gone\r\n\r\n" +
			"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + msgID + ">\r\nSubject: x\r\n\r\n--b--\r\n"
	}
	write := func(dir string, files map[string]string) {
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	importArgs := func(dir string) []string {
		return []string{"bounces", "import", "--db", path, "--envelope-from", "bounces+{token}@news.example", dir}
	}

	// Forgeries aimed at reader 3: the plain delivery id of earlier
	// versions, reader 0's genuine tag on reader 3's id, a Message-ID
	// with a made-up tag and one without a tag.
	victim := subs[3]
	dv := deliveryID(t, r.db, ed.ID, victim.ID)
	realTag := bounceAddr[subs[0].Email][strings.Index(bounceAddr[subs[0].Email], "-")+1 : strings.Index(bounceAddr[subs[0].Email], "@")]
	forgedDir := t.TempDir()
	write(forgedDir, map[string]string{
		"f1.eml": dsn(fmt.Sprintf("bounces+d%d@news.example", dv), victim.Email, "5.1.1", "failed", "unrelated@x"),
		"f2.eml": dsn(fmt.Sprintf("bounces+d%d-%s@news.example", dv, realTag), victim.Email, "5.1.1", "failed", "unrelated@x"),
		"f3.eml": dsn("bounces@news.example", victim.Email, "5.1.1", "failed", fmt.Sprintf("digest.%s.s%d.aaaaaaaaaaaaaaaa@news.example", edDate, victim.ID)),
		"f4.eml": dsn("bounces@news.example", victim.Email, "5.1.1", "failed", fmt.Sprintf("digest.%s.s%d@news.example", edDate, victim.ID)),
		// A forged token wins over a genuine Message-ID: the report is not ours.
		"f5.eml": dsn(fmt.Sprintf("bounces+d%d-%s@news.example", dv, realTag), victim.Email, "5.1.1", "failed", msgID[victim.Email]),
	})
	before := dump(t, path)
	res := pressroom(t, "", importArgs(forgedDir)...)
	res.want(t, 0, "f1.eml: skipped: token not valid", "f2.eml: skipped: token not valid",
		"f3.eml: skipped: Message-ID", "f4.eml: skipped: matches no delivery", "f5.eml: skipped: token not valid")
	if !strings.Contains(res.stdout, "5 files: skipped 5") {
		t.Errorf("forged import output:\n%s", res.stdout)
	}
	if after := dump(t, path); after != before {
		t.Errorf("forged reports changed the database")
	}
	if s, err := r.db.SubscriberByID(ctx, victim.ID); err != nil || s.Status != news.StatusActive {
		t.Errorf("victim after forged bounces: %v (%v), want active", s.Status, err)
	}

	// Genuine reports: what came back to the real bounce addresses.
	dir := t.TempDir()
	arf := "To: abuse@news.example\r\nFrom: fbl@isp.example\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nAbuse report.\r\n" +
		"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\nOriginal-Mail-From: <" + bounceAddr[subs[2].Email] + ">\r\n\r\n" +
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: x\r\n\r\n--b--\r\n"
	write(dir, map[string]string{
		// Relays may change the case of the local part.
		"1.eml": dsn(strings.ToUpper(bounceAddr[subs[0].Email]), subs[0].Email, "5.1.1", "failed", "unrelated@x"),
		"2.eml": dsn("bounces@news.example", subs[1].Email, "4.2.2", "delayed", msgID[subs[1].Email]),
		"3.eml": arf,
		"4.eml": "From: someone@example.com\r\nSubject: hello\r\n\r\nNot a report.\r\n",
	})
	res = pressroom(t, "", importArgs(dir)...)
	res.want(t, 0, "4.eml: skipped: not a bounce or complaint report")
	for _, want := range []string{"4 files:", "hard 1", "delayed 1", "complaint 1", "skipped 1",
		subs[0].Email + " -> bounced", subs[2].Email + " -> complained"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
	for i, want := range []news.SubscriberStatus{news.StatusBounced, news.StatusActive, news.StatusComplained, news.StatusActive} {
		s, err := r.db.SubscriberByID(ctx, subs[i].ID)
		if err != nil || s.Status != want {
			t.Errorf("subscriber %d: %v (%v), want %v", i, s.Status, err, want)
		}
	}
	after := dump(t, path)
	// Importing the same folder again changes nothing.
	pressroom(t, "", importArgs(dir)...).want(t, 0)
	if again := dump(t, path); again != after {
		t.Errorf("second import changed the database")
	}
	if before == after {
		t.Errorf("first import changed nothing")
	}
	// The next edition is not planned for the bounced or complained reader.
	ed2 := time.Date(2026, 11, 28, 8, 0, 1, 0, msk)
	r.clock.Set(ed2)
	p, err := r.setup.planner.Plan(ctx, "2026-11-28", ed2)
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := r.db.Deliveries(ctx, p.Edition.ID)
	var emails []string
	for _, d := range ds {
		emails = append(emails, d.Email)
	}
	if !slices.Equal(emails, []string{subs[1].Email, subs[3].Email}) {
		t.Errorf("next edition goes to %v, want only %s and %s", emails, subs[1].Email, subs[3].Email)
	}
}

// buildBinary builds the pressroom binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pressroom")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSendKilledAndRestarted runs "pressroom digest send" as a real
// process, SIGKILLs it part-way, restarts it, and counts at the server:
// every reader gets the edition exactly once, except the rows reported
// unknown (at most smtp-workers x chunk), which get it at most once until
// the operator resends them.
func TestSendKilledAndRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const n, workers, chunk = 600, 4, 10
	bin := buildBinary(t)
	path := deliveryNewsroom(t, n, func(i int, s *news.Subscriber) { s.Sections = nil })
	srv := smtptest.New(t, func(ts *smtptest.Server) { ts.Delay = 5 * time.Millisecond })
	args := func(extra ...string) []string {
		return append([]string{"digest", "send", "--db", path, "--date", edDate, "--smtp-url", srv.URL(),
			"--base-url", "https://news.example", "--postal-address", "1 Tverskaya St, Moscow",
			"--from", "Вестник <digest@news.example>", "--smtp-workers", fmt.Sprint(workers), "--chunk", fmt.Sprint(chunk)}, extra...)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args()...)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for srv.Len() < n/4 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("server got only %d messages in 60 s\n%s", srv.Len(), stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	atKill := srv.Len()
	if atKill >= n {
		t.Fatalf("the send finished (%d messages) before it was killed", atKill)
	}
	// Before any restart, status already lists the rows the dead run left
	// in sending as unknown, and changes nothing.
	beforeStatus := dump(t, path)
	res := pressroom(t, "", "digest", "status", "--db", path, "--date", edDate, "--limit", "0")
	res.want(t, 0)
	if dump(t, path) != beforeStatus {
		t.Errorf("digest status changed the database")
	}
	statusUnknown := map[string]bool{}
	for _, l := range strings.Split(res.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "unknown" {
			statusUnknown[f[1]] = true
		}
		if strings.HasPrefix(l, "sending ") {
			t.Errorf("status after the kill lists a row as sending: %q", l)
		}
	}
	if len(statusUnknown) == 0 || len(statusUnknown) > workers*chunk ||
		!strings.Contains(res.stdout, fmt.Sprintf("%d of them were left in sending by a run that is gone", len(statusUnknown))) {
		t.Errorf("status after the kill: %d rows unknown (want 1 to %d):\n%s", len(statusUnknown), workers*chunk, res.stdout)
	}

	out, err := exec.Command(bin, args()...).CombinedOutput()
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	res = pressroom(t, "", "digest", "status", "--db", path, "--date", edDate, "--limit", "0")
	res.want(t, 0)
	unknown := strings.Count(res.stdout, "\nunknown ")
	if unknown > workers*chunk {
		t.Errorf("%d rows unknown, more than workers x chunk = %d\n%s", unknown, workers*chunk, res.stdout)
	}
	t.Logf("killed after %d messages; %d rows unknown; restart output:\n%s", atKill, unknown, out)
	if !strings.Contains(res.stdout, fmt.Sprintf("%d readers: sent %d", n, n-unknown)) {
		t.Errorf("status after restart:\n%s", res.stdout)
	}
	db := openDB(t, path)
	ed, err := db.EditionByDate(context.Background(), edDate)
	if err != nil {
		t.Fatal(err)
	}
	unknownRows, err := db.DeliveriesInStates(context.Background(), ed.ID, []news.DeliveryState{news.DeliveryUnknown}, 0)
	if err != nil {
		t.Fatal(err)
	}
	isUnknown := map[string]bool{}
	for _, r := range unknownRows {
		isUnknown[r.Email] = true
	}
	if !maps.Equal(isUnknown, statusUnknown) {
		t.Errorf("the restart recorded %d rows unknown, status before it showed %d (they differ)", len(isUnknown), len(statusUnknown))
	}
	counts := srv.CountTo()
	for i := range n {
		to := fmt.Sprintf("reader%04d@reader.example", i)
		switch c := counts[to]; {
		case isUnknown[to] && c > 1, !isUnknown[to] && c != 1:
			t.Errorf("%s (unknown=%v) received %d copies", to, isUnknown[to], c)
		}
	}
	// On the operator's word the unknown rows are sent again: now every
	// reader has it, and only unknown rows may have two copies.
	if out, err := exec.Command(bin, args("--resend-unknown")...).CombinedOutput(); err != nil {
		t.Fatalf("resend: %v\n%s", err, out)
	}
	counts = srv.CountTo()
	for i := range n {
		to := fmt.Sprintf("reader%04d@reader.example", i)
		if c := counts[to]; c < 1 || (c > 1 && !isUnknown[to]) {
			t.Errorf("%s (unknown=%v) received %d copies after resend", to, isUnknown[to], c)
		}
	}
}

// TestStatusInterruptedRows crafts rows in sending under each kind of
// lease in a real database: status shows them as unknown exactly when
// no live run holds the lease (the rule a new run applies to take it
// over), and as sending while one does; it never writes.
func TestStatusInterruptedRows(t *testing.T) {
	path := deliveryNewsroom(t, 5, func(i int, s *news.Subscriber) { s.Sections = nil })
	r := newRig(t, path, smtptest.New(t, nil))
	ed := r.plan()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	run := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Two readers claimed, as a run does before its SMTP transactions.
	run(`UPDATE deliveries SET state = 'sending', claimed_at = ?
		WHERE id IN (SELECT id FROM deliveries WHERE edition_id = ? ORDER BY id LIMIT 2)`, time.Now().Unix(), ed.ID)
	host, _ := os.Hostname()
	// A process on this host that surely runs (this test) and one that
	// surely does not (a child that has exited).
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	live := fmt.Sprintf("%s/%d/test", host, os.Getpid())
	dead := fmt.Sprintf("%s/%d/test", host, child.Process.Pid)
	future, past := time.Now().Add(time.Hour).Unix(), time.Now().Add(-time.Minute).Unix()
	tests := []struct {
		name    string
		owner   string // "" = no lease row
		expires int64
		gone    bool
	}{
		{"no lease", "", 0, true},
		{"dead owner on this host", dead, future, true},
		{"live owner, lease expired", live, past, true},
		{"live owner", live, future, false},
		{"owner on another host, lease valid", "elsewhere.example/1/x", future, false},
		{"owner on another host, lease expired", "elsewhere.example/1/x", past, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(`DELETE FROM delivery_leases`)
			if tt.owner != "" {
				run(`INSERT INTO delivery_leases (edition_id, owner, expires_at) VALUES (?, ?, ?)`, ed.ID, tt.owner, tt.expires)
			}
			before := dump(t, path)
			res := pressroom(t, "", "digest", "status", "--db", path, "--date", edDate)
			res.want(t, 0)
			if dump(t, path) != before {
				t.Errorf("status changed the database")
			}
			var states []string
			for _, l := range strings.Split(res.stdout, "\n") {
				if f := strings.Fields(l); len(f) > 1 && strings.HasSuffix(f[1], "@reader.example") {
					states = append(states, f[0])
				}
			}
			want, wantCounts, wantNote := []string{"sending", "sending"}, "5 readers: queued 3, sending 2\n", "a delivery run is sending now ("+tt.owner
			if tt.gone {
				want, wantCounts, wantNote = []string{"unknown", "unknown"}, "5 readers: queued 3, unknown 2\n", "2 of them were left in sending by a run that is gone"
			}
			if !slices.Equal(states, want) || !strings.Contains(res.stdout, wantCounts) || !strings.Contains(res.stdout, wantNote) {
				t.Errorf("rows listed as %v, want %v, counts %q and %q:\n%s", states, want, wantCounts, wantNote, res.stdout)
			}
		})
	}
	// What status showed for a gone run is what the next run records.
	run(`DELETE FROM delivery_leases`)
	st := r.deliver(ed)
	if st.Recovered != 2 || st.Sent != 3 {
		t.Errorf("next run: %+v, want 2 newly unknown and 3 sent", st)
	}
	if c := r.counts(ed); c[news.DeliveryUnknown] != 2 || c[news.DeliverySending] != 0 {
		t.Errorf("ledger after the next run: %v", c)
	}
}

// TestDryRun writes every queued reader's email to a folder and leaves
// the database exactly as it was.
func TestDryRun(t *testing.T) {
	path := deliveryNewsroom(t, 8, nil)
	pressroom(t, "", "digest", "plan", "--db", path, "--date", edDate).want(t, 0)
	// The link secret is generated on first use by anything that signs
	// links (serve, the first send): make it exist, then compare.
	func() {
		db := openDB(t, path)
		defer db.Close()
		if _, err := db.LinkSecret(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	before := dump(t, path)
	dir := filepath.Join(t.TempDir(), "dry")
	res := pressroom(t, "", "digest", "send", "--db", path, "--date", edDate, "--dry-run", dir,
		"--base-url", "https://news.example", "--from", "Вестник <digest@news.example>")
	res.want(t, 0)
	if after := dump(t, path); after != before {
		t.Errorf("a dry run changed the database")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, path)
	ed, err := db.EditionByDate(context.Background(), edDate)
	if err != nil {
		t.Fatal(err)
	}
	queued, _ := db.Deliveries(context.Background(), ed.ID, news.DeliveryQueued)
	if len(entries) != len(queued) || len(queued) == 0 {
		t.Fatalf("dry run wrote %d files for %d queued readers\n%s", len(entries), len(queued), res.stdout)
	}
	for _, en := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m, err := netmail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(en.Name(), ".eml"); m.Header.Get("Message-Id") != "<"+want+">" {
			t.Errorf("%s holds Message-ID %s", en.Name(), m.Header.Get("Message-Id"))
		}
		if len(readParts(t, m)) != 2 {
			t.Errorf("%s: not text+HTML", en.Name())
		}
	}
	if !strings.Contains(res.stdout, fmt.Sprintf("wrote %d emails", len(queued))) {
		t.Errorf("output: %s", res.stdout)
	}
}

// TestServeCatchesUpTheDigest starts serve one minute after its digest
// slot (on the real clock): the start-up catch-up plans and sends the
// edition through SMTP, and records the slot.
func TestServeCatchesUpTheDigest(t *testing.T) {
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	now := time.Now().In(loc)
	slotAt := now.Add(-time.Minute).Truncate(time.Minute)
	path := filepath.Join(t.TempDir(), "pressroom.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadDemo(ctx, db, now); err != nil { // newest article within the last 24 hours
		t.Fatal(err)
	}
	if _, err := db.ImportSubscribers(ctx, now, func(put func(news.Subscriber) error) error {
		for i := range 5 {
			if err := put(news.Subscriber{Email: fmt.Sprintf("r%d@reader.example", i), Status: news.StatusActive, DeliveryHour: -1}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// serve applies the delivery GC setting only while it sends: look at
	// it from the SMTP server during the send, and after.
	_, envGOGC := os.LookupEnv("GOGC")
	_, envLimit := os.LookupEnv("GOMEMLIMIT")
	setGC(t, 100, math.MaxInt64)
	var gcMu sync.Mutex
	var duringSend [][2]int64
	srv := smtptest.New(t, func(ts *smtptest.Server) {
		ts.OnData = func() {
			p, l := readGC(t)
			gcMu.Lock()
			duringSend = append(duringSend, [2]int64{p, l})
			gcMu.Unlock()
		}
	})
	_, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", path, "--addr", "127.0.0.1:0",
		"--smtp-url", srv.URL(), "--from", "Вестник <digest@news.example>", "--tz", "Europe/Moscow",
		"--digest-cron", fmt.Sprintf("%d %d * * *", slotAt.Minute(), slotAt.Hour())) // no --cutoff: the slot's time
	deadline := time.Now().Add(30 * time.Second)
	for srv.Len() < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	r := stop()
	r.want(t, 0)
	if srv.Len() != 5 {
		t.Fatalf("server got %d messages, want 5\n%s", srv.Len(), r.stderr)
	}
	for _, want := range []string{"Digest delivery scheduled", "Catching up a missed digest slot", "Digest cutoff is the time of the daily slot"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("serve log lacks %q:\n%s", want, r.stderr)
		}
	}
	outcome, err := openDB(t, path).Slot(ctx, slotAt)
	if err != nil || outcome != "run" {
		t.Errorf("slot %v: %q (%v), want run", slotAt, outcome, err)
	}
	// Without --cutoff the edition's cutoff is the slot (08:00 before).
	ed, err := openDB(t, path).EditionByDate(ctx, slotAt.Format("2006-01-02"))
	if err != nil || !ed.Cutoff.Equal(slotAt) {
		t.Errorf("edition cutoff %v (%v), want the slot %v", ed.Cutoff.In(loc), err, slotAt)
	}
	wantPercent := int64(deliveryGCPercent)
	if envGOGC {
		wantPercent = 100
	}
	gcMu.Lock()
	defer gcMu.Unlock()
	if len(duringSend) != 5 {
		t.Errorf("looked at the GC during %d messages, want 5", len(duringSend))
	}
	for i, got := range duringSend {
		if got[0] != wantPercent || !deliveryLimit(got[1], envLimit) {
			t.Errorf("message %d sent with GOGC=%d, memory limit %d; want GOGC=%d and the delivery limit (environment's: %v)",
				i+1, got[0], got[1], wantPercent, envLimit)
		}
	}
	if p, l := readGC(t); p != 100 || l != math.MaxInt64 {
		t.Errorf("after the send: GOGC=%d, memory limit %d; want the previous 100, %d back", p, l, int64(math.MaxInt64))
	}
}

// TestServeRefusesCutoffAfterSlot: a cutoff later than the daily slot
// would make every scheduled planning fail as too early; serve refuses it
// at start-up, naming both, and accepts one at or before the slot.
func TestServeRefusesCutoffAfterSlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pressroom.db")
	pressroom(t, "", "migrate", "--db", path).want(t, 0)
	for _, tt := range []struct {
		cron, cutoff string
	}{
		{"0 8 * * *", "09:00"},
		{"30 7 * * 1-5", "07:31"},
		{"0 8,20 * * *", "12:00"},          // the earlier slot would fail
		{"CRON_TZ=UTC 0 5 * * *", "08:01"}, // 08:00 in Moscow
	} {
		res := pressroom(t, "", "serve", "--db", path, "--addr", "127.0.0.1:0", "--tz", "Europe/Moscow",
			"--digest-cron", tt.cron, "--cutoff", tt.cutoff)
		res.want(t, 2, "--cutoff "+tt.cutoff+" is later than the digest slot at", "--digest-cron \""+tt.cron+"\"")
	}
	// From the environment too.
	t.Setenv("PRESSROOM_DIGEST_CUTOFF", "08:30")
	pressroom(t, "", "serve", "--db", path, "--addr", "127.0.0.1:0", "--tz", "Europe/Moscow",
		"--digest-cron", "0 8 * * *").want(t, 2, "--cutoff 08:30 is later than the digest slot at 08:00")
	// At the slot is fine.
	_, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--db", path, "--addr", "127.0.0.1:0",
		"--tz", "Europe/Moscow", "--digest-cron", "0 8 * * *", "--cutoff", "08:00")
	stop().want(t, 0)
}

// setGC sets the process's GC percent and soft memory limit for a test
// and puts the previous ones back after it.
func setGC(t *testing.T, percent int, limit int64) {
	t.Helper()
	prevPercent := debug.SetGCPercent(percent)
	prevLimit := debug.SetMemoryLimit(limit)
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})
}

// readGC reads the GC percent and soft memory limit in effect, without
// changing them (runtime/metrics).
func readGC(t testing.TB) (percent, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		t.Errorf("runtime/metrics lacks the GC settings")
		return 0, 0
	}
	return int64(s[0].Value.Uint64()), int64(min(s[1].Value.Uint64(), math.MaxInt64))
}

// deliveryLimit reports whether limit is what a send sets: untouched
// (math.MaxInt64) when GOMEMLIMIT is in the environment, otherwise the
// live heap plus the headroom (the live heap of a test process stays far
// under 1 GiB).
func deliveryLimit(limit int64, fromEnv bool) bool {
	if fromEnv {
		return limit == math.MaxInt64
	}
	return limit >= deliveryMemoryHeadroom && limit < deliveryMemoryHeadroom+1<<30
}

// TestGCTunerOverlappingSends: the setting holds from the first send's
// start to the last one's end, then the previous one is back; GOGC and
// GOMEMLIMIT in the environment are left alone.
func TestGCTunerOverlappingSends(t *testing.T) {
	setGC(t, 100, math.MaxInt64)
	g := newGCTuner(&env{lookupEnv: func(string) (string, bool) { return "", false }})
	endSlot := g.during()
	endHourly := g.during()
	p, during := readGC(t)
	if p != deliveryGCPercent || !deliveryLimit(during, false) {
		t.Errorf("during two sends: GOGC=%d, limit %d", p, during)
	}
	endSlot()
	endSlot() // a second call changes nothing
	if p, l := readGC(t); p != deliveryGCPercent || l != during {
		t.Errorf("one send still running: GOGC=%d, limit %d; want %d, %d", p, l, deliveryGCPercent, during)
	}
	endHourly()
	if p, l := readGC(t); p != 100 || l != math.MaxInt64 {
		t.Errorf("after both sends: GOGC=%d, limit %d; want 100, %d", p, l, int64(math.MaxInt64))
	}

	g = newGCTuner(&env{lookupEnv: func(k string) (string, bool) { return "250", k == "GOGC" }})
	end := g.during()
	if p, l := readGC(t); p != 100 || !deliveryLimit(l, false) {
		t.Errorf("with GOGC in the environment: GOGC=%d, limit %d; want 100 (untouched) and the delivery limit", p, l)
	}
	end()
	if p, l := readGC(t); p != 100 || l != math.MaxInt64 {
		t.Errorf("after: GOGC=%d, limit %d", p, l)
	}
}
