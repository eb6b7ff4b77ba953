package news

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrNoEdition is wrapped by errors about an edition that has not been
// planned, so that packages which cannot see the store's own not-found
// error can still tell this case apart.
var ErrNoEdition = errors.New("no edition")

// DateLayout is the form of an edition date: YYYY-MM-DD in the newsroom's
// time zone.
const DateLayout = "2006-01-02"

// Edition is the daily press review of one date, frozen when it is
// planned: the article snapshots in it do not change when the articles
// are edited or added later, so a re-run, a resumed send or the web
// archive shows exactly what was planned.
type Edition struct {
	ID   int64
	Date string // YYYY-MM-DD in the newsroom's time zone (DateLayout)

	// The window holds the articles published in (From, Cutoff]: From is
	// the previous edition's cutoff, or 24 hours before Cutoff when there
	// is none.
	From   time.Time
	Cutoff time.Time

	PlannedAt time.Time

	// Sections are every section as it was at planning time, in section
	// order, each with its articles in the window (possibly none; renderers
	// leave empty ones out).
	Sections []EditionSection
	// MostRead are up to five of the window's articles with the most
	// views in the window, most viewed first.
	MostRead []Article
}

// EditionSection is one section's block of an edition: the section as it
// was at planning time and its articles, top stories first, then newest
// first.
type EditionSection struct {
	Section  Section
	Articles []Article
}

// EditionSummary is an edition's line in the archive's list.
type EditionSummary struct {
	ID        int64
	Date      string
	Cutoff    time.Time
	PlannedAt time.Time
	Articles  int    // articles in the section blocks
	TopStory  string // title of the edition's first top story (or first article); "" when empty
}

// ArticleCount is the number of articles in the edition's section blocks.
func (e *Edition) ArticleCount() int {
	n := 0
	for _, s := range e.Sections {
		n += len(s.Articles)
	}
	return n
}

// ParseEditionDate parses an edition date, which must be YYYY-MM-DD, as
// midnight of that day in loc. The error is a FieldError for field "date".
func ParseEditionDate(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(DateLayout, s, loc)
	if err != nil || t.Format(DateLayout) != s {
		return time.Time{}, &FieldError{Field: "date", Msg: fmt.Sprintf("%q is not a date in the form YYYY-MM-DD", s)}
	}
	return t, nil
}

// DeliveryState is where one reader's copy of an edition stands.
type DeliveryState string

// The delivery states. Planning creates queued and skipped rows; sending
// moves queued rows through sending to sent, deferred or failed. A row
// found in sending after a crash becomes unknown: it may or may not have
// reached the reader, so it is not resent without the operator's word.
const (
	DeliveryQueued   DeliveryState = "queued"
	DeliverySending  DeliveryState = "sending"
	DeliverySent     DeliveryState = "sent"
	DeliveryDeferred DeliveryState = "deferred"
	DeliveryFailed   DeliveryState = "failed"
	DeliverySkipped  DeliveryState = "skipped"
	DeliveryUnknown  DeliveryState = "unknown"
)

// Delivery is one reader's copy of one edition. The section choice is
// frozen at planning; the address and name are the subscriber's current
// ones when the delivery is loaded (so an erased address is gone from
// pending deliveries too).
type Delivery struct {
	ID           int64
	EditionID    int64
	EditionDate  string // YYYY-MM-DD
	SubscriberID int64
	Email        string
	Name         string
	// Sections are the slugs the reader chose when the edition was
	// planned; empty means all sections.
	Sections []string

	// PreferencesURL and UnsubscribeURL are the reader's personal signed
	// links. They are derived from a server secret when the delivery is
	// loaded for sending or preview, never stored.
	PreferencesURL string
	UnsubscribeURL string

	State DeliveryState
	// Reason says why a delivery was skipped, e.g. "no articles in the
	// chosen sections".
	Reason string
}

// WantsSection reports whether the reader of d chose the section (or
// chose none, which means all).
func (d *Delivery) WantsSection(slug string) bool {
	return len(d.Sections) == 0 || slices.Contains(d.Sections, slug)
}
