package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pressroom/pressroom/internal/news"
)

// articleCols is the column list every article query selects, in the
// order scanArticle reads them.
const articleCols = `a.id, a.url, a.section, a.title, a.lead, a.body_html, a.dateline, a.authors,
	a.published_at, a.published_offset, a.updated_at, a.updated_offset,
	a.image_url, a.image_caption, a.image_credit, a.image_type, a.image_width, a.image_height, a.image_length,
	a.related, a.tags, a.top_story`

// jsonLink is the stored form of a news.Link in the related column.
type jsonLink struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

type scanner interface{ Scan(dest ...any) error }

func scanArticle(s scanner, extra ...any) (news.Article, error) {
	var (
		a                      news.Article
		authors, related, tags string
		pub, pubOff, upd, uOff int64
		imgURL                 sql.NullString
		im                     news.Image
		top                    int
	)
	dest := []any{&a.ID, &a.URL, &a.Section, &a.Title, &a.Lead, &a.BodyHTML, &a.Dateline, &authors,
		&pub, &pubOff, &upd, &uOff,
		&imgURL, &im.Caption, &im.Credit, &im.Type, &im.Width, &im.Height, &im.Length,
		&related, &tags, &top}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return news.Article{}, err
	}
	a.PublishedAt = fromUnix(pub, pubOff)
	a.UpdatedAt = fromUnix(upd, uOff)
	if imgURL.Valid {
		im.URL = imgURL.String
		a.Image = &im
	}
	a.TopStory = top != 0
	if err := decodeStrings(authors, &a.Authors); err != nil {
		return news.Article{}, fmt.Errorf("article %q: authors: %w", a.ID, err)
	}
	if err := decodeStrings(tags, &a.Tags); err != nil {
		return news.Article{}, fmt.Errorf("article %q: tags: %w", a.ID, err)
	}
	if related != "[]" && related != "" {
		var err error
		if a.Related, err = decodeLinks(related); err != nil {
			return news.Article{}, fmt.Errorf("article %q: related: %w", a.ID, err)
		}
	}
	return a, nil
}

// decodeLinks reads the related column as encodeLinks writes it. Without
// a backslash no string can hold a quote, so the fixed punctuation between
// fields can be split on; anything else goes through encoding/json.
func decodeLinks(s string) ([]news.Link, error) {
	const open, mid, sep, end = `{"title":"`, `","url":"`, `"},{"title":"`, `"}]`
	if rest, ok := strings.CutPrefix(s, "["+open); ok && !strings.ContainsRune(s, '\\') {
		if rest, ok = strings.CutSuffix(rest, end); ok {
			var out []news.Link
			for _, item := range strings.Split(rest, sep) {
				title, url, ok := strings.Cut(item, mid)
				if !ok || strings.Contains(url, `"`) {
					out = nil
					break
				}
				out = append(out, news.Link{Title: title, URL: url})
			}
			if out != nil {
				return out, nil
			}
		}
	}
	var ls []jsonLink
	if err := json.Unmarshal([]byte(s), &ls); err != nil {
		return nil, err
	}
	out := make([]news.Link, len(ls))
	for i, l := range ls {
		out[i] = news.Link{Title: l.Title, URL: l.URL}
	}
	return out, nil
}

// decodeStrings reads a JSON array of strings as encodeStrings writes it.
// Listing queries decode two per row, so the common case (no escapes) is
// split by hand; anything else goes through encoding/json.
func decodeStrings(s string, dst *[]string) error {
	if s == "[]" || s == "" {
		return nil
	}
	if inner, ok := strings.CutPrefix(s, `["`); ok && !strings.ContainsRune(s, '\\') {
		if inner, ok = strings.CutSuffix(inner, `"]`); ok {
			*dst = strings.Split(inner, `","`)
			return nil
		}
	}
	return json.Unmarshal([]byte(s), dst)
}

// encodeStrings writes ss as a JSON array, byte for byte as encoding/json
// does. Strings that need no escaping (the common case) are copied
// directly; an import encodes two arrays per article.
func encodeStrings(ss []string) string {
	if len(ss) == 0 {
		return "[]"
	}
	n := 2
	for _, s := range ss {
		if !plainJSON(s) {
			b, _ := json.Marshal(ss) // a []string always marshals
			return string(b)
		}
		n += len(s) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	b = append(b, ']')
	return string(b)
}

// encodeLinks writes ls as a JSON array of jsonLink, byte for byte as
// encoding/json does (see encodeStrings).
func encodeLinks(ls []news.Link) string {
	if len(ls) == 0 {
		return "[]"
	}
	const open, mid, end = `{"title":"`, `","url":"`, `"}`
	n := 2
	for _, l := range ls {
		if !plainJSON(l.Title) || !plainJSON(l.URL) {
			js := make([]jsonLink, len(ls))
			for i, l := range ls {
				js[i] = jsonLink{Title: l.Title, URL: l.URL}
			}
			b, _ := json.Marshal(js) // strings only: always marshals
			return string(b)
		}
		n += len(open) + len(l.Title) + len(mid) + len(l.URL) + len(end) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, open...)
		b = append(b, l.Title...)
		b = append(b, mid...)
		b = append(b, l.URL...)
		b = append(b, end...)
	}
	b = append(b, ']')
	return string(b)
}

// plainJSON reports whether encoding/json writes s between quotes as it
// is: valid UTF-8 without control characters, quote, backslash, the HTML
// characters it escapes (<, >, &) or U+2028 and U+2029.
func plainJSON(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return ascii || utf8.ValidString(s) && !strings.Contains(s, "\u2028") && !strings.Contains(s, "\u2029")
}

// fromUnix rebuilds a time with its original UTC offset. Offset 0 reads
// back as UTC, which is what time.Parse gives for "Z".
func fromUnix(sec, offset int64) time.Time {
	t := time.Unix(sec, 0)
	if offset == 0 {
		return t.UTC()
	}
	return t.In(fixedZone(offset))
}

// fixedZone returns the unnamed zone at offset seconds east of UTC. The
// offsets of the common zones are built once (time.Location values are
// immutable, so sharing them is safe); others are made on demand.
func fixedZone(offset int64) *time.Location {
	if offset%1800 == 0 && offset >= -12*3600 && offset <= 14*3600 {
		return halfHourZones[(offset+12*3600)/1800]
	}
	return time.FixedZone("", int(offset))
}

// halfHourZones holds the fixed zones from UTC-12 to UTC+14 in half hours.
// It is written only by its initialiser.
var halfHourZones = func() []*time.Location {
	zs := make([]*time.Location, 0, 53)
	for off := -12 * 3600; off <= 14*3600; off += 1800 {
		zs = append(zs, time.FixedZone("", off))
	}
	return zs
}()

func offsetOf(t time.Time) int64 {
	_, off := t.Zone()
	return int64(off)
}

// articles runs an article query, prepared once, on the read pool.
func (db *DB) articles(ctx context.Context, what, query string, args ...any) ([]news.Article, error) {
	stmt, err := db.readStmt(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []news.Article
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// The listing queries. plan_test.go checks that each walks an index in
// ORDER BY order and stops after LIMIT rows, at any table size.
const (
	latestQuery = `SELECT ` + articleCols + ` FROM articles a
		WHERE a.published_at <= ? ORDER BY a.published_at DESC, a.id LIMIT ?`
	latestSectionQuery = `SELECT ` + articleCols + ` FROM articles a
		WHERE a.section = ? AND a.published_at <= ? ORDER BY a.published_at DESC, a.id LIMIT ?`
	// "top_story = 1" literally, so that SQLite can use the partial index.
	topQuery = `SELECT ` + articleCols + ` FROM articles a
		WHERE a.top_story = 1 AND a.published_at <= ? ORDER BY a.published_at DESC, a.id LIMIT ?`
	// A range scan of one period; sorting that period's rows by section
	// position needs a temporary b-tree, bounded by the period's size.
	betweenQuery = `SELECT ` + articleCols + ` FROM articles a
		JOIN sections s ON s.slug = a.section
		WHERE a.published_at > ? AND a.published_at <= ?
		ORDER BY s.position, s.slug, a.top_story DESC, a.published_at DESC, a.id`
)

// Article returns the article with the CMS id, or an error wrapping
// ErrNotFound. Embargoed articles are returned too: callers that show
// articles to readers use the listing queries, which honour the embargo.
func (db *DB) Article(ctx context.Context, id string) (news.Article, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+articleCols+` FROM articles a WHERE a.id = ?`, id)
	a, err := scanArticle(row)
	if errors.Is(err, sql.ErrNoRows) {
		return news.Article{}, fmt.Errorf("store: article %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return news.Article{}, fmt.Errorf("store: article %q: %w", id, err)
	}
	return a, nil
}

func checkLimit(what string, limit int) error {
	if limit <= 0 {
		return fmt.Errorf("store: %s: limit %d: want a positive number", what, limit)
	}
	return nil
}

// LatestArticles returns up to limit articles published at or before now
// (later ones are under embargo), newest first, ties by id. Section ""
// means all sections; an unknown section is an error wrapping ErrNotFound.
func (db *DB) LatestArticles(ctx context.Context, section string, limit int, now time.Time) ([]news.Article, error) {
	what := "latest articles"
	if err := checkLimit(what, limit); err != nil {
		return nil, err
	}
	if section == "" {
		return db.articles(ctx, what, latestQuery, now.Unix(), limit)
	}
	what = fmt.Sprintf("latest articles of %q", section)
	out, err := db.articles(ctx, what, latestSectionQuery, section, now.Unix(), limit)
	if err != nil || len(out) > 0 {
		return out, err
	}
	// Nothing: tell an empty section from a missing one.
	if _, err := db.Section(ctx, section); err != nil {
		return nil, err
	}
	return out, nil
}

// TopStories returns up to limit articles flagged top_story and published
// at or before now, newest first, ties by id.
func (db *DB) TopStories(ctx context.Context, limit int, now time.Time) ([]news.Article, error) {
	if err := checkLimit("top stories", limit); err != nil {
		return nil, err
	}
	return db.articles(ctx, "top stories", topQuery, now.Unix(), limit)
}

// ArticlesBetween returns the articles with from < published_at <= to,
// grouped by section (by section position, then slug), top stories first
// within a section, then newest first, ties by id. The digest uses it for
// one day's edition.
func (db *DB) ArticlesBetween(ctx context.Context, from, to time.Time) ([]news.Article, error) {
	return db.articles(ctx, "articles between", betweenQuery, from.Unix(), to.Unix())
}

// ArticleCount returns the number of stored articles, embargoed or not.
func (db *DB) ArticleCount(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM articles`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count articles: %w", err)
	}
	return n, nil
}

// ChangeMark returns a short token that differs whenever the content of
// any feed at time now may differ from when the token was last taken: it
// combines a counter raised by every write that can change a feed (article
// import, delete, views import, add section) with the newest published_at that is not after
// now, which moves when an embargoed article becomes visible. Both come
// from O(log n) lookups.
func (db *DB) ChangeMark(ctx context.Context, now time.Time) (string, error) {
	var (
		version int64
		newest  sql.NullInt64
	)
	err := db.read.QueryRowContext(ctx, `SELECT
		(SELECT articles_version FROM store_state WHERE id = 1),
		(SELECT max(published_at) FROM articles WHERE published_at <= ?)`, now.Unix()).Scan(&version, &newest)
	if err != nil {
		return "", fmt.Errorf("store: change mark: %w", err)
	}
	return fmt.Sprintf("%d-%d", version, newest.Int64), nil
}

// ArticlesChangedAt returns the latest time, to the second, at which what
// the feeds show as of now may have changed: the last write that moved the
// change mark (article import, delete, views import, add section), or the
// newest published_at not after now (an embargo lifting), whichever is
// later. A server that starts with no memory of the Last-Modified dates it
// gave out dates its feeds no earlier than this, so a retraction made
// while it was down is not answered with 304 Not Modified.
func (db *DB) ArticlesChangedAt(ctx context.Context, now time.Time) (time.Time, error) {
	var changed, newest int64
	err := db.read.QueryRowContext(ctx, `SELECT
		(SELECT articles_changed_at FROM store_state WHERE id = 1),
		coalesce((SELECT max(published_at) FROM articles WHERE published_at <= ?), 0)`, now.Unix()).Scan(&changed, &newest)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: articles changed at: %w", err)
	}
	return time.Unix(max(changed, newest), 0).UTC(), nil
}

// ImportCounts says what an import did.
type ImportCounts struct {
	Inserted  int // new ids
	Updated   int // known ids whose content or updated_at changed
	Unchanged int // known ids sent again as they were
}

// contentHash covers every field of a but UpdatedAt, so re-importing an
// identical article is recognised as unchanged. Fields are length-prefixed
// so that no two different articles encode alike.
func contentHash(a *news.Article, buf []byte) (hash, scratch []byte) {
	b := buf[:0]
	num := func(n int64) { b = binary.LittleEndian.AppendUint64(b, uint64(n)) }
	str := func(s string) {
		num(int64(len(s)))
		b = append(b, s...)
	}
	strs := func(ss []string) {
		num(int64(len(ss)))
		for _, s := range ss {
			str(s)
		}
	}
	str(a.ID)
	str(a.URL)
	str(a.Section)
	str(a.Title)
	str(a.Lead)
	str(a.BodyHTML)
	str(a.Dateline)
	strs(a.Authors)
	num(a.PublishedAt.Unix())
	num(offsetOf(a.PublishedAt))
	if im := a.Image; im != nil {
		num(1)
		str(im.URL)
		str(im.Caption)
		str(im.Credit)
		str(im.Type)
		num(int64(im.Width))
		num(int64(im.Height))
		num(im.Length)
	} else {
		num(0)
	}
	num(int64(len(a.Related)))
	for _, l := range a.Related {
		str(l.Title)
		str(l.URL)
	}
	strs(a.Tags)
	if a.TopStory {
		num(1)
	} else {
		num(0)
	}
	sum := sha256.Sum256(b)
	return sum[:16], b
}

// insertArticle is followed by articleColumns placeholders per row.
const insertArticle = `INSERT INTO articles (id, url, section, title, lead, body_html, dateline, authors,
	published_at, published_offset, updated_at, updated_offset,
	image_url, image_caption, image_credit, image_type, image_width, image_height, image_length,
	related, tags, top_story, content_hash)
	VALUES `

// articleColumns is the number of columns insertArticle lists.
const articleColumns = 23

const updateArticle = `UPDATE articles SET id = ?, url = ?, section = ?, title = ?, lead = ?, body_html = ?,
	dateline = ?, authors = ?, published_at = ?, published_offset = ?, updated_at = ?, updated_offset = ?,
	image_url = ?, image_caption = ?, image_credit = ?, image_type = ?, image_width = ?, image_height = ?,
	image_length = ?, related = ?, tags = ?, top_story = ?, content_hash = ?
	WHERE seq = ?`

// appendArticleArgs appends a's values in the column order of
// insertArticle.
func appendArticleArgs(args []any, a *news.Article, hash []byte) []any {
	var (
		imgURL                 any // NULL without an image
		caption, credit, typ   string
		width, height, length_ int64
	)
	if im := a.Image; im != nil {
		imgURL, caption, credit, typ = im.URL, im.Caption, im.Credit, im.Type
		width, height, length_ = int64(im.Width), int64(im.Height), im.Length
	}
	var top int64
	if a.TopStory {
		top = 1
	}
	return append(args, a.ID, a.URL, a.Section, a.Title, a.Lead, a.BodyHTML, a.Dateline, encodeStrings(a.Authors),
		a.PublishedAt.Unix(), offsetOf(a.PublishedAt), a.UpdatedAt.Unix(), offsetOf(a.UpdatedAt),
		imgURL, caption, credit, typ, width, height, length_,
		encodeLinks(a.Related), encodeStrings(a.Tags), top, hash)
}

// ImportArticles upserts articles in one write transaction. fill calls put
// once per article; when fill (or put) returns an error the transaction is
// rolled back and the database is exactly as before.
//
// Times are stored to the second (fractions are dropped). On insert,
// updated_at is the article's UpdatedAt, or its PublishedAt when that is
// zero (a new article has not been updated since publication). A known id
// whose content (every field but UpdatedAt) is unchanged and whose
// UpdatedAt is zero or equal to the stored one counts as Unchanged and is
// not written. Otherwise it is rewritten and counts as Updated; a zero
// UpdatedAt then becomes now (or PublishedAt, if later).
//
// put checks each article with news.ValidateArticle and that its section
// exists, and fails with a wrapped *news.FieldError otherwise. Valid
// articles are written in batches (see articleImport), so an error from
// the database itself may be returned by a later put than the one whose
// article caused it, or by ImportArticles after fill returns; either way
// nothing is written.
func (db *DB) ImportArticles(ctx context.Context, now time.Time, fill func(put func(news.Article) error) error) (ImportCounts, error) {
	var c ImportCounts
	now = now.Truncate(time.Second)
	err := db.Write(ctx, func(tx *sql.Tx) error {
		known, err := sectionSet(ctx, tx)
		if err != nil {
			return err
		}
		imp := newArticleImport(ctx, tx, now, &c)
		defer imp.close()
		put := func(a news.Article) error {
			a.PublishedAt = a.PublishedAt.Truncate(time.Second)
			a.UpdatedAt = a.UpdatedAt.Truncate(time.Second)
			if fe := news.ValidateArticle(a); fe != nil {
				return fmt.Errorf("store: article %q: %w", a.ID, fe)
			}
			if !known[a.Section] {
				return fmt.Errorf("store: article %q: %w", a.ID,
					&news.FieldError{Field: "section", Msg: fmt.Sprintf("unknown section %q", a.Section)})
			}
			return imp.add(a)
		}
		if err := fill(put); err != nil {
			return err
		}
		// Also when fill ignored an error from put: nothing is committed
		// after a failed write.
		if err := imp.flush(); err != nil {
			return err
		}
		if c.Inserted+c.Updated > 0 {
			return bumpVersion(ctx, tx, now)
		}
		return nil
	})
	if err != nil {
		return ImportCounts{}, err
	}
	return c, nil
}

// sectionSet returns the slugs of all sections.
func sectionSet(ctx context.Context, tx *sql.Tx) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT slug FROM sections`)
	if err != nil {
		return nil, fmt.Errorf("store: sections: %w", err)
	}
	defer rows.Close()
	known := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: sections: %w", err)
		}
		known[s] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sections: %w", err)
	}
	return known, nil
}

// DeleteArticle removes an article and its view counts (a retraction). It
// fails with an error wrapping ErrNotFound when the id is unknown.
func (db *DB) DeleteArticle(ctx context.Context, id string) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM articles WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("store: delete article %q: %w", id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: delete article %q: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("store: delete article %q: %w", id, ErrNotFound)
		}
		return bumpVersion(ctx, tx, db.now())
	})
}
