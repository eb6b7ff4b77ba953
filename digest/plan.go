package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// Store is what planning needs from the database; *store.DB satisfies it.
type Store interface {
	Sections(ctx context.Context) ([]news.Section, error)
	ArticlesBetween(ctx context.Context, from, to time.Time) ([]news.Article, error)
	MostRead(ctx context.Context, since, until time.Time, limit int) ([]news.Article, error)
	// EachSubscriber calls fn for each subscriber with the status (and
	// section, "" for any), one at a time, in id order.
	EachSubscriber(ctx context.Context, status news.SubscriberStatus, section string, fn func(news.Subscriber) error) error
	// EditionByDate and PreviousEdition return errors wrapping
	// news.ErrNoEdition when there is no such edition.
	EditionByDate(ctx context.Context, date string) (news.Edition, error)
	PreviousEdition(ctx context.Context, date string) (news.Edition, error)
	// CreateEdition stores the edition and its deliveries in one
	// transaction, or returns the existing edition of that date (created
	// false) and writes nothing.
	CreateEdition(ctx context.Context, ed *news.Edition, deliveries []news.Delivery) (news.Edition, bool, error)
	DeliveryCounts(ctx context.Context, editionID int64) (map[news.DeliveryState]int, error)
}

// ErrTooEarly is returned (wrapped) when an edition is planned before its
// cutoff: its window is not over yet. Draft shows such an edition without
// storing it.
var ErrTooEarly = errors.New("the edition's cutoff has not passed yet")

// Skip reasons recorded on skipped deliveries.
const (
	ReasonNoArticles = "no articles in the chosen sections"
)

// PlanOptions configure a Planner.
type PlanOptions struct {
	// Location is the newsroom's time zone: an edition's date is a day in
	// it. Default UTC.
	Location *time.Location
	// Cutoff is the edition's cutoff as the time of day in Location,
	// "HH:MM". Default "08:00", the default digest schedule.
	Cutoff string
	// MostRead is the length of the "Most read" list. Default 5.
	MostRead int
	Logger   *slog.Logger
}

// Planner plans editions: it freezes an edition's articles and recipients.
type Planner struct {
	store      Store
	opts       PlanOptions
	cutH, cutM int
	logger     *slog.Logger
}

// NewPlanner checks the options and returns a Planner.
func NewPlanner(st Store, opts PlanOptions) (*Planner, error) {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Cutoff == "" {
		opts.Cutoff = "08:00"
	}
	if opts.MostRead == 0 {
		opts.MostRead = maxMostRead
	}
	if opts.MostRead < 0 || opts.MostRead > maxMostRead {
		return nil, fmt.Errorf("digest: planner: %w", &news.FieldError{Field: "most_read", Msg: fmt.Sprintf("must be 1 to %d", maxMostRead)})
	}
	t, err := time.Parse("15:04", opts.Cutoff)
	if err != nil {
		return nil, fmt.Errorf("digest: planner: %w", &news.FieldError{Field: "cutoff", Msg: fmt.Sprintf("%q is not a time of day HH:MM", opts.Cutoff)})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Planner{store: st, opts: opts, cutH: t.Hour(), cutM: t.Minute(), logger: opts.Logger}, nil
}

// Plan is the outcome of planning one date.
type Plan struct {
	Edition news.Edition
	// Created is false when the edition had been planned before; planning
	// is idempotent and returns it unchanged.
	Created bool
	// Deliveries counts the edition's deliveries per state (queued and
	// skipped right after planning).
	Deliveries map[news.DeliveryState]int
}

// CheckDate validates an edition date given on the command line or in a
// URL: YYYY-MM-DD, not after tomorrow in the newsroom's time zone.
func (p *Planner) CheckDate(date string, now time.Time) (time.Time, error) {
	day, err := news.ParseEditionDate(date, p.opts.Location)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := now.In(p.opts.Location).Date()
	tomorrow := time.Date(y, m, d+1, 0, 0, 0, 0, p.opts.Location)
	if day.After(tomorrow) {
		return time.Time{}, &news.FieldError{Field: "date", Msg: fmt.Sprintf("%s is after tomorrow (%s)", date, tomorrow.Format(news.DateLayout))}
	}
	return day, nil
}

// CutoffOf is the scheduled cutoff of the edition of day.
func (p *Planner) CutoffOf(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), p.cutH, p.cutM, 0, 0, p.opts.Location)
}

// Plan plans the edition of date (YYYY-MM-DD) as of now: it freezes the
// articles published in the window and one delivery per active subscriber,
// in one transaction. Planning a date again returns the existing edition.
// It refuses dates after tomorrow and, with ErrTooEarly, dates whose
// cutoff is still ahead. Bad input writes nothing.
func (p *Planner) Plan(ctx context.Context, date string, now time.Time) (Plan, error) {
	day, err := p.CheckDate(date, now)
	if err != nil {
		return Plan{}, fmt.Errorf("digest: plan: %w", err)
	}
	if ed, err := p.store.EditionByDate(ctx, date); err == nil {
		return p.result(ctx, ed, false)
	} else if !errors.Is(err, news.ErrNoEdition) {
		return Plan{}, fmt.Errorf("digest: plan %s: %w", date, err)
	}
	cutoff := p.CutoffOf(day)
	if now.Before(cutoff) {
		return Plan{}, fmt.Errorf("digest: plan %s: %w: cutoff %s, now %s", date, ErrTooEarly,
			cutoff.Format("2006-01-02 15:04 MST"), now.In(p.opts.Location).Format("2006-01-02 15:04 MST"))
	}
	ed, err := p.edition(ctx, date, cutoff, now)
	if err != nil {
		return Plan{}, err
	}
	deliveries, err := p.deliveries(ctx, ed)
	if err != nil {
		return Plan{}, err
	}
	stored, created, err := p.store.CreateEdition(ctx, ed, deliveries)
	if err != nil {
		return Plan{}, fmt.Errorf("digest: plan %s: %w", date, err)
	}
	if created {
		p.logger.Info("Edition planned", "date", date, "articles", stored.ArticleCount(),
			"window_from", stored.From, "cutoff", stored.Cutoff, "deliveries", len(deliveries))
	}
	return p.result(ctx, stored, created)
}

// Draft builds the edition of date as it would be planned now, without
// storing anything: a planned edition is returned as stored; an unplanned
// one gets the articles up to its cutoff or now, whichever is earlier.
// Previews use it.
func (p *Planner) Draft(ctx context.Context, date string, now time.Time) (news.Edition, bool, error) {
	day, err := p.CheckDate(date, now)
	if err != nil {
		return news.Edition{}, false, fmt.Errorf("digest: draft: %w", err)
	}
	if ed, err := p.store.EditionByDate(ctx, date); err == nil {
		return ed, true, nil
	} else if !errors.Is(err, news.ErrNoEdition) {
		return news.Edition{}, false, fmt.Errorf("digest: draft %s: %w", date, err)
	}
	cutoff := p.CutoffOf(day)
	if now.Before(cutoff) {
		cutoff = now
	}
	ed, err := p.edition(ctx, date, cutoff, now)
	if err != nil {
		return news.Edition{}, false, err
	}
	return *ed, false, nil
}

func (p *Planner) result(ctx context.Context, ed news.Edition, created bool) (Plan, error) {
	counts, err := p.store.DeliveryCounts(ctx, ed.ID)
	if err != nil {
		return Plan{}, fmt.Errorf("digest: plan %s: %w", ed.Date, err)
	}
	return Plan{Edition: ed, Created: created, Deliveries: counts}, nil
}

// edition freezes the window's content: every section in section order
// with its articles (top stories first, then newest), and "Most read".
func (p *Planner) edition(ctx context.Context, date string, cutoff, now time.Time) (*news.Edition, error) {
	from := cutoff.Add(-24 * time.Hour)
	prev, err := p.store.PreviousEdition(ctx, date)
	switch {
	case err == nil:
		if prev.Cutoff.Before(cutoff) {
			from = prev.Cutoff
		}
	case !errors.Is(err, news.ErrNoEdition):
		return nil, fmt.Errorf("digest: plan %s: %w", date, err)
	}
	sections, err := p.store.Sections(ctx)
	if err != nil {
		return nil, fmt.Errorf("digest: plan %s: %w", date, err)
	}
	articles, err := p.store.ArticlesBetween(ctx, from, cutoff)
	if err != nil {
		return nil, fmt.Errorf("digest: plan %s: %w", date, err)
	}
	ed := &news.Edition{Date: date, From: from, Cutoff: cutoff, PlannedAt: now}
	index := make(map[string]int, len(sections))
	for _, s := range sections {
		index[s.Slug] = len(ed.Sections)
		ed.Sections = append(ed.Sections, news.EditionSection{Section: s})
	}
	// ArticlesBetween returns them grouped in section order, top stories
	// first, then newest: that order is kept within each section.
	for _, a := range articles {
		i, ok := index[a.Section]
		if !ok {
			return nil, fmt.Errorf("digest: plan %s: article %q is in unknown section %q", date, a.ID, a.Section)
		}
		ed.Sections[i].Articles = append(ed.Sections[i].Articles, a)
	}
	if ed.ArticleCount() > 0 {
		if ed.MostRead, err = p.store.MostRead(ctx, from, cutoff, p.opts.MostRead); err != nil {
			return nil, fmt.Errorf("digest: plan %s: %w", date, err)
		}
	}
	return ed, nil
}

// deliveries makes one delivery per subscriber who receives the digest
// (active, not paused): queued when a chosen section has articles,
// skipped with the reason otherwise. An edition without articles gets no
// deliveries at all: it sends nothing.
func (p *Planner) deliveries(ctx context.Context, ed *news.Edition) ([]news.Delivery, error) {
	if ed.ArticleCount() == 0 {
		return nil, nil
	}
	hasArticles := make(map[string]bool, len(ed.Sections))
	for _, s := range ed.Sections {
		hasArticles[s.Section.Slug] = len(s.Articles) > 0
	}
	var out []news.Delivery
	err := p.store.EachSubscriber(ctx, news.StatusActive, "", func(s news.Subscriber) error {
		if !s.Receives() {
			return nil
		}
		// Only what is stored: the address and name are read from the
		// subscriber when deliveries are loaded.
		d := news.Delivery{EditionDate: ed.Date, SubscriberID: s.ID, Sections: s.Sections, State: news.DeliveryQueued}
		if len(s.Sections) > 0 {
			any := false
			for _, slug := range s.Sections {
				any = any || hasArticles[slug]
			}
			if !any {
				d.State = news.DeliverySkipped
				d.Reason = ReasonNoArticles + " (" + strings.Join(s.Sections, ", ") + ")"
			}
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("digest: plan %s: %w", ed.Date, err)
	}
	return out, nil
}
