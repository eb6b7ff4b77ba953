package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// durableWrite runs fn in one write transaction committed with
// synchronous=FULL: the delivery ledger's commits are the proof of what
// was sent, so they must survive a power cut, whatever the database's
// usual setting. The connection's setting is restored afterwards.
func (db *DB) durableWrite(ctx context.Context, fn func(*sql.Tx) error) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: connection: %w", err)
	}
	defer conn.Close()
	var prevSync, prevCache int
	if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&prevSync); err != nil {
		return fmt.Errorf("store: read synchronous: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&prevCache); err != nil {
		return fmt.Errorf("store: read cache_size: %w", err)
	}
	// A delivery run rewrites every row of an edition once: with the
	// connection's usual 16 MiB page cache that fills with pages it will
	// not touch again, and memory grows with the subscriber count. Ledger
	// steps touch a narrow range (the next due rows and the rows just
	// sent), so a small cache costs nothing and keeps memory flat.
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=FULL; PRAGMA cache_size=-"+strconv.Itoa(ledgerCacheKiB)); err != nil {
		return fmt.Errorf("store: synchronous=FULL: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx),
			"PRAGMA synchronous="+strconv.Itoa(prevSync)+"; PRAGMA cache_size="+strconv.Itoa(prevCache))
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// ledgerCacheKiB is the page cache of the write connection during ledger
// writes.
const ledgerCacheKiB = 2048

func unixOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func timeFromNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(n.Int64, 0).UTC()
}

// BeginDelivery takes the edition's delivery lease for req.Owner, marks
// rows a dead run left in sending as unknown (they may or may not have
// reached the reader), queues unknown rows again when req.ResendUnknown,
// fixes the due time of rows that have none, and marks never-attempted
// rows due before req.StaleBefore as missed. It returns what it changed,
// or an error wrapping news.ErrDeliveryBusy when a live process holds the
// lease.
func (db *DB) BeginDelivery(ctx context.Context, req news.LedgerBegin) (news.LedgerBegun, error) {
	now := req.Now.Unix()
	var out news.LedgerBegun
	err := db.durableWrite(ctx, func(tx *sql.Tx) error {
		var owner string
		var expires int64
		err := tx.QueryRowContext(ctx, `SELECT owner, expires_at FROM delivery_leases WHERE edition_id = ?`, req.EditionID).Scan(&owner, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("store: begin delivery of edition %d: %w", req.EditionID, err)
		case owner != req.Owner && expires > now && (req.OwnerAlive == nil || req.OwnerAlive(owner)):
			return fmt.Errorf("store: begin delivery of edition %d: lease held by %s until %s: %w",
				req.EditionID, owner, time.Unix(expires, 0).UTC().Format(time.RFC3339), news.ErrDeliveryBusy)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_leases (edition_id, owner, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (edition_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
			req.EditionID, req.Owner, now+int64(req.LeaseTTL/time.Second)); err != nil {
			return fmt.Errorf("store: take delivery lease: %w", err)
		}
		// Holding the lease, every row still in sending belongs to a run
		// that is gone.
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'unknown', claimed_at = NULL, updated_at = ?,
			last_error = 'interrupted while sending: the server may or may not have accepted it'
			WHERE edition_id = ? AND state = 'sending'`, now, req.EditionID)
		if err != nil {
			return fmt.Errorf("store: recover sending rows: %w", err)
		}
		n, _ := res.RowsAffected()
		out.Recovered = int(n)
		if req.ResendUnknown {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'queued', updated_at = ?,
				due_at = min(coalesce(due_at, ?), ?)
				WHERE edition_id = ? AND state = 'unknown'`, now, now, now, req.EditionID); err != nil {
				return fmt.Errorf("store: requeue unknown rows: %w", err)
			}
		}
		if err := db.fixDue(ctx, tx, req); err != nil {
			return err
		}
		if !req.StaleBefore.IsZero() {
			res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'skipped', updated_at = ?,
				reason = 'missed: not sent within the catch-up window after it was due'
				WHERE edition_id = ? AND state = 'queued' AND attempts = 0 AND due_at < ?`,
				now, req.EditionID, req.StaleBefore.Unix())
			if err != nil {
				return fmt.Errorf("store: mark missed rows: %w", err)
			}
			n, _ := res.RowsAffected()
			out.Missed = int(n)
		}
		return nil
	})
	return out, err
}

// fixDue sets due_at on rows without one, per distinct (hour, zone) of
// their subscribers.
func (db *DB) fixDue(ctx context.Context, tx *sql.Tx, req news.LedgerBegin) error {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT s.delivery_hour, s.time_zone
		FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
		WHERE d.edition_id = ? AND d.due_at IS NULL`, req.EditionID)
	if err != nil {
		return fmt.Errorf("store: due times: %w", err)
	}
	type key struct {
		hour int
		zone string
	}
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.hour, &k.zone); err != nil {
			rows.Close()
			return fmt.Errorf("store: due times: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: due times: %w", err)
	}
	for _, k := range keys {
		due := req.Now
		if req.Due != nil {
			due = req.Due(k.hour, k.zone)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET due_at = ?
			WHERE edition_id = ? AND due_at IS NULL AND subscriber_id IN
			(SELECT id FROM subscribers WHERE delivery_hour = ? AND time_zone = ?)`,
			due.Unix(), req.EditionID, k.hour, k.zone); err != nil {
			return fmt.Errorf("store: set due times: %w", err)
		}
	}
	return nil
}

// LedgerStep records step.Results, gives back step.Release unsent, and
// claims up to step.Claims[i] due rows for each waiting worker, in one
// durable transaction that also renews the lease. Rows whose subscriber
// is no longer active (unsubscribed, bounced, paused since planning) are
// marked skipped instead of being claimed.
//
// The lease must be step.Owner's and unexpired at step.Now (expires_at >
// now, the rule by which BeginDelivery lets another run take it over):
//
//   - Held by another owner, or by nobody: an error wrapping
//     news.ErrDeliveryBusy, and nothing is written (the new owner has
//     already turned this run's rows in sending into unknown).
//   - Still step.Owner's but expired (the run stalled past its TTL and
//     nobody has taken it over yet): the results and releases are
//     recorded all the same, since those rows are still this run's, in
//     sending, and a message already sent must be written down as sent
//     or a later --resend-unknown would send it twice; but the lease is
//     not renewed (it stays expired, free for any run to take), no row
//     is claimed, and the error wraps news.ErrLeaseExpired. A step with
//     nothing to record (a renewal) then leaves the database exactly as
//     it was.
//
// A healthy run never meets the second case: digest's ledger writer
// steps at least every LeaseTTL/3, renewing the lease each time.
func (db *DB) LedgerStep(ctx context.Context, step news.LedgerStep) ([][]news.ClaimedDelivery, error) {
	now := step.Now.Unix()
	out := make([][]news.ClaimedDelivery, len(step.Claims))
	var expired error
	err := db.durableWrite(ctx, func(tx *sql.Tx) error {
		var owner string
		var expires int64
		err := tx.QueryRowContext(ctx, `SELECT owner, expires_at FROM delivery_leases WHERE edition_id = ?`, step.EditionID).Scan(&owner, &expires)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: ledger: lease: %w", err)
		}
		if owner != step.Owner {
			return fmt.Errorf("store: ledger: edition %d: lease lost to %q: %w", step.EditionID, owner, news.ErrDeliveryBusy)
		}
		expired = nil
		if expires <= now {
			expired = fmt.Errorf("store: ledger: edition %d: lease of %q expired at %s, step at %s (%d results and %d releases recorded, nothing claimed): %w",
				step.EditionID, owner, time.Unix(expires, 0).UTC().Format(time.RFC3339), step.Now.UTC().Format(time.RFC3339),
				len(step.Results), len(step.Release), news.ErrLeaseExpired)
		} else if _, err := tx.ExecContext(ctx, `UPDATE delivery_leases SET expires_at = ? WHERE edition_id = ?`,
			now+int64(step.LeaseTTL/time.Second), step.EditionID); err != nil {
			return fmt.Errorf("store: ledger: renew lease: %w", err)
		}
		if err := recordResults(ctx, tx, step.Results); err != nil {
			return err
		}
		if len(step.Release) > 0 {
			st, err := tx.PrepareContext(ctx, `UPDATE deliveries SET claimed_at = NULL, updated_at = ?,
				state = CASE WHEN attempts = 0 THEN 'queued' ELSE 'deferred' END
				WHERE id = ? AND state = 'sending'`)
			if err != nil {
				return fmt.Errorf("store: ledger: release: %w", err)
			}
			defer st.Close()
			for _, id := range step.Release {
				if _, err := st.ExecContext(ctx, now, id); err != nil {
					return fmt.Errorf("store: ledger: release %d: %w", id, err)
				}
			}
		}
		if expired != nil {
			return nil // commit what was recorded; claim nothing
		}
		// One claim for all the workers of the group, dealt out in
		// order: a statement per worker cost as much again.
		total := 0
		for _, n := range step.Claims {
			total += max(n, 0)
		}
		if total == 0 {
			return nil
		}
		claimed, err := claim(ctx, tx, step.EditionID, now, total)
		if err != nil {
			return err
		}
		for i, n := range step.Claims {
			k := min(max(n, 0), len(claimed))
			out[i], claimed = claimed[:k:k], claimed[k:]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if expired != nil {
		return nil, expired
	}
	return out, nil
}

func recordResults(ctx context.Context, tx *sql.Tx, results []news.DeliveryResult) error {
	if len(results) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `UPDATE deliveries SET state = ?, attempts = attempts + ?,
		sent_at = ?, next_attempt_at = ?, reply = ?, last_error = ?, message_id = ?, reason = coalesce(?, reason),
		claimed_at = NULL, updated_at = ? WHERE id = ? AND state = 'sending'`)
	if err != nil {
		return fmt.Errorf("store: ledger: record: %w", err)
	}
	defer st.Close()
	for _, r := range results {
		attempted := 0
		if r.Attempted {
			attempted = 1
		}
		var sentAt, reason any
		reply, lastErr := "", r.Reply
		switch r.State {
		case news.DeliverySent:
			sentAt, reply, lastErr = r.At.Unix(), r.Reply, ""
		case news.DeliverySkipped:
			reason, lastErr = r.Reply, ""
		}
		switch r.State {
		case news.DeliverySent, news.DeliveryDeferred, news.DeliveryFailed, news.DeliverySkipped:
		default:
			return fmt.Errorf("store: ledger: delivery %d: cannot record state %q", r.DeliveryID, r.State)
		}
		res, err := st.ExecContext(ctx, string(r.State), attempted, sentAt, unixOrNil(r.NextAttemptAt),
			reply, lastErr, r.MessageID, reason, r.At.Unix(), r.DeliveryID)
		if err != nil {
			return fmt.Errorf("store: ledger: record delivery %d: %w", r.DeliveryID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("store: ledger: delivery %d is not in sending", r.DeliveryID)
		}
		if r.Bounced {
			if err := setSubscriberStatus(ctx, tx, r.SubscriberID, news.StatusBounced, r.At,
				"bounced: "+truncate(r.Reply, 200)); err != nil {
				return err
			}
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// setSubscriberStatus moves an active (or pending) subscriber to a
// terminal mail-feedback status and logs it in the consent log.
func setSubscriberStatus(ctx context.Context, tx *sql.Tx, id int64, status news.SubscriberStatus, at time.Time, detail string) error {
	var email string
	err := tx.QueryRowContext(ctx, `UPDATE subscribers SET status = ? WHERE id = ? AND status IN ('active', 'pending') RETURNING email`,
		string(status), id).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // already unsubscribed, bounced or complained
	}
	if err != nil {
		return fmt.Errorf("store: subscriber %d status %s: %w", id, status, err)
	}
	// The append-only log must not keep the address a server's reply
	// quotes: erasure could not remove it from there.
	if _, err := tx.ExecContext(ctx, `INSERT INTO consent_log (subscriber_id, at, action, source, detail) VALUES (?, ?, ?, ?, ?)`,
		id, at.Unix(), string(news.ConsentStatus), string(news.SourceMail), string(status)+": "+redactAddress(detail, email)); err != nil {
		return fmt.Errorf("store: subscriber %d consent log: %w", id, err)
	}
	return nil
}

// claim marks up to n due rows of the edition as sending and returns them.
// The claim statements: due rows in due order (?1 now, ?2 the edition,
// ?3 how many), read from the covering indexes deliveries_claim and
// deliveries_retry (TestQueryPlans).
const (
	claimQueuedQuery = `UPDATE deliveries SET state = 'sending', claimed_at = ?1, updated_at = ?1
		WHERE id IN (SELECT id FROM deliveries WHERE edition_id = ?2 AND state = 'queued' AND due_at <= ?1
		ORDER BY due_at, id LIMIT ?3) RETURNING id`
	claimDeferredQuery = `UPDATE deliveries SET state = 'sending', claimed_at = ?1, updated_at = ?1
		WHERE id IN (SELECT id FROM deliveries WHERE edition_id = ?2 AND state = 'deferred' AND next_attempt_at <= ?1
		ORDER BY next_attempt_at, id LIMIT ?3) RETURNING id`
)

func claim(ctx context.Context, tx *sql.Tx, editionID, now int64, n int) ([]news.ClaimedDelivery, error) {
	var ids []int64
	pick := func(q string, args ...any) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("store: ledger: claim: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("store: ledger: claim: %w", err)
			}
			ids = append(ids, id)
		}
		return rows.Err()
	}
	if err := pick(claimQueuedQuery, now, editionID, n); err != nil {
		return nil, err
	}
	if len(ids) < n {
		if err := pick(claimDeferredQuery, now, editionID, n-len(ids)); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	claimed, err := loadClaimed(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	// Readers who left (or paused) since planning get nothing.
	out := make([]news.ClaimedDelivery, 0, len(claimed))
	for _, c := range claimed {
		if c.receives {
			out = append(out, c.ClaimedDelivery)
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'skipped', claimed_at = NULL, updated_at = ?,
			reason = 'unsubscribed, bounced or paused since the edition was planned' WHERE id = ?`, now, c.ID); err != nil {
			return nil, fmt.Errorf("store: ledger: skip %d: %w", c.ID, err)
		}
	}
	return out, nil
}

type claimedRow struct {
	news.ClaimedDelivery
	receives bool
}

// loadClaimed reads the claimed rows with the recipient frozen at
// planning, in id order.
func loadClaimed(ctx context.Context, tx *sql.Tx, ids []int64) ([]claimedRow, error) {
	ph := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := tx.QueryContext(ctx, `SELECT d.id, d.edition_id, e.date, d.subscriber_id, s.email, s.name, d.sections,
		d.attempts, d.due_at, s.status = 'active' AND s.paused = 0
		FROM deliveries d JOIN editions e ON e.id = d.edition_id JOIN subscribers s ON s.id = d.subscriber_id
		WHERE d.id IN (`+ph+`) ORDER BY d.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: ledger: load claimed: %w", err)
	}
	defer rows.Close()
	var out []claimedRow
	for rows.Next() {
		var c claimedRow
		var sections string
		var due sql.NullInt64
		if err := rows.Scan(&c.ID, &c.EditionID, &c.EditionDate, &c.SubscriberID, &c.Email, &c.Name, &sections,
			&c.Attempts, &due, &c.receives); err != nil {
			return nil, fmt.Errorf("store: ledger: load claimed: %w", err)
		}
		c.Sections = splitSections(sections)
		c.DueAt = timeFromNull(due)
		c.State = news.DeliverySending
		out = append(out, c)
	}
	return out, rows.Err()
}

// EndDelivery gives the edition's lease back if owner holds it.
func (db *DB) EndDelivery(ctx context.Context, editionID int64, owner string) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM delivery_leases WHERE edition_id = ? AND owner = ?`, editionID, owner); err != nil {
			return fmt.Errorf("store: end delivery of edition %d: %w", editionID, err)
		}
		return nil
	})
}

// DeliveriesInStates lists an edition's deliveries in the given states
// (e.g. unknown, failed, deferred), by id, at most limit (0 = all).
func (db *DB) DeliveriesInStates(ctx context.Context, editionID int64, states []news.DeliveryState, limit int) ([]news.DeliveryStatus, error) {
	return deliveriesInStates(ctx, db.read, editionID, states, limit)
}

func deliveriesInStates(ctx context.Context, qr querier, editionID int64, states []news.DeliveryState, limit int) ([]news.DeliveryStatus, error) {
	if len(states) == 0 {
		return nil, nil
	}
	args := []any{editionID}
	for _, s := range states {
		args = append(args, string(s))
	}
	q := `SELECT d.id, d.subscriber_id, s.email, d.state, d.attempts, d.last_error, d.reply,
		d.next_attempt_at, d.sent_at, d.updated_at FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
		WHERE d.edition_id = ? AND d.state IN (` + strings.TrimSuffix(strings.Repeat("?,", len(states)), ",") + `) ORDER BY d.id`
	if limit > 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := qr.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: deliveries in states: %w", err)
	}
	defer rows.Close()
	var out []news.DeliveryStatus
	for rows.Next() {
		var s news.DeliveryStatus
		var state string
		var next, sent, upd sql.NullInt64
		if err := rows.Scan(&s.ID, &s.SubscriberID, &s.Email, &state, &s.Attempts, &s.LastError, &s.Reply, &next, &sent, &upd); err != nil {
			return nil, fmt.Errorf("store: deliveries in states: %w", err)
		}
		s.State = news.DeliveryState(state)
		s.NextAttemptAt, s.SentAt, s.UpdatedAt = timeFromNull(next), timeFromNull(sent), timeFromNull(upd)
		out = append(out, s)
	}
	return out, rows.Err()
}

// LedgerView reads an edition's count of rows per state, its rows in
// states (by id, at most limit, 0 = all) and its delivery lease in one
// read transaction, so that they agree: "digest status" tells rows a live
// run is sending from rows a dead run left in sending by the lease, and
// a run that starts or ends between two separate reads would fool it.
// It writes nothing.
func (db *DB) LedgerView(ctx context.Context, editionID int64, states []news.DeliveryState, limit int) (news.LedgerView, error) {
	var v news.LedgerView
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return v, fmt.Errorf("store: ledger view: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var expires int64
	err = tx.QueryRowContext(ctx, `SELECT owner, expires_at FROM delivery_leases WHERE edition_id = ?`, editionID).Scan(&v.LeaseOwner, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return v, fmt.Errorf("store: ledger view: lease: %w", err)
	default:
		v.LeaseExpires = time.Unix(expires, 0).UTC()
	}
	rows, err := tx.QueryContext(ctx, `SELECT state, count(*) FROM deliveries WHERE edition_id = ? GROUP BY state`, editionID)
	if err != nil {
		return v, fmt.Errorf("store: ledger view: counts: %w", err)
	}
	v.Counts = map[news.DeliveryState]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			rows.Close()
			return v, fmt.Errorf("store: ledger view: counts: %w", err)
		}
		v.Counts[news.DeliveryState(state)] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("store: ledger view: counts: %w", err)
	}
	if v.Rows, err = deliveriesInStates(ctx, tx, editionID, states, limit); err != nil {
		return v, err
	}
	return v, nil
}

// PendingEditionDates lists the dates of editions that still have
// deliveries to send (queued or deferred), oldest first, among editions
// dated on or after since (YYYY-MM-DD).
func (db *DB) PendingEditionDates(ctx context.Context, since string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT e.date FROM editions e WHERE e.date >= ? AND EXISTS
		(SELECT 1 FROM deliveries d WHERE d.edition_id = e.id AND d.state IN ('queued', 'deferred'))
		ORDER BY e.date`, since)
	if err != nil {
		return nil, fmt.Errorf("store: pending editions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("store: pending editions: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RecordSlot records that the scheduled digest slot at slotAt ran or was
// missed. It returns false when the slot was already recorded (by
// another firing or process): the caller then does nothing.
func (db *DB) RecordSlot(ctx context.Context, slotAt time.Time, date, outcome string, now time.Time) (bool, error) {
	var inserted bool
	err := db.durableWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO digest_slots (slot_at, date, outcome, recorded_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (slot_at) DO NOTHING`, slotAt.Unix(), date, outcome, now.Unix())
		if err != nil {
			return fmt.Errorf("store: record slot %s: %w", slotAt.UTC().Format(time.RFC3339), err)
		}
		n, _ := res.RowsAffected()
		inserted = n == 1
		return nil
	})
	return inserted, err
}

// Slot returns the recorded outcome of a slot, or ErrNotFound.
func (db *DB) Slot(ctx context.Context, slotAt time.Time) (string, error) {
	var outcome string
	err := db.read.QueryRowContext(ctx, `SELECT outcome FROM digest_slots WHERE slot_at = ?`, slotAt.Unix()).Scan(&outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: slot %s: %w", slotAt.UTC().Format(time.RFC3339), ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: slot: %w", err)
	}
	return outcome, nil
}
