package news

import (
	"errors"
	"time"
)

// ErrDeliveryBusy is returned when another live process is delivering the
// same edition: the database lease says so, and this run sends nothing.
var ErrDeliveryBusy = errors.New("another process is delivering this edition")

// ErrLeaseExpired is returned by a ledger step of a run whose delivery
// lease expired before the step, though no other run has taken it yet
// (the process stalled longer than the lease's TTL). From expiry on any
// run may take the edition over, so the stalled run must claim nothing
// more and stop; what it already sent is still recorded. It does not wrap
// ErrDeliveryBusy: no other process need be delivering, and a run that
// overran its lease is a fault to report, not a benign race.
var ErrLeaseExpired = errors.New("the delivery lease expired: this run no longer holds the edition")

// ClaimedDelivery is a delivery row claimed for sending (state sending,
// committed) together with its ledger history.
type ClaimedDelivery struct {
	Delivery
	// Attempts counts the SMTP attempts made before this one.
	Attempts int
	// DueAt is when the row became due: the edition's slot, or the
	// reader's own delivery hour.
	DueAt time.Time
}

// DeliveryResult is the outcome of one attempt, recorded in the ledger.
type DeliveryResult struct {
	DeliveryID   int64
	SubscriberID int64
	// State is DeliverySent, DeliveryDeferred, DeliveryFailed or
	// DeliverySkipped.
	State DeliveryState
	At    time.Time
	// Reply is the server's reply (sent) or the error text.
	Reply string
	// NextAttemptAt is set for deferred rows.
	NextAttemptAt time.Time
	// MessageID is the Message-ID the attempt used (without brackets).
	MessageID string
	// Bounced marks the subscriber bounced (a 5.1.x "no such user").
	Bounced bool
	// Attempted is false when no SMTP attempt was made (skipped rows).
	Attempted bool
}

// LedgerBegin starts a delivery run of one edition (see the digest
// package's LedgerStore).
type LedgerBegin struct {
	EditionID int64
	Owner     string // this process, e.g. "host/pid/nonce"
	Now       time.Time
	LeaseTTL  time.Duration
	// OwnerAlive tells whether the owner of an unexpired lease still
	// runs; a dead owner's lease is taken over at once.
	OwnerAlive    func(owner string) bool
	ResendUnknown bool
	// Due is when a reader with the given delivery hour (or
	// DefaultDeliveryHour) and IANA zone ("" = the newsroom's) is due.
	Due func(hour int, zone string) time.Time
	// StaleBefore, when set, marks never-attempted rows due before it as
	// missed (skipped) instead of sending them hours late.
	StaleBefore time.Time
}

// LedgerBegun is what starting a delivery run found.
type LedgerBegun struct {
	Recovered int // rows left in sending by a dead run, now unknown
	Missed    int // rows due before StaleBefore, now skipped
}

// LedgerStep is one group commit of a delivery run: results to record,
// claimed rows to give back unsent, and how many rows each waiting
// worker claims next.
type LedgerStep struct {
	EditionID int64
	Owner     string
	Now       time.Time
	LeaseTTL  time.Duration
	Results   []DeliveryResult
	Release   []int64
	Claims    []int
}

// DeliveryStatus is one row as `digest status` shows it.
type DeliveryStatus struct {
	ID            int64
	SubscriberID  int64
	Email         string
	State         DeliveryState
	Attempts      int
	LastError     string
	Reply         string
	NextAttemptAt time.Time
	SentAt        time.Time
	UpdatedAt     time.Time
}

// BounceKind classifies a bounce or complaint report.
type BounceKind string

// Bounce kinds.
const (
	BounceHard      BounceKind = "hard"      // the address is bad: subscriber bounced
	BounceSoft      BounceKind = "soft"      // a failure that may pass; three in a row bounce the subscriber
	BounceDelayed   BounceKind = "delayed"   // a relay is still trying; recorded only
	BounceComplaint BounceKind = "complaint" // the reader reported the email as spam
)

// BounceEvent is one bounce or complaint matched to a delivery.
type BounceEvent struct {
	DeliveryID int64
	Kind       BounceKind
	Status     string // enhanced status, e.g. "5.1.1"; "" for complaints
	Diagnostic string
	Source     string // file the report came from
	At         time.Time
}

// BounceOutcome says what recording a bounce changed.
type BounceOutcome struct {
	SubscriberID int64
	Email        string
	// NewStatus is the subscriber's new status ("" when unchanged).
	NewStatus SubscriberStatus
	// Duplicate is true when this report was already recorded.
	Duplicate bool
}

// LedgerView is an edition's delivery ledger read in one snapshot: the
// count of rows per state, the rows asked for, and the delivery lease of
// the run that holds it or last held it (LeaseOwner "" when there is
// none: no run started, or the last one ended cleanly).
type LedgerView struct {
	Counts       map[DeliveryState]int
	Rows         []DeliveryStatus
	LeaseOwner   string
	LeaseExpires time.Time
}

// SenderGone reports whether, at now, no live run holds the lease: there
// is none, it has expired, or ownerAlive says its owner no longer runs.
// Rows in sending then belong to a run that is gone; they are unknown
// (the next run records them so). This is the rule by which a run takes
// the lease over (see LedgerBegin).
func (v *LedgerView) SenderGone(now time.Time, ownerAlive func(owner string) bool) bool {
	if v.LeaseOwner == "" || !now.Before(v.LeaseExpires) {
		return true
	}
	return ownerAlive != nil && !ownerAlive(v.LeaseOwner)
}
