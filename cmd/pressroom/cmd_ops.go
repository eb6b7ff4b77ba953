package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/schedule"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// Operations (issue 7): admin API tokens, backups, and serve's admin
// API, metrics and retention wiring.

// tokenPrefix marks Pressroom API tokens, so a leaked one is recognisable
// (secret scanners, logs) and a pasted password is not mistaken for one.
const tokenPrefix = "prt_"

// newAPIToken returns a fresh random token (256 bits) and its SHA-256.
func newAPIToken() (string, []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(tok))
	return tok, sum[:]
}

func cmdTokensCreate(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("tokens create", "[flags] NAME", `
Create a bearer token for the admin API (/api/...) under NAME (letters,
digits, '.', '_', '-'), e.g. the CMS that will use it. The token is
printed once, alone on standard output; only its SHA-256 hash is
stored, so it cannot be shown again: put it in the client's
configuration now. A client sends it as "Authorization: Bearer TOKEN".`)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cf.usageErrorf("want NAME, got %d arguments", len(pos))
	}
	name := pos[0]
	if fe := news.CheckTokenName(name); fe != nil {
		return cf.usageErrorf("%v", fe)
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	tok, hash := newAPIToken()
	if err := db.CreateAPIToken(ctx, name, hash, e.now()); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("a token named %q exists already (revoked tokens keep their name): choose another name", name)
		}
		return err
	}
	fmt.Fprintf(e.stderr, "Created API token %q. It is shown only now:\n", name)
	fmt.Fprintln(e.stdout, tok)
	return nil
}

func cmdTokensRevoke(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("tokens revoke", "[flags] NAME", `
Revoke the API token NAME at once: requests with it get 403 from then on.
The name stays taken, so the revocation shows in 'tokens list'.`)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cf.usageErrorf("want NAME, got %d arguments", len(pos))
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	if err := db.RevokeAPIToken(ctx, pos[0], e.now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no API token named %q (see 'pressroom tokens list')", pos[0])
		}
		return err
	}
	fmt.Fprintf(e.stdout, "revoked API token %q\n", pos[0])
	return nil
}

func cmdTokensList(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("tokens list", "[flags]", `
List the API tokens: name, creation time and whether revoked. Tokens
themselves are never shown (only their hashes are stored).`)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	toks, err := db.APITokens(ctx)
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		fmt.Fprintln(e.stdout, "no API tokens yet: create one with 'pressroom tokens create NAME'")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCREATED\tSTATUS")
	for _, t := range toks {
		status := "active"
		if !t.RevokedAt.IsZero() {
			status = "revoked " + t.RevokedAt.In(e.cfg.Location).Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.CreatedAt.In(e.cfg.Location).Format(time.RFC3339), status)
	}
	return tw.Flush()
}

func cmdBackup(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("backup", "[flags] FILE", `
Write a consistent snapshot of the database to FILE (SQLite VACUUM INTO).
It is safe while serve runs: serve goes on reading and writing, and the
snapshot holds exactly what was committed when it started. FILE must not
exist. The snapshot is a complete database: restore it by stopping
serve and putting it in place of the database file (remove the old
file's -wal and -shm files too).`)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cf.usageErrorf("want FILE, got %d arguments", len(pos))
	}
	if _, err := os.Stat(e.cfg.DB); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database %s does not exist", e.cfg.DB)
	}
	// A backup must copy the database as it is: no pending migration is
	// applied first (a backup before an upgrade is the way back).
	db, err := store.Open(ctx, e.cfg.DB, store.Options{Logger: e.logger, SkipMigrate: true})
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	start := time.Now()
	if err := db.Backup(ctx, pos[0]); err != nil {
		return err
	}
	info, err := os.Stat(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backup of %s written to %s (%d bytes in %s)\n", e.cfg.DB, pos[0], info.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}

// opsOptions are serve's operations settings: the admin API body cap
// and the retention job.
type opsOptions struct {
	apiMaxBody          string
	retentionViews      string
	retentionDeliveries string
	retentionCron       string
}

// register adds the operations flags to serve's flag set.
func (o *opsOptions) register(cf *cmdFlags) {
	cf.StringVar(&o.apiMaxBody, "api-max-body", "32MiB", "largest admin API request body (`SIZE`: bytes, or with KiB, MiB, GiB); larger ones get 413")
	cf.StringVar(&o.retentionViews, "retention-views", "180d", "prune hourly view counts older than this (`AGE`: e.g. 90d or 2160h; 0 keeps them)")
	cf.StringVar(&o.retentionDeliveries, "retention-deliveries", "365d", "prune delivery rows of editions older than this (`AGE`; 0 keeps them); consent logs are always kept")
	cf.StringVar(&o.retentionCron, "retention-cron", "17 4 * * *", "when the retention job runs (cron `SPEC` in --tz)")
}

// opsPlan is opsOptions checked.
type opsPlan struct {
	apiMaxBody          int64
	retentionViews      time.Duration
	retentionDeliveries time.Duration
}

// check validates the options; its errors are usage errors.
func (o *opsOptions) check() (opsPlan, error) {
	var p opsPlan
	var err error
	if p.apiMaxBody, err = parseByteSize(o.apiMaxBody); err != nil || p.apiMaxBody < 1024 {
		return p, usageErrorf("--api-max-body %q: want a size of at least 1KiB, such as 32MiB", o.apiMaxBody)
	}
	if p.retentionViews, err = parseAge(o.retentionViews); err != nil {
		return p, usageErrorf("--retention-views: %v", err)
	}
	if p.retentionDeliveries, err = parseAge(o.retentionDeliveries); err != nil {
		return p, usageErrorf("--retention-deliveries: %v", err)
	}
	// A throwaway scheduler checks the spec as serve's will read it.
	if err := schedule.New(time.UTC, nil).Add("retention", o.retentionCron, func(context.Context) error { return nil }); err != nil {
		return p, usageErrorf("--retention-cron: %v", err)
	}
	return p, nil
}

// parseByteSize reads "33554432", "32MiB", "512KiB", "1GiB".
func parseByteSize(s string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 32MiB", s)
	}
	return n * mult, nil
}

// parseAge reads a retention period: "90d" (days), a Go duration such as
// "2160h", or "0" (keep forever). A period under two days is refused: the
// most-read feeds and the digest look back a day.
func parseAge(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*365 {
			return 0, fmt.Errorf("%q is not a number of days such as 90d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not an age such as 90d or 2160h", s)
		}
	}
	if d < 48*time.Hour {
		return 0, fmt.Errorf("%q is shorter than 2 days (0 keeps everything)", s)
	}
	return d, nil
}

// apiStore adapts *store.DB to web.APIStore: it converts the store's
// import counts and maps its sentinel errors to web's.
type apiStore struct{ *store.DB }

func (a apiStore) ImportArticles(ctx context.Context, now time.Time, fill func(put func(news.Article) error) error) (web.ImportCounts, error) {
	c, err := a.DB.ImportArticles(ctx, now, fill)
	return web.ImportCounts{Inserted: c.Inserted, Updated: c.Updated, Unchanged: c.Unchanged}, err
}

func (a apiStore) AddSection(ctx context.Context, s news.Section) error {
	err := a.DB.AddSection(ctx, s)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("%w: %w", web.ErrExists, err)
	}
	return err
}

func (a apiStore) DeleteArticle(ctx context.Context, id string) error {
	err := a.DB.DeleteArticle(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", web.ErrNotFound, err)
	}
	return err
}

// observeJobs feeds every scheduled run into the metrics.
func observeJobs(m *web.Metrics) schedule.Option {
	return schedule.WithObserver(func(r schedule.Run) {
		m.ObserveJob(r.Job, r.Start, r.Duration, r.Err)
	})
}

// wire sets serve's admin API and readiness options and registers the
// retention job. After an accepted API change the web server rebuilds its
// feeds itself (web.APIOptions.Changed defaults to RefreshFeeds).
func (o *opsOptions) wire(e *env, db *store.DB, sched *schedule.Scheduler, wopts *web.Options) error {
	p, err := o.check()
	if err != nil {
		return err
	}
	spec := o.retentionCron
	wopts.API = &web.APIOptions{Store: apiStore{db}, MaxBody: p.apiMaxBody}
	wopts.SchemaVersion = store.LatestSchemaVersion()
	if p.retentionViews == 0 && p.retentionDeliveries == 0 {
		return nil
	}
	return sched.Add("retention", spec, func(ctx context.Context) error {
		now := e.now()
		var views, deliveries int64
		var err error
		if p.retentionViews > 0 {
			if views, err = db.PruneViews(ctx, now.Add(-p.retentionViews)); err != nil {
				return err
			}
		}
		if p.retentionDeliveries > 0 {
			if deliveries, err = db.PruneDeliveries(ctx, now.Add(-p.retentionDeliveries)); err != nil {
				return err
			}
		}
		e.logger.Info("Retention pruned old rows", "view_buckets", views, "deliveries", deliveries)
		return nil
	})
}
