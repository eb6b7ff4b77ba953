package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/pressroom/pressroom/digest"
	pmail "github.com/pressroom/pressroom/internal/mail"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/schedule"
	"github.com/pressroom/pressroom/internal/store"
)

// deliveryFlags are the digest-delivery settings shared by "digest send"
// and serve, on top of the digest's own flags (cmd_digest.go).
type deliveryFlags struct {
	digest   *digestFlags
	chunk    int
	deadline time.Duration
	cf       *cmdFlags
}

func addDeliveryFlags(cf *cmdFlags) *deliveryFlags {
	d := &deliveryFlags{digest: addDigestFlags(cf), cf: cf}
	cf.IntVar(&d.chunk, "chunk", 20, "rows each worker claims at a time; a crash leaves at most smtp-workers x chunk readers unknown")
	cf.DurationVar(&d.deadline, "retry-deadline", 6*time.Hour, "how long after a reader is due temporary failures are retried")
	return d
}

// deliverySetup is everything a delivery run needs, built from the
// configuration.
type deliverySetup struct {
	planner   *digest.Planner
	renderer  *digest.Renderer
	deliverer *digest.Deliverer
	mailer    *mailer
	// gc, when set, applies the delivery GC setting for the length of
	// each send (serve); "digest send" sets it for the whole process.
	gc *gcTuner
}

// setup builds the planner, renderer and (with a mailer) the deliverer.
func (d *deliveryFlags) setup(ctx context.Context, e *env, db *store.DB, m *mailer, baseURL string) (*deliverySetup, error) {
	if err := d.digest.resolveEnv(d.cf, e.lookupEnv); err != nil {
		return nil, err
	}
	r, err := d.digest.renderer(e)
	if err != nil {
		return nil, err
	}
	p, err := d.digest.planner(e, db)
	if err != nil {
		return nil, err
	}
	s := &deliverySetup{planner: p, renderer: r, mailer: m}
	if m == nil {
		return s, nil
	}
	// The same signer as the subscription pages: --secret when given, else
	// the database's, or the pages would reject the digest's links.
	signer, err := linkSigner(ctx, e, db)
	if err != nil {
		return nil, err
	}
	if baseURL == "" {
		baseURL = siteURL(e)
	}
	s.deliverer, err = digest.NewDeliverer(digest.DeliveryOptions{
		Store: db, Sender: m.sender, Logger: e.logger, Workers: m.workers, Chunk: d.chunk,
		From: m.from, ReplyTo: m.replyTo, EnvelopeFrom: m.envelopeFrom, UnsubscribeMailto: m.unsubscribeMailto,
		ArchiveURL: r.ArchiveURL, Signer: signer,
		Personalize: func(dl *news.Delivery) error {
			dl.UnsubscribeURL = signer.URL(baseURL, dl.SubscriberID, news.PurposeUnsubscribe, time.Time{})
			dl.PreferencesURL = signer.URL(baseURL, dl.SubscriberID, news.PurposePreferences, time.Time{})
			return nil
		},
		Deadline: d.deadline, Owner: leaseOwner(), OwnerAlive: ownerAlive,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// deliver sends what is due of ed now.
func (s *deliverySetup) deliver(ctx context.Context, e *env, ed *news.Edition, resendUnknown bool, staleBefore time.Time) (digest.DeliveryStats, error) {
	if s.gc != nil {
		defer s.gc.during()()
	}
	prep, err := s.renderer.Prepare(ed)
	if err != nil {
		return digest.DeliveryStats{}, err
	}
	cutoff := ed.Cutoff
	loc := e.cfg.Location
	return s.deliverer.Deliver(ctx, digest.DeliverRequest{
		Edition: ed, Composer: prep, Clock: e.now, ResendUnknown: resendUnknown, StaleBefore: staleBefore,
		Due: func(hour int, zone string) time.Time { return digest.DueTime(cutoff, hour, zone, loc) },
	})
}

func cmdDigestSend(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("digest send", "--date YYYY-MM-DD [flags]", `
Deliver an edition by hand, as serve does on schedule: plan it first if
it is not planned yet, then send every reader's copy that is due, through
the per-reader ledger, so that nobody gets it twice. Readers with their
own delivery hour get it at that hour (serve's hourly job).

Rows found in "sending" (a run that was killed) become "unknown": they
may or may not have been delivered and are not resent unless you say so
with --resend-unknown. "pressroom digest status" lists them.

An edition planned here gets the cutoff serve would give it: --cutoff if
set, else the time of the daily --digest-cron slot (flag,
PRESSROOM_DIGEST_CRON or digest-cron in the --config file; 08:00 by
default). A --cutoff later than the slot is refused.

--dry-run DIR renders every queued reader's email into DIR as .eml files
and touches neither the ledger nor any mail server.`)
	date := cf.String("date", "", "edition `DATE` (YYYY-MM-DD, the newsroom's time zone)")
	dryRun := cf.String("dry-run", "", "write the emails to `DIR` instead of sending them; the ledger is untouched")
	resend := cf.Bool("resend-unknown", false, "send again to readers whose delivery is unknown (interrupted mid-send)")
	mf := addMailFlags(cf)
	df := addDeliveryFlags(cf)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	if err := checkDateFlag(cf, *date, e); err != nil {
		return err
	}
	if err := df.digest.cutoffFromCron(e, cf); err != nil {
		return err
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	if *dryRun != "" {
		return dryRunSend(ctx, e, db, df, mf, *date, *dryRun)
	}
	m, err := mf.open(e)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := m.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	tuneGCForDelivery(e)
	s, err := df.setup(ctx, e, db, m, e.cfg.BaseURL)
	if err != nil {
		return err
	}
	plan, err := s.planner.Plan(ctx, *date, e.now())
	if err != nil {
		return err
	}
	ed := plan.Edition
	st, err := s.deliver(ctx, e, &ed, *resend, time.Time{})
	fmt.Fprintf(e.stdout, "edition %s via %s: sent %d, deferred %d, failed %d, skipped %d, bounced %d, newly unknown %d\n",
		ed.Date, m.describe, st.Sent, st.Deferred, st.Failed, st.Skipped, st.Bounced, st.Recovered)
	if err != nil {
		return err
	}
	counts, err := db.DeliveryCounts(ctx, ed.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ledger: %s\n", formatCounts(counts))
	if counts[news.DeliveryUnknown] > 0 {
		fmt.Fprintf(e.stdout, "%d readers are unknown (interrupted mid-send): see 'pressroom digest status --date %s'; resend with --resend-unknown\n",
			counts[news.DeliveryUnknown], ed.Date)
	}
	return nil
}

// dryRunSend renders the emails of every reader still to be sent into dir.
func dryRunSend(ctx context.Context, e *env, db *store.DB, df *deliveryFlags, mf *mailFlags, date, dir string) error {
	m, err := mf.openOutbox(e, dir)
	if err != nil {
		return err
	}
	s, err := df.setup(ctx, e, db, m, e.cfg.BaseURL)
	if err != nil {
		return err
	}
	ed, planned, err := s.planner.Draft(ctx, date, e.now())
	if err != nil {
		return err
	}
	if !planned {
		return fmt.Errorf("digest send --dry-run: edition %s is not planned yet: plan it with 'pressroom digest plan --date %s' (a dry run writes nothing to the database)", date, date)
	}
	prep, err := s.renderer.Prepare(&ed)
	if err != nil {
		return err
	}
	rows, err := db.Deliveries(ctx, ed.ID, news.DeliveryQueued, news.DeliveryDeferred, news.DeliveryUnknown)
	if err != nil {
		return err
	}
	n := 0
	for i := range rows {
		dl := rows[i]
		res := s.deliverer.Preview(ctx, &ed, prep, &dl, e.now())
		if res.Err != nil && !errors.Is(res.Err, digest.ErrNoArticles) {
			return res.Err
		}
		if res.Status == pmail.Sent {
			n++
		}
	}
	fmt.Fprintf(e.stdout, "dry run: wrote %d emails of edition %s to %s (ledger untouched)\n", n, ed.Date, dir)
	return nil
}

func cmdDigestStatus(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("digest status", "--date YYYY-MM-DD [flags]", `
Show an edition's delivery ledger: the count of readers per state, then
the rows that need attention: unknown (interrupted mid-send: may or may
not have been delivered; resend with 'digest send --resend-unknown'),
failed, deferred (with the next attempt time) and sending.

Rows left in sending by a run that was killed or crashed (no live
process holds the edition's delivery lease) are shown as unknown at
once, before the next run records them so. Status changes nothing.`)
	date := cf.String("date", "", "edition `DATE` (YYYY-MM-DD)")
	limit := cf.Int("limit", 50, "list at most this many rows (0 = all)")
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	if err := checkDateFlag(cf, *date, e); err != nil {
		return err
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	ed, err := db.EditionByDate(ctx, *date)
	if errors.Is(err, news.ErrNoEdition) {
		return fmt.Errorf("digest status: edition %s is not planned", *date)
	}
	if err != nil {
		return err
	}
	view, err := db.LedgerView(ctx, ed.ID, []news.DeliveryState{news.DeliveryUnknown, news.DeliveryFailed,
		news.DeliveryDeferred, news.DeliverySending}, *limit)
	if err != nil {
		return err
	}
	counts, rows := view.Counts, view.Rows
	// Rows in sending while no live run holds the lease were left by a run
	// that was killed or crashed: they are unknown now, though only the
	// next run writes it down. Status writes nothing, so it cannot disturb
	// a run that starts meanwhile.
	interrupted := counts[news.DeliverySending]
	if interrupted > 0 && view.SenderGone(e.now(), ownerAlive) {
		counts[news.DeliveryUnknown] += interrupted
		delete(counts, news.DeliverySending)
		for i := range rows {
			if rows[i].State == news.DeliverySending {
				rows[i].State = news.DeliveryUnknown
				rows[i].LastError = "interrupted while sending (the run is gone): the server may or may not have accepted it"
			}
		}
	} else {
		interrupted = 0
	}
	fmt.Fprintf(e.stdout, "edition %s: %s\n", ed.Date, formatCounts(counts))
	switch {
	case interrupted > 0:
		fmt.Fprintf(e.stdout, "%d of them were left in sending by a run that is gone (killed or crashed): unknown, they may or may not have been delivered; the next 'digest send --date %s' records them so, and --resend-unknown sends them again\n",
			interrupted, ed.Date)
	case counts[news.DeliverySending] > 0:
		fmt.Fprintf(e.stdout, "a delivery run is sending now (%s, lease until %s)\n",
			view.LeaseOwner, view.LeaseExpires.In(e.cfg.Location).Format("2006-01-02 15:04:05"))
	}
	if len(rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSTATE\tEMAIL\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
	for _, r := range rows {
		next := ""
		if !r.NextAttemptAt.IsZero() {
			next = r.NextAttemptAt.In(e.cfg.Location).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.State, r.Email, r.Attempts, next, oneLine(r.LastError, 100))
	}
	return tw.Flush()
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// formatCounts prints per-state counts in life-cycle order.
func formatCounts(c map[news.DeliveryState]int) string {
	order := []news.DeliveryState{news.DeliveryQueued, news.DeliverySending, news.DeliverySent, news.DeliveryDeferred,
		news.DeliveryFailed, news.DeliverySkipped, news.DeliveryUnknown}
	var parts []string
	total := 0
	for _, s := range order {
		total += c[s]
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, c[s]))
		}
	}
	return fmt.Sprintf("%d readers: %s", total, strings.Join(parts, ", "))
}

// newDispatcher builds the scheduled delivery (serve's digest jobs) on
// the cron spec, in the newsroom's time zone.
func newDispatcher(e *env, db *store.DB, s *deliverySetup, spec string, catchUp time.Duration) (*digest.Dispatcher, error) {
	sp, err := schedule.ParseSpec(spec, e.cfg.Location)
	if err != nil {
		return nil, err
	}
	return digest.NewDispatcher(digest.DispatchOptions{
		Slots: db,
		Plan: func(ctx context.Context, date string, now time.Time) (*news.Edition, error) {
			p, err := s.planner.Plan(ctx, date, now)
			if err != nil {
				return nil, err
			}
			return &p.Edition, nil
		},
		Load: func(ctx context.Context, date string) (*news.Edition, error) {
			ed, err := db.EditionByDate(ctx, date)
			if err != nil {
				return nil, err
			}
			return &ed, nil
		},
		Deliver: func(ctx context.Context, ed *news.Edition, staleBefore time.Time) (digest.DeliveryStats, error) {
			return s.deliver(ctx, e, ed, false, staleBefore)
		},
		Prev: sp.Prev, CatchUp: catchUp, Location: e.cfg.Location, Logger: e.logger,
	})
}

// cutoffFromCron ties the edition's cutoff to serve's daily slot
// (--digest-cron): they are one fact (the edition is planned at the slot,
// and planning before the cutoff fails as too early). Without --cutoff
// (flag, environment or configuration file; an empty value counts as
// none) the cutoff is the slot's time of day; a cutoff later than the
// slot is refused as a usage error of cf's command. serve calls it at
// start-up, and so do the digest commands run by hand (plan, preview,
// send), so that a hand-run edition is planned as serve would plan it.
func (d *digestFlags) cutoffFromCron(e *env, cf *cmdFlags) error {
	if err := d.resolveEnv(cf, e.lookupEnv); err != nil {
		return err
	}
	spec := d.cron
	sp, err := schedule.ParseSpec(spec, e.cfg.Location)
	if err != nil {
		return cf.usageErrorf("--digest-cron: %v", err)
	}
	slot, ok := earliestSlotTime(sp, e.cfg.Location, e.now())
	if !ok {
		return cf.usageErrorf("--digest-cron %q: never fires in the coming year", spec)
	}
	given := false
	cf.Visit(func(f *flag.Flag) { given = given || f.Name == "cutoff" })
	if !given || d.cutoff == "" {
		d.cutoff = slot
		e.logger.Info("Digest cutoff is the time of the daily slot", "cutoff", slot, "cron", spec)
		return nil
	}
	c, err := time.Parse("15:04", d.cutoff)
	if err != nil {
		return nil // the planner names the bad value
	}
	if c.Format("15:04") > slot {
		return cf.usageErrorf("--cutoff %s is later than the digest slot at %s (--digest-cron %q): the edition would be planned before its cutoff and fail as too early; set --cutoff at or before %s, or leave it out to use the slot's time",
			d.cutoff, slot, spec, slot)
	}
	return nil
}

// earliestSlotTime is the earliest time of day, "HH:MM" in loc, at which
// sp fires over the year after from (looking at no more than 2000
// slots). Cron specs fire on whole minutes.
func earliestSlotTime(sp schedule.Spec, loc *time.Location, from time.Time) (string, bool) {
	earliest := ""
	end := from.AddDate(1, 0, 0)
	t := from
	for range 2000 {
		t = sp.Next(t)
		if t.IsZero() || t.After(end) {
			break
		}
		if hm := t.In(loc).Format("15:04"); earliest == "" || hm < earliest {
			earliest = hm
		}
	}
	return earliest, earliest != ""
}

// scheduleDigest registers serve's digest jobs: the daily slot and the
// hourly pass. It returns the start-up catch-up to run once the scheduler
// runs.
func scheduleDigest(e *env, db *store.DB, o serveOptions, m *mailer, baseURL string, sched *schedule.Scheduler) (func(context.Context), error) {
	if o.digestCatchUp < 0 {
		return nil, o.mail.cf.usageErrorf("--digest-catchup must not be negative")
	}
	cron := o.delivery.digest.cron
	if err := o.delivery.digest.cutoffFromCron(e, o.delivery.cf); err != nil {
		return nil, err
	}
	s, err := o.delivery.setup(context.Background(), e, db, m, baseURL)
	if err != nil {
		return nil, err
	}
	s.gc = newGCTuner(e)
	d, err := newDispatcher(e, db, s, cron, o.digestCatchUp)
	if err != nil {
		return nil, o.mail.cf.usageErrorf("--digest-cron: %v", err)
	}
	err = sched.Add("digest", cron, func(ctx context.Context) error {
		slot, ok := schedule.Slot(ctx)
		if !ok {
			slot = e.now()
		}
		return d.RunSlot(ctx, slot, e.now())
	})
	if err != nil {
		return nil, err
	}
	if err := sched.Add("digest-hourly", "0 * * * *", func(ctx context.Context) error { return d.Hourly(ctx, e.now()) }); err != nil {
		return nil, err
	}
	e.logger.Info("Digest delivery scheduled", "cron", cron, "catchup", o.digestCatchUp.String(), "via", m.describe)
	return func(ctx context.Context) {
		if err := d.CatchUp(ctx, e.now()); err != nil {
			e.logger.Error("Digest catch-up failed", "error", err)
		}
	}, nil
}

// The GC setting of a bulk send: every message makes ~100 KB of
// short-lived garbage (two bodies, MIME buffers) over a small live heap
// (6-9 MB in the delivery benchmark), so the default GOGC=100 collects
// very often; GOGC=400 cut the CPU per message by about 30%. A soft
// memory limit 32 MiB above the live heap at the start of the send keeps
// the peak low (about 57 MB RSS against 72 MB with a fixed 64 MiB, at the
// same rate) and, being relative, never makes serve collect hard over a
// large feed cache.
const (
	deliveryGCPercent      = 400
	deliveryMemoryHeadroom = 32 << 20
)

// deliveryMemoryLimit is the soft memory limit for a send starting now:
// the live heap after the last collection plus deliveryMemoryHeadroom.
func deliveryMemoryLimit() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	var live int64
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = int64(min(s[0].Value.Uint64(), math.MaxInt64/2))
	}
	return live + deliveryMemoryHeadroom
}

// tuneGCForDelivery applies the delivery GC setting to the whole process
// ("digest send", which exits when the send is done). GOGC and GOMEMLIMIT
// in the environment win.
func tuneGCForDelivery(e *env) {
	if _, ok := e.lookupEnv("GOGC"); !ok {
		debug.SetGCPercent(deliveryGCPercent)
	}
	if _, ok := e.lookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(deliveryMemoryLimit())
	}
}

// gcTuner applies the delivery GC setting only while a send runs, for
// serve: the rest of the time serve answers feed requests with the usual
// GC. Sends may overlap (the daily slot and the hourly job): the
// setting holds from the first start to the last end, then the previous
// one comes back. GOGC and GOMEMLIMIT in the environment win.
type gcTuner struct {
	setPercent, setLimit bool

	mu          sync.Mutex
	running     int
	prevPercent int
	prevLimit   int64
}

func newGCTuner(e *env) *gcTuner {
	_, gogc := e.lookupEnv("GOGC")
	_, limit := e.lookupEnv("GOMEMLIMIT")
	return &gcTuner{setPercent: !gogc, setLimit: !limit}
}

// during applies the setting and returns the function that ends it.
func (g *gcTuner) during() (end func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running == 0 {
		if g.setPercent {
			g.prevPercent = debug.SetGCPercent(deliveryGCPercent)
		}
		if g.setLimit {
			g.prevLimit = debug.SetMemoryLimit(deliveryMemoryLimit())
		}
	}
	g.running++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.running--
			if g.running > 0 {
				return
			}
			if g.setPercent {
				debug.SetGCPercent(g.prevPercent)
			}
			if g.setLimit {
				debug.SetMemoryLimit(g.prevLimit)
			}
		})
	}
}
