package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// importBatch is the most articles ImportArticles holds before writing
// them. One lookup and a few multi-row INSERTs per batch cost far less
// than a statement or two per article: each statement crosses
// database/sql, binds its parameters and starts the VDBE, and with a
// cancellable context the driver also starts a goroutine to watch it.
// 256 rows of 23 columns stay well under SQLite's limit of 32,766 bound
// parameters.
const importBatch = 256

// batchSizes are the row counts that lookup and insert statements are
// prepared for, largest first. A lookup pads its id list up to a size (a
// repeated id matches nothing more); an insert of n rows runs the largest
// sizes that fit, so any n needs at most a few statements.
var batchSizes = [...]int{importBatch, 64, 16, 4, 1}

// pendingArticle is a valid article waiting in the batch.
type pendingArticle struct {
	a    news.Article
	hash [16]byte
}

// storedArticle is what the lookup reads of an article already stored.
type storedArticle struct {
	seq       int64
	hash      []byte
	upd, uOff int64
}

// articleImport writes the articles of one ImportArticles call in batches
// of up to importBatch: a batch looks its ids up with one SELECT, inserts
// the new ones with multi-row INSERTs in the order they came, and updates
// changed known ones one by one. An id seen again within a batch first
// writes the batch, so that the second copy meets the first in the table
// exactly as when every article was written on arrival.
//
// A full batch is written by a goroutine of its own while the caller's
// goroutine checks, hashes and queues the next one (on a 2-core machine
// this takes that work off the path of the SQLite writer, which bounds
// the import). At most one batch is in flight and the next is written
// only after it, so batches reach the table in order.
//
// After a failed write the error sticks: every later add and flush
// returns it, so an import whose caller ignored it cannot commit.
type articleImport struct {
	ctx     context.Context
	tx      *sql.Tx
	now     time.Time
	c       *ImportCounts
	batch   []pendingArticle // being filled by add
	flying  []pendingArticle // being written, or spare
	writing chan error       // the in-flight write's result; nil when none
	// Used only by the goroutine writing a batch:
	fresh   []pendingArticle // the batch's new articles
	inBatch map[string]struct{}
	stored  map[string]storedArticle
	lookups map[int]*sql.Stmt // by id count
	inserts map[int]*sql.Stmt // by row count
	update  *sql.Stmt
	args    []any
	scratch []byte // reused by contentHash, in add
	err     error  // the first failed write's
}

func newArticleImport(ctx context.Context, tx *sql.Tx, now time.Time, c *ImportCounts) *articleImport {
	return &articleImport{
		ctx: ctx, tx: tx, now: now, c: c,
		inBatch: make(map[string]struct{}, importBatch),
		stored:  make(map[string]storedArticle, importBatch),
		lookups: map[int]*sql.Stmt{},
		inserts: map[int]*sql.Stmt{},
	}
}

// close waits for a write in flight and closes the prepared statements.
// The transaction ends after it.
func (imp *articleImport) close() {
	_ = imp.wait() // on success flush has waited; on failure the error is known
	for _, st := range imp.lookups {
		st.Close()
	}
	for _, st := range imp.inserts {
		st.Close()
	}
	if imp.update != nil {
		imp.update.Close()
	}
}

// add queues a valid article, writing the batch when it is full or when
// it already holds the article's id.
func (imp *articleImport) add(a news.Article) error {
	if imp.err != nil {
		return imp.err
	}
	if _, dup := imp.inBatch[a.ID]; dup {
		if err := imp.flush(); err != nil {
			return err
		}
	}
	p := pendingArticle{a: a}
	var hash []byte
	hash, imp.scratch = contentHash(&a, imp.scratch)
	copy(p.hash[:], hash)
	imp.batch = append(imp.batch, p)
	imp.inBatch[a.ID] = struct{}{}
	if len(imp.batch) >= importBatch {
		return imp.send()
	}
	return nil
}

// send starts writing the batch once the previous one is written.
func (imp *articleImport) send() error {
	if err := imp.wait(); err != nil {
		return err
	}
	if len(imp.batch) == 0 {
		return nil
	}
	b := imp.batch
	imp.batch, imp.flying = imp.flying[:0], b
	clear(imp.inBatch)
	done := make(chan error, 1)
	imp.writing = done
	go func() { done <- imp.write(b) }()
	return nil
}

// wait waits for the write in flight, if any, and returns the sticky
// error.
func (imp *articleImport) wait() error {
	if imp.writing != nil {
		err := <-imp.writing
		imp.writing = nil
		clear(imp.flying) // drop references to the articles' strings
		if err != nil && imp.err == nil {
			imp.err = err
		}
	}
	return imp.err
}

// flush writes the batch and waits until it is written.
func (imp *articleImport) flush() error {
	if err := imp.send(); err != nil {
		return err
	}
	return imp.wait()
}

// write writes batch: it runs on its own goroutine, one at a time.
func (imp *articleImport) write(batch []pendingArticle) error {
	if err := imp.lookup(batch); err != nil {
		return err
	}
	// New articles go in with multi-row INSERTs, in the order they came
	// (so seq follows the input); known ones are compared and, when
	// changed, updated in place, keeping their seq.
	var inserted, updated, unchanged int
	fresh := imp.fresh[:0]
	for i := range batch {
		p := &batch[i]
		old, ok := imp.stored[p.a.ID]
		if !ok {
			if p.a.UpdatedAt.IsZero() {
				p.a.UpdatedAt = p.a.PublishedAt
			}
			fresh = append(fresh, *p)
			continue
		}
		a := &p.a
		changed := !bytes.Equal(p.hash[:], old.hash)
		var write bool
		switch {
		case !a.UpdatedAt.IsZero():
			write = changed || a.UpdatedAt.Unix() != old.upd || offsetOf(a.UpdatedAt) != old.uOff
		case changed:
			write = true
			a.UpdatedAt = imp.now
			if a.PublishedAt.After(imp.now) {
				a.UpdatedAt = a.PublishedAt
			}
		}
		if !write {
			unchanged++
			continue
		}
		if err := imp.updateOne(p, old.seq); err != nil {
			return err
		}
		updated++
	}
	for rest := fresh; len(rest) > 0; {
		n := fitSize(len(rest))
		if err := imp.insertRows(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	inserted = len(fresh)
	clear(fresh)
	imp.fresh = fresh[:0]
	imp.c.Inserted += inserted
	imp.c.Updated += updated
	imp.c.Unchanged += unchanged
	return nil
}

// fitSize returns the largest of batchSizes not above n (n >= 1).
func fitSize(n int) int {
	for _, s := range batchSizes {
		if s <= n {
			return s
		}
	}
	return 1
}

// coverSize returns the smallest of batchSizes not below n (n <= importBatch).
func coverSize(n int) int {
	size := importBatch
	for _, s := range batchSizes {
		if s >= n {
			size = s
		}
	}
	return size
}

// lookup fills imp.stored with the ids of batch that are already stored.
func (imp *articleImport) lookup(batch []pendingArticle) error {
	clear(imp.stored)
	size := coverSize(len(batch))
	st, err := imp.stmt(imp.lookups, size, func() string {
		return `SELECT id, seq, content_hash, updated_at, updated_offset FROM articles WHERE id IN (` +
			placeholders(size, 1) + `)`
	})
	if err != nil {
		return err
	}
	args := imp.args[:0]
	for i := range size {
		args = append(args, batch[min(i, len(batch)-1)].a.ID)
	}
	imp.args = args
	rows, err := st.QueryContext(imp.ctx, args...)
	if err != nil {
		return fmt.Errorf("store: import articles: look up ids: %w", ctxErr(imp.ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			s  storedArticle
		)
		if err := rows.Scan(&id, &s.seq, &s.hash, &s.upd, &s.uOff); err != nil {
			return fmt.Errorf("store: import articles: look up ids: %w", ctxErr(imp.ctx, err))
		}
		imp.stored[id] = s
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: import articles: look up ids: %w", ctxErr(imp.ctx, err))
	}
	return nil
}

// insertRows inserts ps (a size in batchSizes) with one statement.
func (imp *articleImport) insertRows(ps []pendingArticle) error {
	n := len(ps)
	st, err := imp.stmt(imp.inserts, n, func() string {
		return insertArticle + placeholders(n, articleColumns)
	})
	if err != nil {
		return err
	}
	args := imp.args[:0]
	for i := range ps {
		args = appendArticleArgs(args, &ps[i].a, ps[i].hash[:])
	}
	imp.args = args
	if _, err := st.ExecContext(imp.ctx, args...); err != nil {
		if n == 1 {
			return fmt.Errorf("store: insert article %q: %w", ps[0].a.ID, ctxErr(imp.ctx, err))
		}
		return fmt.Errorf("store: insert articles %q to %q: %w", ps[0].a.ID, ps[n-1].a.ID, ctxErr(imp.ctx, err))
	}
	clear(args) // drop references to the articles' strings
	return nil
}

func (imp *articleImport) updateOne(p *pendingArticle, seq int64) error {
	if imp.update == nil {
		st, err := imp.tx.PrepareContext(imp.ctx, updateArticle)
		if err != nil {
			return fmt.Errorf("store: import articles: %w", ctxErr(imp.ctx, err))
		}
		imp.update = st
	}
	args := append(appendArticleArgs(imp.args[:0], &p.a, p.hash[:]), seq)
	imp.args = args
	if _, err := imp.update.ExecContext(imp.ctx, args...); err != nil {
		return fmt.Errorf("store: update article %q: %w", p.a.ID, ctxErr(imp.ctx, err))
	}
	clear(args)
	return nil
}

// stmt returns the statement cached in m under n, preparing query() on
// first use.
func (imp *articleImport) stmt(m map[int]*sql.Stmt, n int, query func() string) (*sql.Stmt, error) {
	if st, ok := m[n]; ok {
		return st, nil
	}
	st, err := imp.tx.PrepareContext(imp.ctx, query())
	if err != nil {
		return nil, fmt.Errorf("store: import articles: %w", ctxErr(imp.ctx, err))
	}
	m[n] = st
	return st, nil
}

// placeholders returns n comma-separated groups of cols parameters:
// "?, ?" for (2, 1), "(?, ?), (?, ?)" for (2, 2).
func placeholders(n, cols int) string {
	group := strings.Repeat("?, ", cols-1) + "?"
	if cols > 1 {
		group = "(" + group + ")"
	}
	return strings.Repeat(group+", ", n-1) + group
}
