package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressroom/pressroom/internal/mail"
	"github.com/pressroom/pressroom/internal/news"
)

// Sender sends email; *mail.SMTP and *mail.Outbox implement it.
type Sender interface {
	Send(ctx context.Context, m *mail.Message) mail.Result
	// SendBatch sends msgs in order; when ctx ends it may return fewer
	// results than messages: those beyond were not attempted.
	SendBatch(ctx context.Context, msgs []*mail.Message) []mail.Result
}

// LedgerStore is what delivery needs from the database: a lease per
// edition (the database is the lock between processes) and the
// per-recipient ledger. *store.DB implements it.
type LedgerStore interface {
	// BeginDelivery takes the edition's delivery lease for owner (or
	// returns news.ErrDeliveryBusy while a live owner holds it), turns
	// rows a dead run left in sending into unknown, and, with
	// resendUnknown, queues unknown rows again. It also fixes each row's
	// due time (due computes it from the subscriber's delivery hour and
	// zone) and marks rows missed that are too late to send.
	BeginDelivery(ctx context.Context, req news.LedgerBegin) (news.LedgerBegun, error)
	// LedgerStep records results, releases claimed rows that were not
	// attempted, and claims up to claims[i] due rows for each i, all in
	// one durable (synchronous=FULL) transaction that also renews the
	// lease. A row is due when queued with due_at <= now, or deferred with
	// next_attempt_at <= now. Once the lease has expired it still records
	// the results and releases but claims nothing and returns an error
	// wrapping news.ErrLeaseExpired (news.ErrDeliveryBusy when another
	// owner has taken the lease).
	LedgerStep(ctx context.Context, step news.LedgerStep) ([][]news.ClaimedDelivery, error)
	// EndDelivery gives the lease back.
	EndDelivery(ctx context.Context, editionID int64, owner string) error
}

// Composer renders one reader's email; *Prepared implements it.
type Composer interface {
	Compose(d *news.Delivery, now time.Time) (Message, error)
}

// DeliveryOptions configure a Deliverer.
type DeliveryOptions struct {
	Store  LedgerStore
	Sender Sender
	Logger *slog.Logger

	// Workers is the number of concurrent senders (match the SMTP
	// connection count); default 4.
	Workers int
	// Chunk is how many rows a worker claims at a time; default 20. A
	// crash leaves at most Workers x Chunk rows in sending, which become
	// unknown: that is the bound on readers who may or may not have their
	// copy.
	Chunk int

	From    *netmail.Address // required
	ReplyTo *netmail.Address // optional
	// EnvelopeFrom is the MAIL FROM address; "{token}" in it is replaced
	// by the delivery's signed VERP token (e.g. "bounces+{token}@news.example").
	// Empty means From.
	EnvelopeFrom string
	// Signer signs the VERP tokens and the tag in each Message-ID, so
	// that "bounces import" can tell a real bounce from a forged one
	// (required; the server secret of the subscription links).
	Signer *news.TokenSigner
	// Domain is the right-hand side of Message-IDs; default From's domain.
	Domain string
	// ListID is the List-Id value; default "<Newsroom> Press Review <digest.DOMAIN>".
	ListID string
	// ArchiveURL returns the web archive URL of an edition date (List-Archive).
	ArchiveURL func(date string) string
	// UnsubscribeMailto is an optional mailto: URI for List-Unsubscribe.
	UnsubscribeMailto string
	// Personalize fills the reader's signed preferences and unsubscribe
	// links (they are never stored).
	Personalize func(d *news.Delivery) error

	// Backoff is the wait before each retry of a temporary failure;
	// default 1, 5, 15, 60 minutes (the last one repeats).
	Backoff []time.Duration
	// Deadline is how long after a row is due it may still be retried;
	// default 6 hours. After it a temporary failure becomes failed.
	Deadline time.Duration

	// Owner names this process in the lease (host/pid/nonce); OwnerAlive
	// tells whether a previous owner still runs; LeaseTTL is how long a
	// lease lasts without renewal (default 2 minutes).
	Owner      string
	OwnerAlive func(owner string) bool
	LeaseTTL   time.Duration
}

// Deliverer sends planned editions through the ledger: each row is
// claimed (committed as sending) before its SMTP transaction and its
// outcome recorded after, so no reader gets an edition twice.
type Deliverer struct {
	opts DeliveryOptions
}

// NewDeliverer checks the options and fills defaults.
func NewDeliverer(opts DeliveryOptions) (*Deliverer, error) {
	if opts.Store == nil || opts.Sender == nil {
		return nil, errors.New("digest: deliverer: store and sender are required")
	}
	if opts.From == nil || !strings.Contains(opts.From.Address, "@") {
		return nil, errors.New("digest: deliverer: a From address is required")
	}
	if opts.Signer == nil {
		return nil, errors.New("digest: deliverer: a Signer (the server secret) is required")
	}
	if opts.Personalize == nil {
		return nil, errors.New("digest: deliverer: Personalize (the readers' signed links) is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Chunk <= 0 {
		opts.Chunk = 20
	}
	if opts.Domain == "" {
		opts.Domain = opts.From.Address[strings.LastIndex(opts.From.Address, "@")+1:]
	}
	if opts.ListID == "" {
		opts.ListID = "Press Review <digest." + opts.Domain + ">"
	}
	if len(opts.Backoff) == 0 {
		opts.Backoff = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	}
	if opts.Deadline <= 0 {
		opts.Deadline = 6 * time.Hour
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 2 * time.Minute
	}
	if opts.Owner == "" {
		return nil, errors.New("digest: deliverer: an owner name for the lease is required")
	}
	if opts.OwnerAlive == nil {
		opts.OwnerAlive = func(string) bool { return true }
	}
	return &Deliverer{opts: opts}, nil
}

// MaxUnknown is the most rows a crash can leave in an unknown state:
// Workers x Chunk.
func (d *Deliverer) MaxUnknown() int { return d.opts.Workers * d.opts.Chunk }

// DeliveryStats counts what one Deliver call did.
type DeliveryStats struct {
	Recovered int // rows found in sending and marked unknown
	Missed    int // rows too late to send, marked skipped
	Sent      int
	Deferred  int
	Failed    int
	Skipped   int
	Bounced   int // subscribers marked bounced
}

// DeliverRequest says what one Deliver call sends.
type DeliverRequest struct {
	Edition  *news.Edition
	Composer Composer
	// Clock is read for each claim and each result (this package reads
	// no wall clock).
	Clock func() time.Time
	// ResendUnknown queues rows in unknown again (the operator's word).
	ResendUnknown bool
	// StaleBefore: never-attempted rows due before it are missed, not
	// sent late. Zero sends everything due.
	StaleBefore time.Time
	// Due gives a reader's due time from their delivery hour and zone;
	// nil means everyone is due at once.
	Due func(hour int, zone string) time.Time
}

// Deliver sends what is due of an edition now. The error wraps
// news.ErrDeliveryBusy when another process holds the edition's lease,
// and news.ErrLeaseExpired when this run stalled past its lease (the
// results it had are recorded; other workers finish their batch, record
// it and stop).
// On context cancellation the rows in hand are released unsent and the
// results so far are recorded.
func (d *Deliverer) Deliver(ctx context.Context, req DeliverRequest) (DeliveryStats, error) {
	var st DeliveryStats
	o := d.opts
	ed, c, clock := req.Edition, req.Composer, req.Clock
	begun, err := o.Store.BeginDelivery(ctx, news.LedgerBegin{EditionID: ed.ID, Owner: o.Owner, Now: clock(),
		LeaseTTL: o.LeaseTTL, OwnerAlive: o.OwnerAlive, ResendUnknown: req.ResendUnknown, Due: req.Due,
		StaleBefore: req.StaleBefore})
	if err != nil {
		return st, fmt.Errorf("digest: deliver %s: %w", ed.Date, err)
	}
	st.Recovered, st.Missed = begun.Recovered, begun.Missed
	if begun.Recovered > 0 {
		o.Logger.Warn("Rows left in sending by an interrupted run marked unknown", "edition", ed.Date, "count", begun.Recovered)
	}
	if begun.Missed > 0 {
		o.Logger.Warn("Rows not sent within the catch-up window marked missed", "edition", ed.Date, "count", begun.Missed)
	}
	defer func() {
		// The lease is released even when ctx is done.
		if err := o.Store.EndDelivery(context.WithoutCancel(ctx), ed.ID, o.Owner); err != nil {
			o.Logger.Error("Releasing the delivery lease failed", "edition", ed.Date, "error", err)
		}
	}()

	w := &ledgerWriter{d: d, ed: ed, clock: clock, reqs: make(chan stepReq)}
	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); w.run(writerCtx) }()

	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(func() {
			ws, err := d.worker(ctx, w, ed, c, clock)
			mu.Lock()
			defer mu.Unlock()
			st.Sent += ws.Sent
			st.Deferred += ws.Deferred
			st.Failed += ws.Failed
			st.Skipped += ws.Skipped
			st.Bounced += ws.Bounced
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	stopWriter()
	<-writerDone
	if firstErr != nil {
		return st, fmt.Errorf("digest: deliver %s: %w", ed.Date, firstErr)
	}
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("digest: deliver %s: %w", ed.Date, err)
	}
	return st, nil
}

// worker claims a chunk, sends it, and hands the results to the writer
// together with its next claim, until nothing is due.
func (d *Deliverer) worker(ctx context.Context, w *ledgerWriter, ed *news.Edition, c Composer, clock func() time.Time) (DeliveryStats, error) {
	var st DeliveryStats
	var results []news.DeliveryResult
	var release []int64
	var msgs []*mail.Message
	var sent []int // index in rows of each message in msgs
	for {
		claim := d.opts.Chunk
		if ctx.Err() != nil {
			claim = 0
		}
		rows, err := w.step(results, release, claim)
		if err != nil {
			return st, err
		}
		if len(rows) == 0 {
			return st, nil
		}
		results, release = results[:0], release[:0]
		// Compose the chunk, then send it in one batch: over SMTP with
		// PIPELINING that is one round trip per message.
		msgs, sent = msgs[:0], sent[:0]
		for i := range rows {
			m, res, ok := d.prepare(ed, c, &rows[i], clock())
			if !ok {
				results = append(results, res)
				continue
			}
			msgs, sent = append(msgs, m), append(sent, i)
		}
		var replies []mail.Result
		if len(msgs) > 0 && ctx.Err() == nil {
			replies = d.opts.Sender.SendBatch(ctx, msgs)
		}
		now := clock()
		for j, i := range sent {
			if j >= len(replies) {
				// Not attempted: the context ended.
				release = append(release, rows[i].ID)
				continue
			}
			results = append(results, d.outcome(ed, &rows[i], replies[j], now))
		}
		for _, res := range results {
			switch res.State {
			case news.DeliverySent:
				st.Sent++
			case news.DeliveryDeferred:
				st.Deferred++
			case news.DeliveryFailed:
				st.Failed++
			case news.DeliverySkipped:
				st.Skipped++
			}
			if res.Bounced {
				st.Bounced++
			}
		}
	}
}

// MessageID is the Message-ID of an edition's copy for a subscriber:
// "digest.DATE.sSUBSCRIBER.TAG@DOMAIN", derived from both, so a duplicate
// is recognisable at the receiver, with a tag signed by s so that nobody
// can make the Message-ID of another reader's copy (bounces are matched
// by it).
func MessageID(s *news.TokenSigner, date string, subscriberID int64, domain string) string {
	return "digest." + date + ".s" + strconv.FormatInt(subscriberID, 10) + "." + s.MessageTag(date, subscriberID) + "@" + domain
}

// ParseMessageID splits a Message-ID made by MessageID into the edition
// date, subscriber id and tag, or gives ok=false for one that is not a
// digest's. It does not check the tag: use TokenSigner.VerifyMessageTag.
func ParseMessageID(id string) (date string, subscriberID int64, tag string, ok bool) {
	id = strings.Trim(id, "<> ")
	local, _, found := strings.Cut(id, "@")
	if !found || !strings.HasPrefix(local, "digest.") {
		return "", 0, "", false
	}
	rest := strings.TrimPrefix(local, "digest.")
	date, rest, found = strings.Cut(rest, ".s")
	if !found || len(date) != len(news.DateLayout) {
		return "", 0, "", false
	}
	sub, tag, found := strings.Cut(rest, ".")
	if !found || tag == "" {
		return "", 0, "", false
	}
	n, err := strconv.ParseInt(sub, 10, 64)
	if err != nil || n <= 0 || sub != strconv.FormatInt(n, 10) {
		return "", 0, "", false
	}
	return date, n, tag, true
}

// Message builds the email for one reader from its composed parts.
func (d *Deliverer) Message(ed *news.Edition, dl *news.Delivery, m Message) *mail.Message {
	o := d.opts
	msg := &mail.Message{
		From:                  o.From,
		To:                    &netmail.Address{Name: dl.Name, Address: dl.Email},
		ReplyTo:               o.ReplyTo,
		Subject:               m.Subject,
		Text:                  m.Text,
		HTML:                  m.HTML,
		MessageID:             MessageID(o.Signer, ed.Date, dl.SubscriberID, o.Domain),
		ListUnsubscribeURL:    dl.UnsubscribeURL,
		ListUnsubscribeMailto: o.UnsubscribeMailto,
		ListID:                o.ListID,
		Headers:               []mail.Header{{Name: "X-Pressroom-Edition", Value: ed.Date}},
	}
	if o.ArchiveURL != nil {
		msg.ListArchive = o.ArchiveURL(ed.Date)
	}
	if o.EnvelopeFrom != "" {
		msg.EnvelopeFrom = mail.ExpandVERP(o.EnvelopeFrom, o.Signer.DeliveryToken(dl.ID))
	}
	return msg
}

// prepare composes a claimed row's email. When the row cannot be sent
// (no articles for the reader, a composition error) it returns the
// row's result instead, with ok false.
func (d *Deliverer) prepare(ed *news.Edition, c Composer, row *news.ClaimedDelivery, now time.Time) (*mail.Message, news.DeliveryResult, bool) {
	o := d.opts
	fail := func(state news.DeliveryState, reason string) (*mail.Message, news.DeliveryResult, bool) {
		return nil, news.DeliveryResult{DeliveryID: row.ID, SubscriberID: row.SubscriberID,
			MessageID: MessageID(o.Signer, ed.Date, row.SubscriberID, o.Domain), State: state, Reply: reason, At: now}, false
	}
	dl := row.Delivery
	if err := o.Personalize(&dl); err != nil {
		return fail(news.DeliveryFailed, "personal links: "+err.Error())
	}
	composed, err := c.Compose(&dl, now)
	if errors.Is(err, ErrNoArticles) {
		return fail(news.DeliverySkipped, ErrNoArticles.Error())
	}
	if err != nil {
		return fail(news.DeliveryFailed, "compose: "+err.Error())
	}
	return d.Message(ed, &dl, composed), news.DeliveryResult{}, true
}

// outcome classifies the sender's result for a row it attempted at now.
func (d *Deliverer) outcome(ed *news.Edition, row *news.ClaimedDelivery, r mail.Result, now time.Time) news.DeliveryResult {
	o := d.opts
	res := news.DeliveryResult{DeliveryID: row.ID, SubscriberID: row.SubscriberID,
		MessageID: MessageID(o.Signer, ed.Date, row.SubscriberID, o.Domain), Attempted: true, At: now}
	switch r.Status {
	case mail.Sent:
		res.State, res.Reply = news.DeliverySent, r.Reply
	case mail.Permanent:
		res.State, res.Reply = news.DeliveryFailed, r.Reply
		res.Bounced = r.NoSuchUser()
	default:
		res.Reply = r.Reply
		wait := o.Backoff[min(row.Attempts, len(o.Backoff)-1)]
		next := now.Add(wait)
		deadline := row.DueAt.Add(o.Deadline)
		if next.After(deadline) {
			res.State = news.DeliveryFailed
			res.Reply = "retry deadline passed; last error: " + r.Reply
		} else {
			res.State, res.NextAttemptAt = news.DeliveryDeferred, next
		}
	}
	return res
}

// Preview composes one reader's email as Deliver would and hands it to
// the sender (an outbox, for dry runs) without touching the ledger. A
// reader without articles gets a Permanent result wrapping ErrNoArticles.
func (d *Deliverer) Preview(ctx context.Context, ed *news.Edition, c Composer, dl *news.Delivery, now time.Time) mail.Result {
	cp := *dl
	if err := d.opts.Personalize(&cp); err != nil {
		return mail.Result{Status: mail.Permanent, Reply: err.Error(), Err: err}
	}
	composed, err := c.Compose(&cp, now)
	if err != nil {
		return mail.Result{Status: mail.Permanent, Reply: err.Error(), Err: err}
	}
	return d.opts.Sender.Send(ctx, d.Message(ed, &cp, composed))
}

// stepReq is one worker's hand-over to the ledger writer.
type stepReq struct {
	results []news.DeliveryResult
	release []int64
	claim   int
	reply   chan stepResp
}

type stepResp struct {
	rows []news.ClaimedDelivery
	err  error
}

// ledgerWriter is the one goroutine that writes the ledger: it gathers
// the requests of all workers that are waiting and commits them in one
// transaction (group commit).
type ledgerWriter struct {
	d     *Deliverer
	ed    *news.Edition
	clock func() time.Time
	reqs  chan stepReq
}

func (w *ledgerWriter) step(results []news.DeliveryResult, release []int64, claim int) ([]news.ClaimedDelivery, error) {
	reply := make(chan stepResp, 1)
	w.reqs <- stepReq{results: results, release: release, claim: claim, reply: reply}
	r := <-reply
	return r.rows, r.err
}

func (w *ledgerWriter) run(ctx context.Context) {
	o := w.d.opts
	renew := time.NewTicker(o.LeaseTTL / 3)
	defer renew.Stop()
	for {
		var batch []stepReq
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			// Keep the lease while every worker is inside a slow SMTP
			// exchange.
		case r := <-w.reqs:
			batch = append(batch, r)
		gather:
			for len(batch) < o.Workers {
				select {
				case r := <-w.reqs:
					batch = append(batch, r)
				default:
					break gather
				}
			}
		}
		step := news.LedgerStep{EditionID: w.ed.ID, Owner: o.Owner, Now: w.clock(), LeaseTTL: o.LeaseTTL}
		for _, r := range batch {
			step.Results = append(step.Results, r.results...)
			step.Release = append(step.Release, r.release...)
			step.Claims = append(step.Claims, r.claim)
		}
		rows, err := o.Store.LedgerStep(context.WithoutCancel(ctx), step)
		for i, r := range batch {
			var resp stepResp
			if err != nil {
				resp.err = err
			} else {
				resp.rows = rows[i]
			}
			r.reply <- resp
		}
	}
}
