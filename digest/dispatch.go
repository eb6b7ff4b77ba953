package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// SlotStore remembers which scheduled slots ran or were missed, and which
// editions still have deliveries to send. *store.DB implements it.
type SlotStore interface {
	// RecordSlot records a slot's outcome ("run" or "missed") once; it
	// returns false when the slot was already recorded.
	RecordSlot(ctx context.Context, slotAt time.Time, date, outcome string, now time.Time) (bool, error)
	// Slot returns a slot's recorded outcome, or an error (not found).
	Slot(ctx context.Context, slotAt time.Time) (string, error)
	// PendingEditionDates lists editions dated since or later that still
	// have queued or deferred deliveries.
	PendingEditionDates(ctx context.Context, since string) ([]string, error)
}

// DispatchOptions configure a Dispatcher.
type DispatchOptions struct {
	Slots SlotStore
	// Plan plans (or returns the already planned) edition of date; now is
	// the planning time.
	Plan func(ctx context.Context, date string, now time.Time) (*news.Edition, error)
	// Load returns a planned edition.
	Load func(ctx context.Context, date string) (*news.Edition, error)
	// Deliver sends what is due of an edition; staleBefore is the due
	// time before which never-attempted rows are missed rather than sent
	// late (zero: send everything due).
	Deliver func(ctx context.Context, ed *news.Edition, staleBefore time.Time) (DeliveryStats, error)
	// Prev returns the digest schedule's latest slot at or before t
	// (schedule.Spec.Prev).
	Prev func(t time.Time) (time.Time, bool)
	// CatchUp is how late a missed slot may still be sent; default 3h.
	CatchUp  time.Duration
	Location *time.Location // the newsroom's zone: a slot's date is read in it
	Logger   *slog.Logger
}

// Dispatcher runs scheduled delivery: the daily slot, the hourly pass
// for readers with their own delivery hour (and for retries), and the
// catch-up of a slot missed while the service was down. Each step is
// idempotent; the database decides what is left to do, so a double firing
// (DST fall-back, two processes) sends nothing twice.
type Dispatcher struct {
	opts DispatchOptions
}

// NewDispatcher checks the options.
func NewDispatcher(opts DispatchOptions) (*Dispatcher, error) {
	if opts.Slots == nil || opts.Plan == nil || opts.Load == nil || opts.Deliver == nil || opts.Prev == nil {
		return nil, errors.New("digest: dispatcher: Slots, Plan, Load, Deliver and Prev are required")
	}
	if opts.CatchUp <= 0 {
		opts.CatchUp = 3 * time.Hour
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{opts: opts}, nil
}

// RunSlot is the daily job: it records the slot as run, plans the
// edition of the slot's date (or finds it planned) and delivers what is
// due. Rows not attempted within CatchUp of their due time are missed.
func (d *Dispatcher) RunSlot(ctx context.Context, slot, now time.Time) error {
	date := slot.In(d.opts.Location).Format(news.DateLayout)
	if _, err := d.opts.Slots.RecordSlot(ctx, slot, date, "run", now); err != nil {
		return fmt.Errorf("digest: slot %s: %w", slot.Format(time.RFC3339), err)
	}
	ed, err := d.opts.Plan(ctx, date, now)
	if err != nil {
		return fmt.Errorf("digest: slot %s: %w", slot.Format(time.RFC3339), err)
	}
	st, err := d.opts.Deliver(ctx, ed, now.Add(-d.opts.CatchUp))
	d.logStats(ed.Date, st)
	if errors.Is(err, news.ErrDeliveryBusy) {
		d.opts.Logger.Info("Edition is being delivered by another process", "edition", ed.Date)
		return nil
	}
	return err
}

// CatchUp runs at start-up: when the latest slot before now has not run,
// it is run if now is within CatchUp of it, and otherwise recorded as
// missed with a warning. Only the latest slot is considered: never two
// editions at once, never an old edition hours late.
func (d *Dispatcher) CatchUp(ctx context.Context, now time.Time) error {
	slot, ok := d.opts.Prev(now)
	if !ok {
		return nil
	}
	if outcome, err := d.opts.Slots.Slot(ctx, slot); err == nil {
		d.opts.Logger.Debug("Latest digest slot already handled", "slot", slot.Format(time.RFC3339), "outcome", outcome)
		return nil
	}
	late := now.Sub(slot)
	if late <= d.opts.CatchUp {
		d.opts.Logger.Info("Catching up a missed digest slot", "slot", slot.Format(time.RFC3339), "late", late.Round(time.Second).String())
		return d.RunSlot(ctx, slot, now)
	}
	date := slot.In(d.opts.Location).Format(news.DateLayout)
	recorded, err := d.opts.Slots.RecordSlot(ctx, slot, date, "missed", now)
	if err != nil {
		return fmt.Errorf("digest: record missed slot: %w", err)
	}
	if recorded {
		d.opts.Logger.Warn("Digest slot missed: too late to send it", "slot", slot.Format(time.RFC3339),
			"edition", date, "late", late.Round(time.Second).String(), "catchup", d.opts.CatchUp.String())
	}
	return nil
}

// Hourly delivers what has become due of recent editions: readers whose
// own delivery hour has come, and deferred retries whose time has come.
func (d *Dispatcher) Hourly(ctx context.Context, now time.Time) error {
	since := now.In(d.opts.Location).AddDate(0, 0, -2).Format(news.DateLayout)
	dates, err := d.opts.Slots.PendingEditionDates(ctx, since)
	if err != nil {
		return fmt.Errorf("digest: hourly: %w", err)
	}
	var errs []error
	for _, date := range dates {
		ed, err := d.opts.Load(ctx, date)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st, err := d.opts.Deliver(ctx, ed, now.Add(-d.opts.CatchUp))
		d.logStats(date, st)
		if err != nil && !errors.Is(err, news.ErrDeliveryBusy) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *Dispatcher) logStats(date string, st DeliveryStats) {
	if st == (DeliveryStats{}) {
		return
	}
	d.opts.Logger.Info("Digest delivery", "edition", date, "sent", st.Sent, "deferred", st.Deferred,
		"failed", st.Failed, "skipped", st.Skipped, "bounced", st.Bounced, "unknown", st.Recovered, "missed", st.Missed)
}

// DueTime is when a reader with delivery hour (news.DefaultDeliveryHour
// for the newsroom's schedule) in zone ("" = the newsroom's) gets an
// edition whose slot is at slot: the slot itself, or the first time at
// or after it when the reader's local clock shows hour:00.
func DueTime(slot time.Time, hour int, zone string, newsroom *time.Location) time.Time {
	if hour < 0 || hour > 23 {
		return slot
	}
	loc := newsroom
	if zone != "" {
		if l, err := time.LoadLocation(zone); err == nil {
			loc = l
		}
	}
	c := slot.In(loc)
	t := time.Date(c.Year(), c.Month(), c.Day(), hour, 0, 0, 0, loc)
	if t.Before(c) {
		t = time.Date(c.Year(), c.Month(), c.Day()+1, hour, 0, 0, 0, loc)
	}
	return t
}
