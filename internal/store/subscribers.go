package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// Subscriber queries. A subscriber's chosen sections live in
// subscriber_sections; every change that a reader or the newsroom makes is
// appended to consent_log in the same transaction as the change itself.
// Erased subscribers keep their row (the consent log refers to it) but
// are invisible to every lookup and list here.

const subscriberColumns = `id, email, name, status, created_at, confirmed_at, unsubscribed_at,
	delivery_hour, time_zone, paused`

// errUnknown wraps both the store's and the domain's not-found errors.
func errUnknown(what string) error {
	return fmt.Errorf("store: subscriber %s: %w (%w)", what, ErrNotFound, news.ErrUnknownSubscriber)
}

type rowScanner interface{ Scan(dest ...any) error }

func scanSubscriber(r rowScanner) (news.Subscriber, error) {
	var (
		s                   news.Subscriber
		status              string
		created             int64
		confirmed, unsubbed sql.NullInt64
		paused              int
	)
	if err := r.Scan(&s.ID, &s.Email, &s.Name, &status, &created, &confirmed, &unsubbed,
		&s.DeliveryHour, &s.TimeZone, &paused); err != nil {
		return s, err
	}
	s.Status = news.SubscriberStatus(status)
	s.CreatedAt = time.Unix(created, 0).UTC()
	if confirmed.Valid {
		s.ConfirmedAt = time.Unix(confirmed.Int64, 0).UTC()
	}
	if unsubbed.Valid {
		s.UnsubscribedAt = time.Unix(unsubbed.Int64, 0).UTC()
	}
	s.Paused = paused != 0
	return s, nil
}

func unixOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

// querier is what *sql.DB and *sql.Tx share for reads.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func loadSubscriber(ctx context.Context, q querier, where string, arg any, what string) (news.Subscriber, error) {
	s, err := scanSubscriber(q.QueryRowContext(ctx,
		`SELECT `+subscriberColumns+` FROM subscribers WHERE `+where+` AND erased_at IS NULL`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return s, errUnknown(what)
	}
	if err != nil {
		return s, fmt.Errorf("store: subscriber %s: %w", what, err)
	}
	if s.Sections, err = loadSections(ctx, q, s.ID); err != nil {
		return s, err
	}
	return s, nil
}

func loadSections(ctx context.Context, q querier, id int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT section FROM subscriber_sections WHERE subscriber_id = ? ORDER BY section`, id)
	if err != nil {
		return nil, fmt.Errorf("store: subscriber %d sections: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: subscriber %d sections: %w", id, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: subscriber %d sections: %w", id, err)
	}
	return out, nil
}

// SubscriberByID returns the subscriber with id. A missing or erased one
// gives an error wrapping ErrNotFound and news.ErrUnknownSubscriber.
func (db *DB) SubscriberByID(ctx context.Context, id int64) (news.Subscriber, error) {
	return loadSubscriber(ctx, db.read, `id = ?`, id, fmt.Sprint(id))
}

// SubscriberByEmail returns the subscriber whose address equals email
// compared case-insensitively (news.EmailKey).
func (db *DB) SubscriberByEmail(ctx context.Context, email string) (news.Subscriber, error) {
	return loadSubscriber(ctx, db.read, `email_key = ?`, news.EmailKey(email), fmt.Sprintf("%q", email))
}

// checkNewSubscriber validates the fields a new subscriber is stored with.
func checkNewSubscriber(ctx context.Context, q querier, s news.Subscriber) error {
	if err := checkSubscriberFields(s); err != nil {
		return err
	}
	return checkSections(ctx, q, s.Sections)
}

// checkSubscriberFields validates everything but the sections.
func checkSubscriberFields(s news.Subscriber) error {
	if _, err := news.ParseEmail(s.Email); err != nil {
		return err
	}
	if err := news.CheckSubscriberName(s.Name); err != nil {
		return err
	}
	if !s.Status.Valid() {
		_, err := news.ParseSubscriberStatus(string(s.Status))
		return err
	}
	if err := news.CheckDeliveryHour(s.DeliveryHour); err != nil {
		return err
	}
	return news.CheckTimeZone(s.TimeZone)
}

// checkSections verifies slugs against the sections table.
func checkSections(ctx context.Context, q querier, slugs []string) error {
	if len(slugs) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT slug, title, description, position FROM sections ORDER BY slug`)
	if err != nil {
		return fmt.Errorf("store: sections: %w", err)
	}
	defer rows.Close()
	var known []news.Section
	for rows.Next() {
		var s news.Section
		if err := rows.Scan(&s.Slug, &s.Title, &s.Description, &s.Position); err != nil {
			return fmt.Errorf("store: sections: %w", err)
		}
		known = append(known, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: sections: %w", err)
	}
	_, err = news.NormalizeSections(slugs, known)
	return err
}

// insertSubscriber writes a new row with its sections and returns its id.
func insertSubscriber(ctx context.Context, tx *sql.Tx, s news.Subscriber) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO subscribers
		(email, email_key, name, status, created_at, confirmed_at, unsubscribed_at, delivery_hour, time_zone, paused)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Email, news.EmailKey(s.Email), s.Name, string(s.Status), s.CreatedAt.Unix(),
		unixOrNull(s.ConfirmedAt), unixOrNull(s.UnsubscribedAt), s.DeliveryHour, s.TimeZone, boolInt(s.Paused))
	if err != nil {
		return 0, fmt.Errorf("store: insert subscriber: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: insert subscriber: %w", err)
	}
	return id, replaceSections(ctx, tx, id, s.Sections)
}

func replaceSections(ctx context.Context, tx *sql.Tx, id int64, slugs []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM subscriber_sections WHERE subscriber_id = ?`, id); err != nil {
		return fmt.Errorf("store: subscriber %d sections: %w", id, err)
	}
	for _, s := range slugs {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO subscriber_sections (subscriber_id, section) VALUES (?, ?)`, id, s); err != nil {
			return fmt.Errorf("store: subscriber %d section %q: %w", id, s, err)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendConsent adds one consent-log row for subscriber id.
func appendConsent(ctx context.Context, tx *sql.Tx, id int64, ev news.ConsentEvent) error {
	if ev.At.IsZero() {
		return fmt.Errorf("store: consent log for subscriber %d: event has no time", id)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO consent_log
		(subscriber_id, at, action, source, form_version, ip, user_agent, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, ev.At.Unix(), string(ev.Action), string(ev.Source), ev.FormVersion, ev.IP, ev.UserAgent, ev.Detail); err != nil {
		return fmt.Errorf("store: consent log for subscriber %d: %w", id, err)
	}
	return nil
}

// sectionsDetail describes a section choice for the consent log.
func sectionsDetail(slugs []string) string {
	if len(slugs) == 0 {
		return "sections: all"
	}
	return "sections: " + strings.Join(slugs, ", ")
}

func prefsDetail(p news.Preferences) string {
	d := sectionsDetail(p.Sections)
	if p.DeliveryHour == news.DefaultDeliveryHour {
		d += "; hour: default"
	} else {
		d += fmt.Sprintf("; hour: %02d:00", p.DeliveryHour)
	}
	if p.TimeZone == "" {
		d += "; zone: default"
	} else {
		d += "; zone: " + p.TimeZone
	}
	if p.Paused {
		d += "; paused"
	}
	return d
}

// SignUp records a reader's request to subscribe made through the web
// form: s carries Email, Name and Sections (CreatedAt and Status are set
// here from ev.At), ev the request's consent details. What happens
// depends on the address (compared with news.EmailKey):
//
//   - new: a pending subscriber is stored (news.SignUpNew);
//   - unsubscribed: pending again with the new name and sections (SignUpRenewed);
//   - pending or active: nothing is written (SignUpPending, SignUpActive),
//     so that a stranger cannot change someone else's choices;
//   - bounced or complained: nothing is written (SignUpBlocked).
//
// The consent event is logged only when something was written. The
// subscriber as stored afterwards is returned.
func (db *DB) SignUp(ctx context.Context, s news.Subscriber, ev news.ConsentEvent) (news.Subscriber, news.SignUpOutcome, error) {
	s.Status = news.StatusPending
	s.CreatedAt = ev.At
	s.ConfirmedAt, s.UnsubscribedAt = time.Time{}, time.Time{}
	s.DeliveryHour, s.TimeZone, s.Paused = news.DefaultDeliveryHour, "", false
	ev.Action = news.ConsentSubscribe
	if ev.Detail == "" {
		ev.Detail = sectionsDetail(s.Sections)
	}
	var (
		out     news.Subscriber
		outcome news.SignUpOutcome
	)
	err := db.Write(ctx, func(tx *sql.Tx) error {
		if err := checkNewSubscriber(ctx, tx, s); err != nil {
			return fmt.Errorf("store: sign up: %w", err)
		}
		cur, err := loadSubscriber(ctx, tx, `email_key = ?`, s.Key(), "")
		switch {
		case errors.Is(err, ErrNotFound):
			id, err := insertSubscriber(ctx, tx, s)
			if err != nil {
				return err
			}
			if err := appendConsent(ctx, tx, id, ev); err != nil {
				return err
			}
			outcome = news.SignUpNew
			out, err = loadSubscriber(ctx, tx, `id = ?`, id, fmt.Sprint(id))
			return err
		case err != nil:
			return err
		}
		switch cur.Status {
		case news.StatusPending:
			outcome, out = news.SignUpPending, cur
			return nil
		case news.StatusActive:
			outcome, out = news.SignUpActive, cur
			return nil
		case news.StatusBounced, news.StatusComplained:
			outcome, out = news.SignUpBlocked, cur
			return nil
		}
		// Unsubscribed: a fresh opt-in with the new choices.
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = 'pending', name = ?,
			confirmed_at = NULL, unsubscribed_at = NULL, delivery_hour = -1, time_zone = '', paused = 0
			WHERE id = ?`, s.Name, cur.ID); err != nil {
			return fmt.Errorf("store: sign up again %d: %w", cur.ID, err)
		}
		if err := replaceSections(ctx, tx, cur.ID, s.Sections); err != nil {
			return err
		}
		ev.Detail = "again after unsubscribing; " + ev.Detail
		if err := appendConsent(ctx, tx, cur.ID, ev); err != nil {
			return err
		}
		outcome = news.SignUpRenewed
		out, err = loadSubscriber(ctx, tx, `id = ?`, cur.ID, fmt.Sprint(cur.ID))
		return err
	})
	if err != nil {
		return news.Subscriber{}, 0, err
	}
	return out, outcome, nil
}

// AddSubscriber stores a new subscriber from the command line (status
// pending or active; active ones get ConfirmedAt = ev.At) and logs ev as a
// "subscribe" event. An address already on the list is an error wrapping
// ErrExists and news.ErrSubscriberExists.
func (db *DB) AddSubscriber(ctx context.Context, s news.Subscriber, ev news.ConsentEvent) (news.Subscriber, error) {
	var out news.Subscriber
	err := db.Write(ctx, func(tx *sql.Tx) error {
		a, err := newSubAdder(ctx, tx)
		if err != nil {
			return err
		}
		defer a.close()
		id, err := a.add(ctx, s, ev)
		if err != nil {
			return err
		}
		out, err = loadSubscriber(ctx, tx, `id = ?`, id, fmt.Sprint(id))
		return err
	})
	return out, err
}

// subAdder adds subscribers within one transaction with prepared
// statements and the sections read once: an import of many rows parses
// each statement once instead of once per row.
type subAdder struct {
	known                                     []news.Section
	exists, insert, insertSection, logConsent *sql.Stmt
}

func newSubAdder(ctx context.Context, tx *sql.Tx) (*subAdder, error) {
	a := &subAdder{}
	rows, err := tx.QueryContext(ctx, `SELECT slug, title, description, position FROM sections ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("store: sections: %w", err)
	}
	for rows.Next() {
		var sec news.Section
		if err := rows.Scan(&sec.Slug, &sec.Title, &sec.Description, &sec.Position); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: sections: %w", err)
		}
		a.known = append(a.known, sec)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sections: %w", err)
	}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&a.exists, `SELECT count(*) FROM subscribers WHERE email_key = ?`},
		{&a.insert, `INSERT INTO subscribers
			(email, email_key, name, status, created_at, confirmed_at, unsubscribed_at, delivery_hour, time_zone, paused)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&a.insertSection, `INSERT OR IGNORE INTO subscriber_sections (subscriber_id, section) VALUES (?, ?)`},
		{&a.logConsent, `INSERT INTO consent_log
			(subscriber_id, at, action, source, form_version, ip, user_agent, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
	} {
		if *p.dst, err = tx.PrepareContext(ctx, p.q); err != nil {
			a.close()
			return nil, fmt.Errorf("store: prepare: %w", err)
		}
	}
	return a, nil
}

func (a *subAdder) close() {
	for _, st := range []*sql.Stmt{a.exists, a.insert, a.insertSection, a.logConsent} {
		if st != nil {
			st.Close()
		}
	}
}

func (a *subAdder) add(ctx context.Context, s news.Subscriber, ev news.ConsentEvent) (int64, error) {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = ev.At
	}
	if s.Status == news.StatusActive && s.ConfirmedAt.IsZero() {
		s.ConfirmedAt = ev.At
	}
	if s.Status == news.StatusUnsubscribed && s.UnsubscribedAt.IsZero() {
		s.UnsubscribedAt = ev.At
	}
	if ev.At.IsZero() {
		return 0, fmt.Errorf("store: add subscriber %q: consent event has no time", s.Email)
	}
	if err := checkSubscriberFields(s); err != nil {
		return 0, fmt.Errorf("store: add subscriber: %w", err)
	}
	if len(s.Sections) > 0 {
		if _, err := news.NormalizeSections(s.Sections, a.known); err != nil {
			return 0, fmt.Errorf("store: add subscriber: %w", err)
		}
	}
	var n int
	if err := a.exists.QueryRowContext(ctx, s.Key()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: add subscriber: %w", err)
	}
	if n > 0 {
		return 0, fmt.Errorf("store: add subscriber %q: %w (%w)", s.Email, ErrExists, news.ErrSubscriberExists)
	}
	res, err := a.insert.ExecContext(ctx, s.Email, s.Key(), s.Name, string(s.Status), s.CreatedAt.Unix(),
		unixOrNull(s.ConfirmedAt), unixOrNull(s.UnsubscribedAt), s.DeliveryHour, s.TimeZone, boolInt(s.Paused))
	if err != nil {
		return 0, fmt.Errorf("store: insert subscriber: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: insert subscriber: %w", err)
	}
	for _, sec := range s.Sections {
		if _, err := a.insertSection.ExecContext(ctx, id, sec); err != nil {
			return 0, fmt.Errorf("store: subscriber %d section %q: %w", id, sec, err)
		}
	}
	ev.Action = news.ConsentSubscribe
	if ev.Detail == "" {
		ev.Detail = fmt.Sprintf("added as %s; %s", s.Status, sectionsDetail(s.Sections))
	}
	if _, err := a.logConsent.ExecContext(ctx, id, ev.At.Unix(), string(ev.Action), string(ev.Source),
		ev.FormVersion, ev.IP, ev.UserAgent, ev.Detail); err != nil {
		return 0, fmt.Errorf("store: consent log for subscriber %d: %w", id, err)
	}
	return id, nil
}

// ImportSubscribers adds subscribers in one write transaction. fill calls
// put once per subscriber; put returns an error for an invalid subscriber
// or an address already stored or already put (the caller adds the
// place). If fill returns an error, nothing is written. Each subscriber
// gets a "subscribe" consent event from source import at time now.
func (db *DB) ImportSubscribers(ctx context.Context, now time.Time, fill func(put func(news.Subscriber) error) error) (int, error) {
	n := 0
	err := db.Write(ctx, func(tx *sql.Tx) error {
		n = 0
		a, err := newSubAdder(ctx, tx)
		if err != nil {
			return err
		}
		defer a.close()
		put := func(s news.Subscriber) error {
			ev := news.ConsentEvent{At: now, Source: news.SourceImport,
				Detail: fmt.Sprintf("imported as %s; %s", s.Status, sectionsDetail(s.Sections))}
			if _, err := a.add(ctx, s, ev); err != nil {
				return err
			}
			n++
			return nil
		}
		return fill(put)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ListSubscribers returns subscribers with their sections, by id. status
// "" means any status; section "" means any, otherwise only those who
// receive that section (chose it, or chose none = all). See
// EachSubscriber for a list too long to hold in memory.
func (db *DB) ListSubscribers(ctx context.Context, status news.SubscriberStatus, section string) ([]news.Subscriber, error) {
	var out []news.Subscriber
	err := db.EachSubscriber(ctx, status, section, func(s news.Subscriber) error {
		out = append(out, s)
		return nil
	})
	return out, err
}

// EachSubscriber calls fn for every subscriber ListSubscribers would
// return, in the same order, holding one at a time: it walks the
// subscribers and their chosen sections as two cursors ordered by
// subscriber id, so memory stays flat however long the list. An error
// from fn stops the walk and is returned.
func (db *DB) EachSubscriber(ctx context.Context, status news.SubscriberStatus, section string, fn func(news.Subscriber) error) error {
	q := `SELECT ` + subscriberColumns + ` FROM subscribers s WHERE erased_at IS NULL`
	var args []any
	if status != "" {
		q += ` AND status = ?`
		args = append(args, string(status))
	}
	if section != "" {
		q += ` AND (EXISTS (SELECT 1 FROM subscriber_sections x WHERE x.subscriber_id = s.id AND x.section = ?)
			OR NOT EXISTS (SELECT 1 FROM subscriber_sections x WHERE x.subscriber_id = s.id))`
		args = append(args, section)
	}
	q += ` ORDER BY id`
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: list subscribers: %w", err)
	}
	defer rows.Close()
	srows, err := db.read.QueryContext(ctx, `SELECT subscriber_id, section FROM subscriber_sections ORDER BY subscriber_id, section`)
	if err != nil {
		return fmt.Errorf("store: list subscribers: %w", err)
	}
	defer srows.Close()
	var (
		secID   int64
		secSlug string
		secOK   = srows.Next()
	)
	if secOK {
		if err := srows.Scan(&secID, &secSlug); err != nil {
			return fmt.Errorf("store: list subscribers: %w", err)
		}
	}
	for rows.Next() {
		s, err := scanSubscriber(rows)
		if err != nil {
			return fmt.Errorf("store: list subscribers: %w", err)
		}
		for secOK && secID <= s.ID {
			if secID == s.ID {
				s.Sections = append(s.Sections, secSlug)
			}
			if secOK = srows.Next(); secOK {
				if err := srows.Scan(&secID, &secSlug); err != nil {
					return fmt.Errorf("store: list subscribers: %w", err)
				}
			}
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: list subscribers: %w", err)
	}
	if err := srows.Err(); err != nil {
		return fmt.Errorf("store: list subscribers: %w", err)
	}
	return nil
}

// transition runs one consent-logged change of subscriber id in a write
// transaction. change sees the current row: it returns ok false when
// there is nothing to do (the row is returned as it is, changed false),
// or makes its update and names the consent action and the detail to log
// when ev has none. The event is then logged and the row read back.
func (db *DB) transition(ctx context.Context, id int64, ev news.ConsentEvent,
	change func(tx *sql.Tx, cur news.Subscriber) (action news.ConsentAction, detail string, ok bool, err error),
) (s news.Subscriber, changed bool, err error) {
	err = db.Write(ctx, func(tx *sql.Tx) error {
		cur, err := loadSubscriber(ctx, tx, `id = ?`, id, fmt.Sprint(id))
		if err != nil {
			return err
		}
		action, detail, ok, err := change(tx, cur)
		if err != nil {
			return err
		}
		if !ok {
			s = cur
			return nil
		}
		ev.Action = action
		if ev.Detail == "" {
			ev.Detail = detail
		}
		if err := appendConsent(ctx, tx, id, ev); err != nil {
			return err
		}
		changed = true
		s, err = loadSubscriber(ctx, tx, `id = ?`, id, fmt.Sprint(id))
		return err
	})
	return s, changed, err
}

// ConfirmSubscriber activates a pending subscriber (double opt-in) and
// logs ev as a "confirm" event. For any other status nothing is written
// and changed is false; the caller tells "already confirmed" (active)
// from "no longer valid" by the returned status.
func (db *DB) ConfirmSubscriber(ctx context.Context, id int64, ev news.ConsentEvent) (news.Subscriber, bool, error) {
	return db.transition(ctx, id, ev, func(tx *sql.Tx, cur news.Subscriber) (news.ConsentAction, string, bool, error) {
		if cur.Status != news.StatusPending {
			return "", "", false, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = 'active', confirmed_at = ? WHERE id = ?`, ev.At.Unix(), id); err != nil {
			return "", "", false, fmt.Errorf("store: confirm subscriber %d: %w", id, err)
		}
		return news.ConsentConfirm, sectionsDetail(cur.Sections), true, nil
	})
}

// UpdatePreferences stores new preferences for a pending or active
// subscriber and logs ev as a "preferences" event. Preferences equal to
// the stored ones write nothing (changed false). Invalid preferences
// (unknown section, bad hour or zone) are an error and write nothing; so
// is a subscriber in any other status.
func (db *DB) UpdatePreferences(ctx context.Context, id int64, p news.Preferences, ev news.ConsentEvent) (news.Subscriber, bool, error) {
	if err := news.CheckDeliveryHour(p.DeliveryHour); err != nil {
		return news.Subscriber{}, false, fmt.Errorf("store: preferences of %d: %w", id, err)
	}
	if err := news.CheckTimeZone(p.TimeZone); err != nil {
		return news.Subscriber{}, false, fmt.Errorf("store: preferences of %d: %w", id, err)
	}
	p.Sections = slices.Compact(slices.Sorted(slices.Values(p.Sections)))
	return db.transition(ctx, id, ev, func(tx *sql.Tx, cur news.Subscriber) (news.ConsentAction, string, bool, error) {
		if cur.Status != news.StatusPending && cur.Status != news.StatusActive {
			return "", "", false, fmt.Errorf("store: preferences of %d: subscriber is %s", id, cur.Status)
		}
		if err := checkSections(ctx, tx, p.Sections); err != nil {
			return "", "", false, fmt.Errorf("store: preferences of %d: %w", id, err)
		}
		if cur.Preferences().Equal(p) {
			return "", "", false, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET delivery_hour = ?, time_zone = ?, paused = ? WHERE id = ?`,
			p.DeliveryHour, p.TimeZone, boolInt(p.Paused), id); err != nil {
			return "", "", false, fmt.Errorf("store: preferences of %d: %w", id, err)
		}
		if err := replaceSections(ctx, tx, id, p.Sections); err != nil {
			return "", "", false, err
		}
		return news.ConsentPreferences, prefsDetail(p), true, nil
	})
}

// Unsubscribe takes a pending or active subscriber off the list and logs
// ev as an "unsubscribe" event. An already unsubscribed, bounced or
// complained subscriber is left as it is (changed false): unsubscribing
// is idempotent.
func (db *DB) Unsubscribe(ctx context.Context, id int64, ev news.ConsentEvent) (news.Subscriber, bool, error) {
	return db.transition(ctx, id, ev, func(tx *sql.Tx, cur news.Subscriber) (news.ConsentAction, string, bool, error) {
		if cur.Status != news.StatusPending && cur.Status != news.StatusActive {
			return "", "", false, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ? WHERE id = ?`, ev.At.Unix(), id); err != nil {
			return "", "", false, fmt.Errorf("store: unsubscribe %d: %w", id, err)
		}
		return news.ConsentUnsubscribe, "was " + string(cur.Status), true, nil
	})
}

// Resubscribe makes an unsubscribed subscriber active again, keeping
// their preferences, and logs ev as a "subscribe" event. It serves the
// preference centre, whose signed link already proves the reader owns the
// address. Any other status is left as it is (changed false).
func (db *DB) Resubscribe(ctx context.Context, id int64, ev news.ConsentEvent) (news.Subscriber, bool, error) {
	return db.transition(ctx, id, ev, func(tx *sql.Tx, cur news.Subscriber) (news.ConsentAction, string, bool, error) {
		if cur.Status != news.StatusUnsubscribed {
			return "", "", false, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = 'active', unsubscribed_at = NULL,
			confirmed_at = ? WHERE id = ?`, ev.At.Unix(), id); err != nil {
			return "", "", false, fmt.Errorf("store: resubscribe %d: %w", id, err)
		}
		return news.ConsentSubscribe, "again from the preference centre; " + sectionsDetail(cur.Sections), true, nil
	})
}

// SetSubscriberStatus sets a subscriber's status on the newsroom's or the
// mail system's word (e.g. bounced, complained) and logs ev as a "status"
// event. Setting the status it already has writes nothing.
func (db *DB) SetSubscriberStatus(ctx context.Context, id int64, status news.SubscriberStatus, ev news.ConsentEvent) (news.Subscriber, error) {
	if !status.Valid() {
		_, err := news.ParseSubscriberStatus(string(status))
		return news.Subscriber{}, fmt.Errorf("store: set status of %d: %w", id, err)
	}
	var s news.Subscriber
	err := db.Write(ctx, func(tx *sql.Tx) error {
		cur, err := loadSubscriber(ctx, tx, `id = ?`, id, fmt.Sprint(id))
		if err != nil {
			return err
		}
		if cur.Status == status {
			s = cur
			return nil
		}
		q := `UPDATE subscribers SET status = ? WHERE id = ?`
		args := []any{string(status), id}
		switch status {
		case news.StatusActive:
			q = `UPDATE subscribers SET status = ?, confirmed_at = coalesce(confirmed_at, ?), unsubscribed_at = NULL WHERE id = ?`
			args = []any{string(status), ev.At.Unix(), id}
		case news.StatusUnsubscribed:
			q = `UPDATE subscribers SET status = ?, unsubscribed_at = ? WHERE id = ?`
			args = []any{string(status), ev.At.Unix(), id}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store: set status of %d: %w", id, err)
		}
		ev.Action = news.ConsentStatus
		ev.Detail = strings.TrimSuffix(fmt.Sprintf("%s -> %s; %s", cur.Status, status, ev.Detail), "; ")
		if err := appendConsent(ctx, tx, id, ev); err != nil {
			return err
		}
		s, err = loadSubscriber(ctx, tx, `id = ?`, id, fmt.Sprint(id))
		return err
	})
	return s, err
}

// EraseSubscriber carries out a GDPR erasure request: the address, name
// and choices are wiped and the subscriber can no longer be found or
// mailed, but the row and its consent log stay (the log gains an "erase"
// event) as the record of what consent there was. It returns the id of
// the erased subscriber.
//
// The old bytes must not linger in free space either: the write is made
// with SQLite's secure_delete on (freed content is zeroed), and afterwards
// the WAL is checkpointed so the old page versions leave the WAL file too
// (best effort: a long-running reader can hold the checkpoint back).
func (db *DB) EraseSubscriber(ctx context.Context, email string, ev news.ConsentEvent) (int64, error) {
	if _, err := db.write.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return 0, fmt.Errorf("store: erase subscriber: %w", err)
	}
	defer db.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA secure_delete = OFF`)
	var id int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		cur, err := loadSubscriber(ctx, tx, `email_key = ?`, news.EmailKey(email), fmt.Sprintf("%q", email))
		if err != nil {
			return err
		}
		id = cur.ID
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET email = '', email_key = 'erased:' || id, name = '',
			status = CASE WHEN status IN ('pending', 'active') THEN 'unsubscribed' ELSE status END,
			unsubscribed_at = coalesce(unsubscribed_at, ?), delivery_hour = -1, time_zone = '', paused = 0,
			notified_at = NULL, erased_at = ? WHERE id = ?`, ev.At.Unix(), ev.At.Unix(), id); err != nil {
			return fmt.Errorf("store: erase subscriber %d: %w", id, err)
		}
		if err := replaceSections(ctx, tx, id, nil); err != nil {
			return err
		}
		if err := scrubAddress(ctx, tx, id, cur.Email); err != nil {
			return err
		}
		ev.Action = news.ConsentErase
		if ev.Detail == "" {
			ev.Detail = "address erased on request"
		}
		return appendConsent(ctx, tx, id, ev)
	})
	if err != nil {
		return 0, err
	}
	if _, err := db.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		db.logger.Warn("Checkpoint after erasure failed", "subscriber_id", id, "err", err)
	}
	return id, nil
}

// erasedAddress replaces an erased address in server replies and reports.
const erasedAddress = "[erased]"

// redactAddress replaces every occurrence of addr in s, in any case, with
// erasedAddress. Addresses are ASCII (news.CheckEmail), so a
// case-insensitive literal match finds them however a server spelled them.
func redactAddress(s, addr string) string {
	if addr == "" || s == "" {
		return s
	}
	return regexp.MustCompile(`(?i)`+regexp.QuoteMeta(addr)).ReplaceAllLiteralString(s, erasedAddress)
}

// scrubAddress removes addr from what mail servers said about subscriber
// id: delivery replies and errors, bounce diagnostics and report names,
// which often quote the recipient ("550 5.1.1 <a@example.com>: ...").
// The rest of each text (codes, reasons) stays for the record.
func scrubAddress(ctx context.Context, tx *sql.Tx, id int64, addr string) error {
	for _, t := range []struct{ table, cols string }{
		{"deliveries", "reply, last_error, reason"},
		{"bounce_events", "diagnostic, source"},
	} {
		cols := strings.Split(t.cols, ", ")
		rows, err := tx.QueryContext(ctx, `SELECT id, `+t.cols+` FROM `+t.table+` WHERE subscriber_id = ?`, id)
		if err != nil {
			return fmt.Errorf("store: erase subscriber %d: %s: %w", id, t.table, err)
		}
		type change struct {
			id   int64
			vals []any
		}
		var changes []change
		for rows.Next() {
			var rowID int64
			vals := make([]string, len(cols))
			dest := []any{&rowID}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return fmt.Errorf("store: erase subscriber %d: %s: %w", id, t.table, err)
			}
			changed := false
			c := change{id: rowID}
			for _, v := range vals {
				r := redactAddress(v, addr)
				changed = changed || r != v
				c.vals = append(c.vals, r)
			}
			if changed {
				changes = append(changes, c)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("store: erase subscriber %d: %s: %w", id, t.table, err)
		}
		set := strings.Join(cols, " = ?, ") + " = ?"
		for _, c := range changes {
			if _, err := tx.ExecContext(ctx, `UPDATE `+t.table+` SET `+set+` WHERE id = ?`, append(c.vals, c.id)...); err != nil {
				return fmt.Errorf("store: erase subscriber %d: %s: %w", id, t.table, err)
			}
		}
	}
	return nil
}

// ConsentLog returns the consent log of subscriber id, oldest first. It
// works for erased subscribers too (by id).
func (db *DB) ConsentLog(ctx context.Context, id int64) ([]news.ConsentEvent, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, subscriber_id, at, action, source, form_version, ip, user_agent, detail
		FROM consent_log WHERE subscriber_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: consent log of %d: %w", id, err)
	}
	defer rows.Close()
	var out []news.ConsentEvent
	for rows.Next() {
		var (
			e              news.ConsentEvent
			at             int64
			action, source string
		)
		if err := rows.Scan(&e.ID, &e.SubscriberID, &at, &action, &source, &e.FormVersion, &e.IP, &e.UserAgent, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: consent log of %d: %w", id, err)
		}
		e.At = time.Unix(at, 0).UTC()
		e.Action, e.Source = news.ConsentAction(action), news.ConsentSource(source)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: consent log of %d: %w", id, err)
	}
	return out, nil
}

// NoteSubscriberMail records that a confirmation or notice email is about
// to go to subscriber id at time at, unless one went less than minGap
// before; it reports whether the caller may send. This throttles mail to
// an address that someone keeps signing up.
func (db *DB) NoteSubscriberMail(ctx context.Context, id int64, at time.Time, minGap time.Duration) (bool, error) {
	var ok bool
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE subscribers SET notified_at = ?
			WHERE id = ? AND erased_at IS NULL AND (notified_at IS NULL OR notified_at <= ?)`,
			at.Unix(), id, at.Add(-minGap).Unix())
		if err != nil {
			return fmt.Errorf("store: note mail to %d: %w", id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: note mail to %d: %w", id, err)
		}
		ok = n == 1
		return nil
	})
	return ok, err
}

// linkSecretSetting names the generated link-signing secret in settings.
const linkSecretSetting = "link_secret"

// LinkSecret returns the server secret that signs subscription links,
// generating 32 random bytes and storing them on first use, so links stay
// valid across restarts.
func (db *DB) LinkSecret(ctx context.Context) ([]byte, error) {
	var val string
	err := db.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, linkSecretSetting).Scan(&val)
	if errors.Is(err, sql.ErrNoRows) {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("store: generate link secret: %w", err)
		}
		err = db.Write(ctx, func(tx *sql.Tx) error {
			// Another process may have generated one meanwhile: keep theirs.
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)`,
				linkSecretSetting, hex.EncodeToString(fresh)); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, linkSecretSetting).Scan(&val)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("store: link secret: %w", err)
	}
	b, err := hex.DecodeString(val)
	if err != nil || len(b) < news.MinSecretLen {
		return nil, fmt.Errorf("store: link secret: stored value is not a valid secret")
	}
	return b, nil
}
