package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressroom/pressroom/digest"
	pmail "github.com/pressroom/pressroom/internal/mail"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// digestFlags are the press review's settings shared by the digest
// commands (and the archive in serve, through their environment
// variables).
type digestFlags struct {
	newsroom, postalAddress, cutoff string
	utmSource, utmMedium, utmCamp   string
	// cron is serve's daily slot (--digest-cron). The digest commands run
	// by hand read it too, so that their default cutoff is serve's
	// (cutoffFromCron).
	cron string
}

// digestFlagEnv maps each digest flag to its environment variable.
var digestFlagEnv = map[string]string{
	"newsroom": "PRESSROOM_NEWSROOM", "postal-address": "PRESSROOM_POSTAL_ADDRESS", "cutoff": "PRESSROOM_DIGEST_CUTOFF",
	"utm-source": "PRESSROOM_UTM_SOURCE", "utm-medium": "PRESSROOM_UTM_MEDIUM", "utm-campaign": "PRESSROOM_UTM_CAMPAIGN",
}

// defaultPostalAddress stands in until the newsroom configures its own;
// it says so in every email, so a missing address is noticed in preview.
const defaultPostalAddress = "Postal address not configured (set --postal-address, PRESSROOM_POSTAL_ADDRESS or postal-address in the --config file)"

func addDigestFlags(cf *cmdFlags) *digestFlags {
	d := &digestFlags{}
	cf.StringVar(&d.newsroom, "newsroom", "Pressroom", "the newsroom's `NAME` in the digest (env PRESSROOM_NEWSROOM)")
	cf.StringVar(&d.postalAddress, "postal-address", "", "the newsroom's postal `ADDRESS`, shown in every digest as CAN-SPAM requires (env PRESSROOM_POSTAL_ADDRESS)")
	cf.StringVar(&d.cutoff, "cutoff", "", "the edition's cutoff, `HH:MM` in the newsroom's time zone: an edition holds what was published since the previous one's cutoff; unset, it is the time of the --digest-cron slot (08:00 with the default slot), and a cutoff later than the slot is refused (env PRESSROOM_DIGEST_CUTOFF)")
	cf.StringVar(&d.cron, "digest-cron", "0 8 * * *", "cron `SPEC` of the daily digest, in the newsroom's time zone (--tz): serve plans and sends the edition at this slot (readers with their own delivery hour get it from an hourly job); the digest commands run by hand take the slot's time as the default --cutoff, as serve does (env PRESSROOM_DIGEST_CRON)")
	cf.StringVar(&d.utmSource, "utm-source", "", "tag article links with utm_source=`VALUE` (off when empty; env PRESSROOM_UTM_SOURCE)")
	cf.StringVar(&d.utmMedium, "utm-medium", "", "utm_medium for tagged links; default email (env PRESSROOM_UTM_MEDIUM)")
	cf.StringVar(&d.utmCamp, "utm-campaign", "", "utm_campaign for tagged links; default press-review-DATE (env PRESSROOM_UTM_CAMPAIGN)")
	return d
}

// resolveEnv fills flags that were not given from their environment
// variables.
func (d *digestFlags) resolveEnv(cf *cmdFlags, lookupEnv func(string) (string, bool)) error {
	return setFromEnv(cf, digestFlagEnv, lookupEnv)
}

// setFromEnv sets each flag of cf named in flagEnv (flag name ->
// environment variable) that was not given on the command line from its
// variable, when that is set; a bad value is a usage error naming the
// variable.
func setFromEnv(cf *cmdFlags, flagEnv map[string]string, lookupEnv func(string) (string, bool)) error {
	set := map[string]bool{}
	cf.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, env := range flagEnv {
		if set[name] {
			continue
		}
		if v, ok := lookupEnv(env); ok {
			if err := cf.Set(name, v); err != nil {
				return cf.usageErrorf("%s: %v", env, err)
			}
		}
	}
	return nil
}

// siteURL is the public base URL for links in emails: --base-url, or the
// default serve address.
func siteURL(e *env) string {
	if e.cfg.BaseURL != "" {
		return e.cfg.BaseURL
	}
	return "http://127.0.0.1:8080"
}

// renderer builds the digest renderer; bad templates or options fail here.
func (d *digestFlags) renderer(e *env) (*digest.Renderer, error) {
	addr := d.postalAddress
	if addr == "" {
		addr = defaultPostalAddress
		e.logger.Warn("No postal address configured: digests say so in their footer", "flag", "--postal-address")
	}
	return digest.NewRenderer(digest.Options{
		BaseURL: siteURL(e), Newsroom: d.newsroom, PostalAddress: addr, Location: e.cfg.Location,
		UTM: digest.UTM{Source: d.utmSource, Medium: d.utmMedium, Campaign: d.utmCamp}, Logger: e.logger,
	})
}

func (d *digestFlags) planner(e *env, st digest.Store) (*digest.Planner, error) {
	p, err := digest.NewPlanner(st, digest.PlanOptions{Location: e.cfg.Location, Cutoff: d.cutoff, Logger: e.logger})
	var fe *news.FieldError
	if errors.As(err, &fe) {
		return nil, usageErrorf("--cutoff %q: %s", d.cutoff, fe.Msg)
	}
	return p, err
}

// checkDateFlag validates --date before the database is opened.
func checkDateFlag(cf *cmdFlags, date string, e *env) error {
	if date == "" {
		return cf.usageErrorf("--date YYYY-MM-DD is required")
	}
	if _, err := news.ParseEditionDate(date, e.cfg.Location); err != nil {
		return cf.usageErrorf("--date: %s", fieldMsg(err))
	}
	return nil
}

func cmdDigestPlan(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("digest plan", "--date YYYY-MM-DD [flags]", `
Plan the press review of a date (a day in the newsroom's time zone): freeze
the articles published since the previous edition's cutoff (or in the 24
hours before this cutoff), grouped by section with top stories first, the
five most read of that window, and one delivery per active subscriber with
the sections they chose. A subscriber whose sections have no articles is
recorded as skipped. Planning a date again shows the existing edition and
changes nothing. It prints the articles per section, the recipients and
the skipped readers.

The cutoff is resolved as serve resolves it: --cutoff if set, else the
time of the daily --digest-cron slot (flag, PRESSROOM_DIGEST_CRON or
digest-cron in the --config file; 08:00 by default), so an edition
planned by hand is the one serve would plan. A --cutoff later than the
slot is refused.`)
	date := cf.String("date", "", "the edition's `DATE`, YYYY-MM-DD")
	df := addDigestFlags(cf)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	if err := df.cutoffFromCron(e, cf); err != nil {
		return err
	}
	if err := checkDateFlag(cf, *date, e); err != nil {
		return err
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	p, err := df.planner(e, db)
	if err != nil {
		return err
	}
	plan, err := p.Plan(ctx, *date, e.now())
	if err != nil {
		return err
	}
	return printPlan(ctx, e.stdout, db, plan, e.cfg.Location)
}

// printPlan writes an edition: window, articles per section, most read,
// recipients and skipped readers.
func printPlan(ctx context.Context, w io.Writer, db *store.DB, plan digest.Plan, loc *time.Location) error {
	ed := plan.Edition
	const stamp = "2006-01-02 15:04 MST"
	if plan.Created {
		fmt.Fprintf(w, "edition %s planned\n", ed.Date)
	} else {
		fmt.Fprintf(w, "edition %s was already planned at %s; nothing changed\n", ed.Date, ed.PlannedAt.In(loc).Format(stamp))
	}
	fmt.Fprintf(w, "window: after %s, up to %s\n", ed.From.In(loc).Format(stamp), ed.Cutoff.In(loc).Format(stamp))
	n := ed.ArticleCount()
	if n == 0 {
		fmt.Fprintln(w, "articles: none; this edition sends nothing")
		return nil
	}
	fmt.Fprintf(w, "articles: %d\n", n)
	for _, s := range ed.Sections {
		fmt.Fprintf(w, "  %s (%s): %d\n", s.Section.Title, s.Section.Slug, len(s.Articles))
		for _, a := range s.Articles {
			mark := "   "
			if a.TopStory {
				mark = "TOP"
			}
			fmt.Fprintf(w, "    %s %s  %s\n", mark, a.PublishedAt.In(loc).Format("02 Jan 15:04"), a.Title)
		}
	}
	if len(ed.MostRead) > 0 {
		fmt.Fprintln(w, "most read:")
		for i, a := range ed.MostRead {
			fmt.Fprintf(w, "  %d. %s (%s)\n", i+1, a.Title, a.Section)
		}
	}
	fmt.Fprintf(w, "recipients: %d queued, %d skipped\n", plan.Deliveries[news.DeliveryQueued], plan.Deliveries[news.DeliverySkipped])
	if plan.Deliveries[news.DeliverySkipped] == 0 {
		return nil
	}
	skipped, err := db.Deliveries(ctx, ed.ID, news.DeliverySkipped)
	if err != nil {
		return err
	}
	const maxListed = 50
	fmt.Fprintln(w, "skipped:")
	for i, d := range skipped {
		if i == maxListed {
			fmt.Fprintf(w, "  ... and %d more (see 'pressroom digest status --date %s')\n", len(skipped)-maxListed, ed.Date)
			break
		}
		email := d.Email
		if email == "" {
			email = fmt.Sprintf("subscriber %d (erased)", d.SubscriberID)
		}
		fmt.Fprintf(w, "  %s: %s\n", email, d.Reason)
	}
	return nil
}

func cmdDigestPreview(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("digest preview", "--date YYYY-MM-DD [--email ADDR] [--format html|text|eml] [--out FILE]", `
Render the press review of a date as one reader gets it (--email: that
subscriber's sections and personal links) or in its all-sections version
(the web archive's), without sending or storing anything. A planned
edition is shown as frozen; an unplanned one as it would be planned now
(today's and tomorrow's only up to now), with the cutoff serve would use
(see 'digest plan -h'). Open an HTML preview in a browser from the --out
file.`)
	date := cf.String("date", "", "the edition's `DATE`, YYYY-MM-DD")
	email := cf.String("email", "", "preview for the subscriber with this `ADDRESS` (default: all sections, no reader)")
	format := cf.String("format", "html", "`FORMAT`: html, text, or eml (the whole MIME message)")
	out := cf.String("out", "", "write to `FILE` instead of standard output")
	df := addDigestFlags(cf)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	if err := df.cutoffFromCron(e, cf); err != nil {
		return err
	}
	if err := checkDateFlag(cf, *date, e); err != nil {
		return err
	}
	switch *format {
	case "html", "text", "eml":
	default:
		return cf.usageErrorf("--format %q: want html, text or eml", *format)
	}
	r, err := df.renderer(e)
	if err != nil {
		return err
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	p, err := df.planner(e, db)
	if err != nil {
		return err
	}
	now := e.now()
	ed, planned, err := p.Draft(ctx, *date, now)
	if err != nil {
		return err
	}
	prep, err := r.Prepare(&ed)
	if err != nil {
		return err
	}

	var msg digest.Message
	var to *mail.Address
	var d *news.Delivery
	if *email != "" {
		if d, err = previewDelivery(ctx, e, db, ed, planned, *email); err != nil {
			return err
		}
		msg, err = prep.Compose(d, now)
		if errors.Is(err, digest.ErrNoArticles) {
			return fmt.Errorf("digest preview: %s gets no email for %s: none of their sections (%s) has articles", d.Email, *date, sectionsText(d.Sections))
		}
		to = &mail.Address{Name: d.Name, Address: d.Email}
	} else {
		msg, err = prep.ArchiveMessage()
		if errors.Is(err, digest.ErrNoArticles) {
			return fmt.Errorf("digest preview: the edition of %s has no articles: it sends nothing", *date)
		}
		to = &mail.Address{Name: "Preview", Address: "preview@" + hostOf(siteURL(e))}
	}
	if err != nil {
		return err
	}

	var body bytes.Buffer
	switch *format {
	case "html":
		body.WriteString(msg.HTML)
	case "text":
		body.WriteString(msg.Text)
	case "eml":
		host := hostOf(siteURL(e))
		m := &pmail.Message{
			From:        &mail.Address{Name: "Press Review", Address: "digest@" + host},
			To:          to,
			Subject:     msg.Subject,
			Text:        msg.Text,
			HTML:        msg.HTML,
			MessageID:   "digest." + *date + ".preview@" + host,
			ListArchive: r.ArchiveURL(*date),
		}
		if d != nil {
			m.ListUnsubscribeURL = d.UnsubscribeURL
		}
		if _, err := m.Render(&body, now); err != nil {
			return fmt.Errorf("digest preview: %w", err)
		}
	}
	if *out == "" {
		_, err = e.stdout.Write(body.Bytes())
		return err
	}
	return writeFileAtomic(*out, body.Bytes())
}

// previewDelivery is the delivery a preview for email shows: the frozen
// row of a planned edition when the subscriber has one, otherwise the
// subscriber's current choice.
func previewDelivery(ctx context.Context, e *env, db *store.DB, ed news.Edition, planned bool, email string) (*news.Delivery, error) {
	s, err := db.SubscriberByEmail(ctx, email)
	if errors.Is(err, news.ErrUnknownSubscriber) {
		return nil, fmt.Errorf("digest preview: --email %s: no such subscriber (see 'pressroom subscribers list')", email)
	}
	if err != nil {
		return nil, err
	}
	d := &news.Delivery{EditionID: ed.ID, EditionDate: ed.Date, SubscriberID: s.ID, Email: s.Email, Name: s.Name, Sections: s.Sections}
	if planned {
		ds, err := db.Deliveries(ctx, ed.ID)
		if err != nil {
			return nil, err
		}
		for _, x := range ds {
			if x.SubscriberID == s.ID {
				d = &x
				break
			}
		}
	}
	// A reader who gets nothing is reported before the link secret is read:
	// reading it the first time stores a new one, and bad input must
	// write nothing.
	has := false
	for _, s := range ed.Sections {
		has = has || (len(s.Articles) > 0 && d.WantsSection(s.Section.Slug))
	}
	if !has {
		return nil, fmt.Errorf("digest preview: %s gets no email for %s: none of their sections (%s) has articles", d.Email, ed.Date, sectionsText(d.Sections))
	}
	signer, err := linkSigner(ctx, e, db)
	if err != nil {
		return nil, err
	}
	base := siteURL(e)
	d.PreferencesURL = signer.URL(base, s.ID, news.PurposePreferences, time.Time{})
	d.UnsubscribeURL = signer.URL(base, s.ID, news.PurposeUnsubscribe, time.Time{})
	return d, nil
}

func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder, so a failed write leaves no half file behind.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// digestArchive is the web archive's configuration for serve: the
// renderer built from serve's own digest flags (--newsroom,
// --postal-address; their environment variables and config-file keys).
func digestArchive(e *env, d *deliveryFlags, baseURL string) (*web.DigestOptions, error) {
	if err := d.digest.resolveEnv(d.cf, e.lookupEnv); err != nil {
		return nil, err
	}
	addr := d.digest.postalAddress
	if strings.TrimSpace(addr) == "" {
		addr = defaultPostalAddress
	}
	r, err := digest.NewRenderer(digest.Options{BaseURL: baseURL, Newsroom: d.digest.newsroom, PostalAddress: addr,
		Location: e.cfg.Location, Logger: e.logger})
	if err != nil {
		return nil, err
	}
	return &web.DigestOptions{Renderer: r}, nil
}
