package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pressroom/pressroom/internal/ingest"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// linkSigner returns the signer for subscription links: --secret /
// PRESSROOM_SECRET when set, otherwise the secret generated on first use
// and kept in the database, so links stay valid across restarts.
func linkSigner(ctx context.Context, e *env, db *store.DB) (*news.TokenSigner, error) {
	secret := []byte(e.cfg.Secret)
	if len(secret) == 0 {
		var err error
		if secret, err = db.LinkSecret(ctx); err != nil {
			return nil, err
		}
	}
	return news.NewTokenSigner(secret)
}

// subscribeFlags are serve's settings for the subscription pages.
type subscribeFlags struct {
	confirmTTL  time.Duration
	mailGap     time.Duration
	signupBurst int
	signupEvery time.Duration
	trustProxy  string
}

func (f *subscribeFlags) register(cf *cmdFlags) {
	cf.DurationVar(&f.confirmTTL, "confirm-ttl", 7*24*time.Hour, "how long a subscription confirmation link works (`DURATION`)")
	cf.DurationVar(&f.mailGap, "signup-mail-gap", 10*time.Minute, "least time between two sign-up emails to one address (`DURATION`)")
	cf.IntVar(&f.signupBurst, "signup-burst", 5, "`N` sign-ups one client IP may make at once before being rate-limited")
	cf.DurationVar(&f.signupEvery, "signup-every", 2*time.Minute, "after the burst, one more sign-up per client IP every `DURATION`")
	cf.StringVar(&f.trustProxy, "trust-proxy", "127.0.0.0/8,::1/128", "comma-separated `CIDRS` of reverse proxies whose X-Real-IP / X-Forwarded-For name the client; \"\" trusts none")
}

// options builds the web subscription options: links signed with
// linkSigner, confirmation emails through the configured mail sender.
func (f *subscribeFlags) options(ctx context.Context, e *env, db *store.DB, m *mailer) (*web.SubscribeOptions, error) {
	if f.confirmTTL <= 0 || f.mailGap <= 0 || f.signupBurst < 1 || f.signupEvery <= 0 {
		return nil, usageErrorf("--confirm-ttl, --signup-mail-gap and --signup-every must be positive, --signup-burst at least 1")
	}
	var trusted []netip.Prefix
	for _, c := range splitSections(f.trustProxy) {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			if a, aerr := netip.ParseAddr(c); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, usageErrorf("--trust-proxy: %q is not an address or CIDR", c)
			}
		}
		trusted = append(trusted, p)
	}
	signer, err := linkSigner(ctx, e, db)
	if err != nil {
		return nil, err
	}
	return &web.SubscribeOptions{
		Signer:      signer,
		Mailer:      m.sender,
		From:        m.from,
		ConfirmTTL:  f.confirmTTL,
		MailGap:     f.mailGap,
		SignupBurst: f.signupBurst,
		SignupEvery: f.signupEvery,
		ClientIP:    web.ClientIPBehind(trusted),
	}, nil
}

// cliEvent is the consent-log entry of a command-line change.
func cliEvent(e *env, detail string) news.ConsentEvent {
	return news.ConsentEvent{At: e.now().UTC(), Source: news.SourceCLI, Detail: detail}
}

// splitSections turns "a, b,c" into its slugs; "" means all sections.
func splitSections(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func sectionsText(s []string) string {
	if len(s) == 0 {
		return "all"
	}
	return strings.Join(s, ",")
}

func cmdSubscribersAdd(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("subscribers add", "[flags] EMAIL", `
Add a subscriber. Without --active the subscriber is pending, and the
command prints the confirmation link to pass on to the reader (it works
for --confirm-ttl); with --active the newsroom vouches for the reader's
consent and the subscriber gets the next digest. The addition is written
to the subscriber's consent log (source: cli). An address already on the
list is an error.`)
	sections := cf.String("sections", "", "comma-separated section `SLUGS` (default: all sections)")
	name := cf.String("name", "", "the subscriber's `NAME`")
	active := cf.Bool("active", false, "add as active (confirmed) instead of pending")
	ttl := cf.Duration("confirm-ttl", 7*24*time.Hour, "how long the printed confirmation link works (`DURATION`)")
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cf.usageErrorf("want one EMAIL, got %d arguments", len(pos))
	}
	email, err := news.ParseEmail(pos[0])
	if err != nil {
		return cf.usageErrorf("%v", err)
	}
	if err := news.CheckSubscriberName(*name); err != nil {
		return cf.usageErrorf("--name: %v", err)
	}
	if *ttl <= 0 {
		return cf.usageErrorf("--confirm-ttl must be positive, got %v", *ttl)
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	s := news.Subscriber{Email: email, Name: *name, Sections: splitSections(*sections), Status: news.StatusPending, DeliveryHour: news.DefaultDeliveryHour}
	detail := "added as pending"
	if *active {
		s.Status = news.StatusActive
		detail = "added as active (--active)"
	}
	added, err := db.AddSubscriber(ctx, s, cliEvent(e, detail+"; sections: "+sectionsText(s.Sections)))
	if errors.Is(err, news.ErrSubscriberExists) {
		return fmt.Errorf("subscribers add: %s is already on the list (see 'pressroom subscribers show %s')", email, email)
	}
	if err != nil {
		return fmt.Errorf("subscribers add: %w", err)
	}
	fmt.Fprintf(e.stdout, "added subscriber %d %s: %s, sections %s\n", added.ID, added.Email, added.Status, sectionsText(added.Sections))
	if added.Status == news.StatusPending {
		signer, err := linkSigner(ctx, e, db)
		if err != nil {
			return err
		}
		base := e.cfg.BaseURL
		if base == "" {
			base = "http://127.0.0.1:8080"
		}
		fmt.Fprintf(e.stdout, "confirmation link (valid until %s): %s\n",
			e.now().Add(*ttl).UTC().Format(time.RFC3339), signer.URL(base, added.ID, news.PurposeConfirm, e.now().Add(*ttl)))
	}
	return nil
}

// csvColumns are the columns subscribers import reads and export writes.
// email is required; the rest may be left out of an import's header.
var csvColumns = []string{"email", "name", "sections", "status", "delivery_hour", "time_zone", "paused", "created_at", "confirmed_at", "unsubscribed_at"}

func cmdSubscribersImport(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("subscribers import", "[flags] FILE.csv|-", `
Import subscribers from a CSV file (UTF-8, comma-separated, a header row
first):

  email,name,sections,status
  reader@example.com,Anna,"politics,world",active
  other@example.com,,,pending

sections is a comma-separated list inside one quoted cell; empty means all
sections. status is pending, active, unsubscribed, bounced or complained.
The columns delivery_hour (0-23, empty = the newsroom's), time_zone (IANA
name), paused (true/false) and created_at, confirmed_at, unsubscribed_at
(RFC 3339) are optional: 'subscribers export' writes them all, so an
export imports back as it was. Every subscriber gets a consent-log entry
(source: import).

All or nothing: every bad line is reported as FILE:LINE: field "x": reason
(bad address, unknown section or status, an address twice in the file or
already on the list), and then nothing is written.`)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cf.usageErrorf("want one FILE.csv (or - for standard input), got %d arguments", len(pos))
	}
	in, name, _, err := e.openInput(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	known, err := db.Sections(ctx)
	if err != nil {
		return err
	}
	rows, errs := readSubscriberCSV(in, name, known)
	// The rows that parsed are put in one transaction even when other lines
	// are bad, so that addresses already on the list are reported in the
	// same run; any error at all rolls it back.
	_, err = db.ImportSubscribers(ctx, e.now().UTC(), func(put func(news.Subscriber) error) error {
		for _, r := range rows {
			if err := put(r.sub); err != nil {
				if errors.Is(err, news.ErrSubscriberExists) {
					err = &news.FieldError{Field: "email", Msg: "already on the list"}
				}
				errs = append(errs, ingest.LineError{File: name, Line: r.line, Err: err})
			}
		}
		if len(errs) > 0 {
			return errs
		}
		return nil
	})
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b ingest.LineError) int { return a.Line - b.Line })
		return e.reportLineErrors(errs, "subscribers import "+name)
	}
	if err != nil {
		return fmt.Errorf("subscribers import %s: %w", name, err)
	}
	fmt.Fprintf(e.stdout, "%s: %d subscribers imported\n", name, len(rows))
	return nil
}

type csvRow struct {
	line int
	sub  news.Subscriber
}

// maxReported bounds the errors listed for one file.
const maxReported = 1000

// readSubscriberCSV parses and validates a whole import file, returning
// every valid row, and every problem with its line.
func readSubscriberCSV(r io.Reader, name string, known []news.Section) ([]csvRow, ingest.Errors) {
	var errs ingest.Errors
	bad := func(line int, err error) {
		if len(errs) < maxReported {
			errs = append(errs, ingest.LineError{File: name, Line: line, Err: err})
		}
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		bad(0, errors.New("empty file: want a header row email,name,sections,status"))
		return nil, errs
	}
	if err != nil {
		bad(1, fmt.Errorf("header: %w", err))
		return nil, errs
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(csvColumns, h) {
			bad(1, fmt.Errorf("header: unknown column %q (known: %s)", h, strings.Join(csvColumns, ", ")))
		} else if _, dup := col[h]; dup {
			bad(1, fmt.Errorf("header: column %q twice", h))
		}
		col[h] = i + 1 // 1-based so that 0 means absent
	}
	if col["email"] == 0 {
		bad(1, errors.New(`header: no "email" column (want email,name,sections,status)`))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	cell := func(rec []string, c string) string {
		if i := col[c]; i > 0 && i <= len(rec) {
			return strings.TrimSpace(rec[i-1])
		}
		return ""
	}
	var rows []csvRow
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
				err = pe.Err
			}
			bad(line, err)
			if !errors.Is(err, csv.ErrFieldCount) {
				break // the reader cannot be trusted after a quoting error
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		s, ferr := subscriberFromCSV(func(c string) string { return unescapeCell(cell(rec, c)) }, col, known)
		if ferr != nil {
			bad(line, ferr)
			continue
		}
		if first, dup := seen[s.Key()]; dup {
			bad(line, &news.FieldError{Field: "email", Msg: fmt.Sprintf("%s is also on line %d", s.Email, first)})
			continue
		}
		seen[s.Key()] = line
		rows = append(rows, csvRow{line: line, sub: s})
	}
	return rows, errs
}

// subscriberFromCSV validates one record's cells.
func subscriberFromCSV(cell func(string) string, col map[string]int, known []news.Section) (news.Subscriber, error) {
	s := news.Subscriber{DeliveryHour: news.DefaultDeliveryHour}
	var err error
	if s.Email, err = news.ParseEmail(cell("email")); err != nil {
		return s, err
	}
	s.Name = cell("name")
	if err := news.CheckSubscriberName(s.Name); err != nil {
		return s, err
	}
	if s.Sections, err = news.NormalizeSections(splitSections(cell("sections")), known); err != nil {
		return s, err
	}
	if len(s.Sections) == 0 {
		s.Sections = nil
	}
	if col["status"] == 0 || cell("status") == "" {
		return s, &news.FieldError{Field: "status", Msg: "required: pending, active, unsubscribed, bounced or complained"}
	}
	if s.Status, err = news.ParseSubscriberStatus(cell("status")); err != nil {
		return s, err
	}
	if h := cell("delivery_hour"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || news.CheckDeliveryHour(n) != nil || n < 0 {
			return s, &news.FieldError{Field: "delivery_hour", Msg: fmt.Sprintf("%q is not an hour from 0 to 23 (leave empty for the newsroom's)", h)}
		}
		s.DeliveryHour = n
	}
	s.TimeZone = cell("time_zone")
	if err := news.CheckTimeZone(s.TimeZone); err != nil {
		return s, err
	}
	if p := cell("paused"); p != "" {
		if s.Paused, err = strconv.ParseBool(p); err != nil {
			return s, &news.FieldError{Field: "paused", Msg: fmt.Sprintf("%q is not true or false", p)}
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"created_at", &s.CreatedAt}, {"confirmed_at", &s.ConfirmedAt}, {"unsubscribed_at", &s.UnsubscribedAt}} {
		if v := cell(f.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return s, &news.FieldError{Field: f.name, Msg: fmt.Sprintf("%q is not an RFC 3339 time", v)}
			}
			*f.dst = t.UTC()
		}
	}
	return s, nil
}

// escapeCell defuses spreadsheet formulas: a cell starting with = + - @
// (or a tab or CR) gets a leading apostrophe, which unescapeCell removes
// on import, so an export still imports back unchanged.
func escapeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r'", rune(v[0])) {
		return "'" + v
	}
	return v
}

func unescapeCell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && strings.ContainsRune("=+-@\t\r'", rune(v[1])) {
		return v[1:]
	}
	return v
}

// statusFlag reads a --status filter; empty means every status.
func statusFlag(cf *cmdFlags, v string) (news.SubscriberStatus, error) {
	if v == "" {
		return "", nil
	}
	st, err := news.ParseSubscriberStatus(v)
	if err != nil {
		return "", cf.usageErrorf("--status: %v", fieldMsg(err))
	}
	return st, nil
}

func cmdSubscribersList(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("subscribers list", "[flags]", `
List subscribers: id, address, status, sections (all = every section),
delivery time and when they signed up. Erased subscribers are not listed.`)
	status := cf.String("status", "", "only subscribers with `STATUS`: pending, active, unsubscribed, bounced or complained")
	section := cf.String("section", "", "only subscribers who receive section `SLUG` (chose it, or chose all)")
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	st, err := statusFlag(cf, *status)
	if err != nil {
		return err
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	if *section != "" {
		known, err := db.Sections(ctx)
		if err != nil {
			return err
		}
		if _, err := news.NormalizeSections([]string{*section}, known); err != nil {
			return cf.usageErrorf("--section: %v", fieldMsg(err))
		}
	}
	subs, err := db.ListSubscribers(ctx, st, *section)
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		fmt.Fprintln(e.stderr, "no subscribers match")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tSTATUS\tSECTIONS\tDELIVERY\tCREATED")
	for _, s := range subs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Email, statusText(s), sectionsText(s.Sections), deliveryText(s), s.CreatedAt.Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%d subscribers\n", len(subs))
	return nil
}

func fieldMsg(err error) string {
	var fe *news.FieldError
	if errors.As(err, &fe) {
		return fe.Msg
	}
	return err.Error()
}

func statusText(s news.Subscriber) string {
	if s.Paused {
		return string(s.Status) + " (paused)"
	}
	return string(s.Status)
}

func deliveryText(s news.Subscriber) string {
	if s.DeliveryHour == news.DefaultDeliveryHour && s.TimeZone == "" {
		return "default"
	}
	h := "default hour"
	if s.DeliveryHour != news.DefaultDeliveryHour {
		h = fmt.Sprintf("%02d:00", s.DeliveryHour)
	}
	if s.TimeZone != "" {
		h += " " + s.TimeZone
	}
	return h
}

func cmdSubscribersExport(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("subscribers export", "[flags]", `
Write every subscriber (except erased ones) as CSV to standard output, in
the format 'subscribers import' reads: email, name, sections, status,
delivery_hour, time_zone, paused, created_at, confirmed_at,
unsubscribed_at. Cells that a spreadsheet would run as a formula (starting
with = + - @) get a leading apostrophe, which import removes again.`)
	status := cf.String("status", "", "only subscribers with `STATUS`")
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	st, err := statusFlag(cf, *status)
	if err != nil {
		return err
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	subs, err := db.ListSubscribers(ctx, st, "")
	if err != nil {
		return err
	}
	w := csv.NewWriter(e.stdout)
	if err := w.Write(csvColumns); err != nil {
		return err
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, s := range subs {
		hour := ""
		if s.DeliveryHour != news.DefaultDeliveryHour {
			hour = strconv.Itoa(s.DeliveryHour)
		}
		if err := w.Write([]string{escapeCell(s.Email), escapeCell(s.Name), strings.Join(s.Sections, ","), string(s.Status),
			hour, s.TimeZone, strconv.FormatBool(s.Paused), ts(s.CreatedAt), ts(s.ConfirmedAt), ts(s.UnsubscribedAt)}); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

func cmdSubscribersRemove(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("subscribers remove", "[flags] EMAIL", `
Erase a subscriber on request (GDPR erasure): the address, name and
choices are wiped, so the subscriber can no longer be found, listed or
mailed; mail servers' replies and bounce reports that quote the address
keep their codes but show [erased] instead; and the bytes are overwritten
in the database file. The consent
log stays, as the record of what consent was given and when, and gains an
"erase" entry.`)
	reason := cf.String("reason", "", "`TEXT` noted in the consent log, e.g. a ticket number")
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cf.usageErrorf("want one EMAIL, got %d arguments", len(pos))
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	detail := "address erased on request"
	if *reason != "" {
		detail += ": " + *reason
	}
	id, err := db.EraseSubscriber(ctx, pos[0], cliEvent(e, detail))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("subscribers remove: no subscriber %q", pos[0])
	}
	if err != nil {
		return err
	}
	log, err := db.ConsentLog(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "erased subscriber %d: address and name removed; consent log kept (%d entries)\n", id, len(log))
	return nil
}

func cmdSubscribersShow(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("subscribers show", "[flags] EMAIL", `
Show one subscriber (the address is matched without regard to case) with
the whole consent log: every sign-up, confirmation, preference change and
unsubscribe, with time, source, form version, IP address and user agent.`)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cf.usageErrorf("want one EMAIL, got %d arguments", len(pos))
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	s, err := db.SubscriberByEmail(ctx, pos[0])
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("subscribers show: no subscriber %q", pos[0])
	}
	if err != nil {
		return err
	}
	log, err := db.ConsentLog(ctx, s.ID)
	if err != nil {
		return err
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	w := e.stdout
	fmt.Fprintf(w, "id:            %d\n", s.ID)
	fmt.Fprintf(w, "email:         %s\n", s.Email)
	fmt.Fprintf(w, "name:          %s\n", s.Name)
	fmt.Fprintf(w, "status:        %s\n", statusText(s))
	fmt.Fprintf(w, "sections:      %s\n", sectionsText(s.Sections))
	fmt.Fprintf(w, "delivery:      %s\n", deliveryText(s))
	fmt.Fprintf(w, "created:       %s\n", ts(s.CreatedAt))
	fmt.Fprintf(w, "confirmed:     %s\n", ts(s.ConfirmedAt))
	fmt.Fprintf(w, "unsubscribed:  %s\n", ts(s.UnsubscribedAt))
	fmt.Fprintf(w, "\nconsent log (%d entries):\n", len(log))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tSOURCE\tFORM\tIP\tUSER AGENT\tDETAIL")
	dash := func(v string) string {
		if v == "" {
			return "-"
		}
		return v
	}
	for _, ev := range log {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ts(ev.At), ev.Action, ev.Source, dash(ev.FormVersion), dash(ev.IP), dash(ev.UserAgent), dash(ev.Detail))
	}
	return tw.Flush()
}
