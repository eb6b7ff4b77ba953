package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// Edition queries. An edition's content is one JSON document written once
// at planning (a trigger refuses later updates), so the articles of an
// edition never change after it is planned. Deliveries freeze each
// reader's section choice; the reader's address and name are read from
// the subscriber row when deliveries are loaded, so an erased address is
// gone from pending deliveries too.

// editionJSON is the stored form of an edition's content.
type editionJSON struct {
	Sections []sectionJSON `json:"sections"`
	MostRead []articleJSON `json:"most_read"`
}

type sectionJSON struct {
	Slug        string        `json:"slug"`
	Title       string        `json:"title"`
	Description string        `json:"description,omitempty"`
	Position    int           `json:"position"`
	Articles    []articleJSON `json:"articles"`
}

// articleJSON is an article snapshot. Times are RFC 3339 with the
// article's own offset, so a snapshot reads back as it was imported.
type articleJSON struct {
	ID          string     `json:"id"`
	URL         string     `json:"url"`
	Section     string     `json:"section"`
	Title       string     `json:"title"`
	Lead        string     `json:"lead,omitempty"`
	BodyHTML    string     `json:"body_html,omitempty"`
	Dateline    string     `json:"dateline,omitempty"`
	Authors     []string   `json:"authors,omitempty"`
	PublishedAt time.Time  `json:"published_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Image       *imageJSON `json:"image,omitempty"`
	Related     []jsonLink `json:"related,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	TopStory    bool       `json:"top_story,omitempty"`
}

type imageJSON struct {
	URL     string `json:"url"`
	Caption string `json:"caption,omitempty"`
	Credit  string `json:"credit,omitempty"`
	Type    string `json:"type,omitempty"`
	Width   int    `json:"width,omitempty"`
	Height  int    `json:"height,omitempty"`
	Length  int64  `json:"length,omitempty"`
}

func toArticleJSON(a news.Article) articleJSON {
	j := articleJSON{ID: a.ID, URL: a.URL, Section: a.Section, Title: a.Title, Lead: a.Lead,
		BodyHTML: a.BodyHTML, Dateline: a.Dateline, Authors: a.Authors, PublishedAt: a.PublishedAt,
		UpdatedAt: a.UpdatedAt, Tags: a.Tags, TopStory: a.TopStory}
	if im := a.Image; im != nil {
		j.Image = &imageJSON{URL: im.URL, Caption: im.Caption, Credit: im.Credit, Type: im.Type,
			Width: im.Width, Height: im.Height, Length: im.Length}
	}
	for _, l := range a.Related {
		j.Related = append(j.Related, jsonLink{Title: l.Title, URL: l.URL})
	}
	return j
}

func (j articleJSON) article() news.Article {
	a := news.Article{ID: j.ID, URL: j.URL, Section: j.Section, Title: j.Title, Lead: j.Lead,
		BodyHTML: j.BodyHTML, Dateline: j.Dateline, Authors: j.Authors, PublishedAt: j.PublishedAt,
		UpdatedAt: j.UpdatedAt, Tags: j.Tags, TopStory: j.TopStory}
	if im := j.Image; im != nil {
		a.Image = &news.Image{URL: im.URL, Caption: im.Caption, Credit: im.Credit, Type: im.Type,
			Width: im.Width, Height: im.Height, Length: im.Length}
	}
	for _, l := range j.Related {
		a.Related = append(a.Related, news.Link{Title: l.Title, URL: l.URL})
	}
	return a
}

func encodeEdition(ed *news.Edition) (string, error) {
	var j editionJSON
	j.Sections = make([]sectionJSON, 0, len(ed.Sections))
	for _, s := range ed.Sections {
		sj := sectionJSON{Slug: s.Section.Slug, Title: s.Section.Title, Description: s.Section.Description,
			Position: s.Section.Position, Articles: make([]articleJSON, 0, len(s.Articles))}
		for _, a := range s.Articles {
			sj.Articles = append(sj.Articles, toArticleJSON(a))
		}
		j.Sections = append(j.Sections, sj)
	}
	j.MostRead = make([]articleJSON, 0, len(ed.MostRead))
	for _, a := range ed.MostRead {
		j.MostRead = append(j.MostRead, toArticleJSON(a))
	}
	b, err := json.Marshal(j)
	return string(b), err
}

func decodeEdition(content string, ed *news.Edition) error {
	var j editionJSON
	if err := json.Unmarshal([]byte(content), &j); err != nil {
		return err
	}
	ed.Sections = make([]news.EditionSection, 0, len(j.Sections))
	for _, sj := range j.Sections {
		s := news.EditionSection{Section: news.Section{Slug: sj.Slug, Title: sj.Title, Description: sj.Description, Position: sj.Position}}
		for _, aj := range sj.Articles {
			s.Articles = append(s.Articles, aj.article())
		}
		ed.Sections = append(ed.Sections, s)
	}
	for _, aj := range j.MostRead {
		ed.MostRead = append(ed.MostRead, aj.article())
	}
	return nil
}

// topTitle is the title the archive list shows: the first top story, or
// the first article.
func topTitle(ed *news.Edition) string {
	first := ""
	for _, s := range ed.Sections {
		for _, a := range s.Articles {
			if a.TopStory {
				return a.Title
			}
			if first == "" {
				first = a.Title
			}
		}
	}
	return first
}

// joinSections is the stored form of a delivery's section choice.
func joinSections(slugs []string) string { return strings.Join(slugs, ",") }

func splitSections(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

const editionColumns = `id, date, window_from, cutoff, created_at, content`

func scanEdition(r rowScanner, withContent bool) (news.Edition, error) {
	var (
		ed                 news.Edition
		from, cut, planned int64
		content            string
	)
	if err := r.Scan(&ed.ID, &ed.Date, &from, &cut, &planned, &content); err != nil {
		return ed, err
	}
	ed.From, ed.Cutoff, ed.PlannedAt = time.Unix(from, 0).UTC(), time.Unix(cut, 0).UTC(), time.Unix(planned, 0).UTC()
	if withContent {
		if err := decodeEdition(content, &ed); err != nil {
			return ed, fmt.Errorf("content: %w", err)
		}
	}
	return ed, nil
}

func errNoEdition(what string) error {
	return fmt.Errorf("store: edition %s: %w (%w)", what, ErrNotFound, news.ErrNoEdition)
}

// EditionByDate returns the edition of date (YYYY-MM-DD) with its frozen
// content, or an error wrapping ErrNotFound and news.ErrNoEdition.
func (db *DB) EditionByDate(ctx context.Context, date string) (news.Edition, error) {
	ed, err := scanEdition(db.read.QueryRowContext(ctx, `SELECT `+editionColumns+` FROM editions WHERE date = ?`, date), true)
	if errors.Is(err, sql.ErrNoRows) {
		return ed, errNoEdition(date)
	}
	if err != nil {
		return ed, fmt.Errorf("store: edition %s: %w", date, err)
	}
	return ed, nil
}

// PreviousEdition returns the latest edition dated before date, without
// its content (planning needs only its cutoff), or an error wrapping
// ErrNotFound and news.ErrNoEdition when there is none.
func (db *DB) PreviousEdition(ctx context.Context, date string) (news.Edition, error) {
	ed, err := scanEdition(db.read.QueryRowContext(ctx, `SELECT id, date, window_from, cutoff, created_at, '' FROM editions
		WHERE date < ? ORDER BY date DESC LIMIT 1`, date), false)
	if errors.Is(err, sql.ErrNoRows) {
		return ed, errNoEdition("before " + date)
	}
	if err != nil {
		return ed, fmt.Errorf("store: edition before %s: %w", date, err)
	}
	return ed, nil
}

// Editions lists the planned editions, newest first, at most limit.
func (db *DB) Editions(ctx context.Context, limit int) ([]news.EditionSummary, error) {
	if err := checkLimit("editions", limit); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, date, cutoff, created_at, article_count, top_title
		FROM editions ORDER BY date DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list editions: %w", err)
	}
	defer rows.Close()
	var out []news.EditionSummary
	for rows.Next() {
		var (
			e            news.EditionSummary
			cut, planned int64
		)
		if err := rows.Scan(&e.ID, &e.Date, &cut, &planned, &e.Articles, &e.TopStory); err != nil {
			return nil, fmt.Errorf("store: list editions: %w", err)
		}
		e.Cutoff, e.PlannedAt = time.Unix(cut, 0).UTC(), time.Unix(planned, 0).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list editions: %w", err)
	}
	return out, nil
}

// CreateEdition stores a planned edition and its deliveries in one
// transaction. When an edition of the same date exists already (planned
// by another process meanwhile: editions.date is UNIQUE), nothing is
// written and the existing edition is returned with created false. ed.ID
// and the deliveries' IDs are ignored; the stored edition is returned.
func (db *DB) CreateEdition(ctx context.Context, ed *news.Edition, deliveries []news.Delivery) (news.Edition, bool, error) {
	content, err := encodeEdition(ed)
	if err != nil {
		return news.Edition{}, false, fmt.Errorf("store: create edition %s: %w", ed.Date, err)
	}
	created := false
	err = db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO editions (date, window_from, cutoff, created_at, article_count, top_title, content)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (date) DO NOTHING`,
			ed.Date, ed.From.Unix(), ed.Cutoff.Unix(), ed.PlannedAt.Unix(), ed.ArticleCount(), topTitle(ed), content)
		if err != nil {
			return fmt.Errorf("store: create edition %s: %w", ed.Date, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // exists: write nothing
		}
		created = true
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: create edition %s: %w", ed.Date, err)
		}
		return insertDeliveries(ctx, tx, id, ed.Date, deliveries)
	})
	if err != nil {
		return news.Edition{}, false, err
	}
	stored, err := db.EditionByDate(ctx, ed.Date)
	return stored, created, err
}

// deliveryBatch is how many delivery rows one INSERT writes: fewer
// statements for 100,000 readers, far under SQLite's 32,766 parameters.
const deliveryBatch = 200

// insertDeliveries writes an edition's deliveries in multi-row INSERTs.
func insertDeliveries(ctx context.Context, tx *sql.Tx, editionID int64, date string, ds []news.Delivery) error {
	const row = "(?, ?, ?, ?, ?)"
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, 5*deliveryBatch)
	for start := 0; start < len(ds); start += deliveryBatch {
		batch := ds[start:min(start+deliveryBatch, len(ds))]
		args = args[:0]
		for _, d := range batch {
			state := d.State
			if state == "" {
				state = news.DeliveryQueued
			}
			args = append(args, editionID, d.SubscriberID, string(state), joinSections(d.Sections), d.Reason)
		}
		q := `INSERT INTO deliveries (edition_id, subscriber_id, state, sections, reason) VALUES ` + row + strings.Repeat(", "+row, len(batch)-1)
		var err error
		if len(batch) == deliveryBatch {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, q); err != nil {
					return fmt.Errorf("store: create edition %s: deliveries: %w", date, err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return fmt.Errorf("store: create edition %s: deliveries %d-%d (subscribers %d-%d): %w",
				date, start+1, start+len(batch), batch[0].SubscriberID, batch[len(batch)-1].SubscriberID, err)
		}
	}
	return nil
}

// Deliveries returns an edition's deliveries by id, with each reader's
// current address and name from the subscriber row ("" once erased).
// states filters by state; none means all. Personal links are not stored:
// the caller fills PreferencesURL and UnsubscribeURL.
func (db *DB) Deliveries(ctx context.Context, editionID int64, states ...news.DeliveryState) ([]news.Delivery, error) {
	q := `SELECT d.id, d.edition_id, e.date, d.subscriber_id, s.email, s.name, d.sections, d.state, d.reason
		FROM deliveries d JOIN editions e ON e.id = d.edition_id JOIN subscribers s ON s.id = d.subscriber_id
		WHERE d.edition_id = ?`
	args := []any{editionID}
	if len(states) > 0 {
		q += ` AND d.state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
		for _, s := range states {
			args = append(args, string(s))
		}
	}
	q += ` ORDER BY d.id`
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: deliveries of edition %d: %w", editionID, err)
	}
	defer rows.Close()
	var out []news.Delivery
	for rows.Next() {
		var (
			d               news.Delivery
			sections, state string
		)
		if err := rows.Scan(&d.ID, &d.EditionID, &d.EditionDate, &d.SubscriberID, &d.Email, &d.Name, &sections, &state, &d.Reason); err != nil {
			return nil, fmt.Errorf("store: deliveries of edition %d: %w", editionID, err)
		}
		d.Sections = splitSections(sections)
		d.State = news.DeliveryState(state)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: deliveries of edition %d: %w", editionID, err)
	}
	return out, nil
}

// DeliveryCounts returns the number of an edition's deliveries per state.
func (db *DB) DeliveryCounts(ctx context.Context, editionID int64) (map[news.DeliveryState]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT state, count(*) FROM deliveries WHERE edition_id = ? GROUP BY state`, editionID)
	if err != nil {
		return nil, fmt.Errorf("store: delivery counts of edition %d: %w", editionID, err)
	}
	defer rows.Close()
	out := map[news.DeliveryState]int{}
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("store: delivery counts of edition %d: %w", editionID, err)
		}
		out[news.DeliveryState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: delivery counts of edition %d: %w", editionID, err)
	}
	return out, nil
}
