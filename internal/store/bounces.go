package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pressroom/pressroom/internal/news"
)

// softBouncesInARow is how many soft bounces in a row (the subscriber's
// latest bounces, with no hard one between, each for a different
// delivery) mark a subscriber bounced.
const softBouncesInARow = 3

// FindDelivery returns the id and subscriber of the delivery with this
// id, or of edition date's delivery to subscriberID when id is 0. A
// missing delivery is an error wrapping ErrNotFound.
func (db *DB) FindDelivery(ctx context.Context, id int64, date string, subscriberID int64) (deliveryID, subID int64, err error) {
	if id > 0 {
		err = db.read.QueryRowContext(ctx, `SELECT id, subscriber_id FROM deliveries WHERE id = ?`, id).Scan(&deliveryID, &subID)
	} else {
		err = db.read.QueryRowContext(ctx, `SELECT d.id, d.subscriber_id FROM deliveries d JOIN editions e ON e.id = d.edition_id
			WHERE e.date = ? AND d.subscriber_id = ?`, date, subscriberID).Scan(&deliveryID, &subID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("store: find delivery: %w", ErrNotFound)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: find delivery: %w", err)
	}
	return deliveryID, subID, nil
}

// RecordBounce stores a bounce or complaint once (reportKey identifies
// the report) and applies it: a hard bounce fails the delivery and marks
// the subscriber bounced; a soft bounce fails the delivery and marks the
// subscriber bounced when it is the third soft bounce in a row; a
// delayed notice is only recorded (the relay is still trying: resending
// would make a duplicate); a complaint marks the subscriber complained.
func (db *DB) RecordBounce(ctx context.Context, ev news.BounceEvent, reportKey string) (news.BounceOutcome, error) {
	var out news.BounceOutcome
	err := db.durableWrite(ctx, func(tx *sql.Tx) error {
		var subID int64
		var email string
		err := tx.QueryRowContext(ctx, `SELECT d.subscriber_id, s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
			WHERE d.id = ?`, ev.DeliveryID).Scan(&subID, &email)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: record bounce: delivery %d: %w", ev.DeliveryID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: record bounce: %w", err)
		}
		out.SubscriberID, out.Email = subID, email
		res, err := tx.ExecContext(ctx, `INSERT INTO bounce_events (delivery_id, subscriber_id, kind, status, diagnostic, source, report_key, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (report_key) DO NOTHING`,
			ev.DeliveryID, subID, string(ev.Kind), ev.Status, ev.Diagnostic, ev.Source, reportKey, ev.At.Unix())
		if err != nil {
			return fmt.Errorf("store: record bounce: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			out.Duplicate = true
			return nil
		}
		detail := ev.Status + " " + truncate(ev.Diagnostic, 200)
		var newStatus news.SubscriberStatus
		switch ev.Kind {
		case news.BounceHard:
			newStatus = news.StatusBounced
		case news.BounceSoft:
			rows, err := tx.QueryContext(ctx, `SELECT kind, delivery_id FROM bounce_events WHERE subscriber_id = ?
				AND kind IN ('hard', 'soft') ORDER BY at DESC, id DESC LIMIT ?`, subID, softBouncesInARow*4)
			if err != nil {
				return fmt.Errorf("store: record bounce: %w", err)
			}
			seen := map[int64]bool{}
			soft := 0
			for rows.Next() {
				var kind string
				var did int64
				if err := rows.Scan(&kind, &did); err != nil {
					rows.Close()
					return fmt.Errorf("store: record bounce: %w", err)
				}
				if kind != string(news.BounceSoft) || soft >= softBouncesInARow {
					break
				}
				if !seen[did] {
					seen[did] = true
					soft++
				}
			}
			rows.Close()
			if soft >= softBouncesInARow {
				newStatus = news.StatusBounced
				detail = fmt.Sprintf("%d soft bounces in a row; last: %s", softBouncesInARow, detail)
			}
		case news.BounceComplaint:
			newStatus = news.StatusComplained
			detail = "complaint (feedback report) from " + ev.Source
		}
		if ev.Kind == news.BounceHard || ev.Kind == news.BounceSoft {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', last_error = ?, updated_at = ?
				WHERE id = ? AND state IN ('sent', 'deferred', 'unknown', 'queued')`,
				"bounce: "+detail, ev.At.Unix(), ev.DeliveryID); err != nil {
				return fmt.Errorf("store: record bounce: %w", err)
			}
		}
		if newStatus != "" {
			var before string
			if err := tx.QueryRowContext(ctx, `SELECT status FROM subscribers WHERE id = ?`, subID).Scan(&before); err != nil {
				return fmt.Errorf("store: record bounce: %w", err)
			}
			if err := setSubscriberStatus(ctx, tx, subID, newStatus, ev.At, detail); err != nil {
				return err
			}
			if before == string(news.StatusActive) || before == string(news.StatusPending) {
				out.NewStatus = newStatus
			}
		}
		return nil
	})
	return out, err
}
