package web

import (
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"mime"
	"net"
	"net/http"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/pressroom/pressroom/internal/mail"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/templates"
)

// The subscription pages: sign-up with section choice, double opt-in,
// the preference centre and one-click unsubscribe.
//
// Privacy: POST /subscribe answers with the same page whatever the
// address's state (new, pending, active, unsubscribed, bounced), without
// waiting for the email (sent in the background), so the page never
// reveals who is subscribed; only the mailbox owner learns it,
// from the email (a confirmation link, or an "already subscribed" notice
// with the preference-centre link). At most one such email goes to an
// address per MailGap, however often it is signed up.
//
// Safety: GET never changes anything (mail scanners follow links). Links
// carry HMAC-signed tokens (news.TokenSigner); a bad token gets a 400
// page. Cross-site request forgery is refused by net/http's
// CrossOriginProtection (Sec-Fetch-Site / Origin must be this site) on
// every POST except the one-click unsubscribe target, plus a signed,
// expiring form token on the sign-up form. The pages set no cookies.

// SubscriberStore is what the subscription pages need from the database.
// *store.DB implements it.
type SubscriberStore interface {
	Sections(ctx context.Context) ([]news.Section, error)
	SignUp(ctx context.Context, s news.Subscriber, ev news.ConsentEvent) (news.Subscriber, news.SignUpOutcome, error)
	SubscriberByID(ctx context.Context, id int64) (news.Subscriber, error)
	ConfirmSubscriber(ctx context.Context, id int64, ev news.ConsentEvent) (news.Subscriber, bool, error)
	UpdatePreferences(ctx context.Context, id int64, p news.Preferences, ev news.ConsentEvent) (news.Subscriber, bool, error)
	Unsubscribe(ctx context.Context, id int64, ev news.ConsentEvent) (news.Subscriber, bool, error)
	Resubscribe(ctx context.Context, id int64, ev news.ConsentEvent) (news.Subscriber, bool, error)
	NoteSubscriberMail(ctx context.Context, id int64, at time.Time, minGap time.Duration) (bool, error)
}

// MailSender sends one email; internal/mail's *SMTP and *Outbox are
// MailSenders.
type MailSender interface {
	Send(ctx context.Context, m *mail.Message) mail.Result
}

// SubscribeOptions configure the subscription pages. Signer, Mailer and
// From are required, and Options.BaseURL must be set: links in emails are
// built from it, never from the request's Host header.
type SubscribeOptions struct {
	// Store is the subscriber store; nil means Options.Store, which must
	// then implement SubscriberStore.
	Store  SubscriberStore
	Signer *news.TokenSigner
	Mailer MailSender
	From   *netmail.Address // sender of confirmation emails

	ConfirmTTL time.Duration // how long a confirmation link works; default 7 days
	MailGap    time.Duration // least time between two sign-up emails to one address; default 10 minutes

	// Sign-ups per client IP: SignupBurst at once (default 5), then one
	// more every SignupEvery (default 2 minutes).
	SignupBurst int
	SignupEvery time.Duration
	// ClientIP names the client for rate limiting and the consent log;
	// default ClientIPBehind(LoopbackProxies()): the connection's address,
	// or X-Real-IP / X-Forwarded-For when the connection comes from a
	// proxy on the same machine.
	ClientIP func(*http.Request) string

	// FormVersion identifies the wording of the forms in the consent log;
	// change it when the forms' text changes. Default "2026-11".
	FormVersion string
	// MaxFormBytes caps a form body; default 16 KiB. Bigger bodies get 413.
	MaxFormBytes int64
}

// subscriptions is the state of the subscription pages.
type subscriptions struct {
	opts    SubscribeOptions
	store   SubscriberStore
	limiter *ipLimiter
	csrf    *http.CrossOriginProtection
	mailTxt *texttemplate.Template
	mailHTM *htmltemplate.Template
	sending sync.WaitGroup // sign-up emails being sent in the background
}

// Email template names in templates/email (NAME.subject.txt, NAME.txt,
// NAME.html).
const (
	mailConfirm = "subscribe_confirm"
	mailActive  = "subscribe_active"
)

// initSubscriptions validates Options.Subscriptions and parses the email
// templates. Without Options.Subscriptions the pages answer 404.
func (s *Server) initSubscriptions() error {
	so := s.opts.Subscriptions
	if so == nil {
		return nil
	}
	o := *so
	if o.Store == nil {
		st, ok := s.opts.Store.(SubscriberStore)
		if !ok {
			return errors.New("web: subscriptions: Store does not implement SubscriberStore; set SubscribeOptions.Store")
		}
		o.Store = st
	}
	switch {
	case o.Signer == nil:
		return errors.New("web: subscriptions: Signer is required")
	case o.Mailer == nil:
		return errors.New("web: subscriptions: Mailer is required")
	case o.From == nil || o.From.Address == "":
		return errors.New("web: subscriptions: From is required")
	case s.opts.BaseURL == "":
		return errors.New("web: subscriptions: Options.BaseURL is required for the links in emails")
	}
	if o.ConfirmTTL <= 0 {
		o.ConfirmTTL = 7 * 24 * time.Hour
	}
	if o.MailGap <= 0 {
		o.MailGap = 10 * time.Minute
	}
	if o.SignupBurst <= 0 {
		o.SignupBurst = 5
	}
	if o.SignupEvery <= 0 {
		o.SignupEvery = 2 * time.Minute
	}
	if o.ClientIP == nil {
		o.ClientIP = ClientIPBehind(LoopbackProxies())
	}
	if o.FormVersion == "" {
		o.FormVersion = "2026-11"
	}
	if o.MaxFormBytes <= 0 {
		o.MaxFormBytes = 16 << 10
	}
	sub := &subscriptions{
		opts:    o,
		store:   o.Store,
		limiter: newIPLimiter(rate.Every(o.SignupEvery), o.SignupBurst),
		csrf:    http.NewCrossOriginProtection(),
	}
	// The public origin is trusted too: a proxy in front may pass another
	// Host header than the one the browser used.
	if u, err := url.Parse(s.opts.BaseURL); err == nil && u.Host != "" {
		if err := sub.csrf.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return fmt.Errorf("web: subscriptions: base URL origin: %w", err)
		}
	}
	if err := sub.parseMail(); err != nil {
		return err
	}
	s.subs = sub
	return nil
}

// parseMail parses the sign-up email templates once.
func (sub *subscriptions) parseMail() error {
	fsys := templates.Email()
	t := texttemplate.New("mail")
	h := htmltemplate.New("mail")
	for _, name := range []string{mailConfirm, mailActive} {
		for _, f := range []string{name + ".subject.txt", name + ".txt"} {
			b, err := fs.ReadFile(fsys, f)
			if err != nil {
				return fmt.Errorf("web: email template: %w", err)
			}
			if _, err := t.New(f).Parse(string(b)); err != nil {
				return fmt.Errorf("web: email template: %w", err)
			}
		}
		b, err := fs.ReadFile(fsys, name+".html")
		if err != nil {
			return fmt.Errorf("web: email template: %w", err)
		}
		if _, err := h.New(name + ".html").Parse(string(b)); err != nil {
			return fmt.Errorf("web: email template: %w", err)
		}
	}
	sub.mailTxt, sub.mailHTM = t, h
	return nil
}

// ClientIPBehind returns a ClientIP function for a server behind the
// reverse proxies at trusted addresses: a request whose connection comes
// from a trusted address is attributed to its X-Real-IP header, or else to
// the nearest untrusted address in X-Forwarded-For; any other request to
// its connection's address. Headers from untrusted peers are ignored, so
// a client cannot choose its own address.
func ClientIPBehind(trusted []netip.Prefix) func(*http.Request) string {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				return r.RemoteAddr
			}
			return host
		}
		addr := peer.Addr().Unmap()
		if !isTrusted(addr) {
			return addr.String()
		}
		if real, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
			return real.Unmap().String()
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			if !isTrusted(a) {
				return a.Unmap().String()
			}
		}
		return addr.String()
	}
}

// LoopbackProxies are the proxies trusted by default: one on the same
// machine (the nginx set-up in deploy/).
func LoopbackProxies() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// ipLimiter is a token bucket per client IP. Idle buckets are dropped once
// the map grows, so memory stays bounded by recent clients.
type ipLimiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	buckets map[string]*ipBucket
}

type ipBucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newIPLimiter(every rate.Limit, burst int) *ipLimiter {
	return &ipLimiter{every: every, burst: burst, buckets: make(map[string]*ipBucket)}
}

// allow takes one token from ip's bucket at time now.
func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		if len(l.buckets) >= 10000 {
			l.sweep(now)
		}
		b = &ipBucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[ip] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}

// sweep drops buckets that have refilled completely: forgetting them
// changes nothing.
func (l *ipLimiter) sweep(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.every) * float64(time.Second))
	for ip, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, ip)
		}
	}
}

// Page data.

type sectionChoice struct {
	Slug, Title, Description string
	Checked                  bool
}

type subscribeData struct {
	Email, Name string
	Sections    []sectionChoice
	FormToken   string
	Errors      []string
}

type sentData struct {
	Email   string
	TTLDays int
}

type confirmData struct {
	State    string // "ask", "done", "already"
	Action   string // form action for "ask"
	PrefsURL string
}

type prefsData struct {
	Action        string // form action (path and token)
	State         news.SubscriberStatus
	Email         string
	Sections      []sectionChoice
	Hours         []hourChoice
	TimeZone      string
	Paused        bool
	Notice        string
	Errors        []string
	UnsubscribeOK bool // show the unsubscribe button
}

type hourChoice struct {
	Value, Label string
	Selected     bool
}

type unsubData struct {
	State    string // "ask", "done", "already"
	Action   string
	PrefsURL string
}

type messageData struct {
	Message  string
	LinkURL  string
	LinkText string
}

// subsEnabled answers 404 when subscriptions are not configured.
func (s *Server) subsEnabled(w http.ResponseWriter, r *http.Request) bool {
	if s.subs == nil {
		s.message(w, r, http.StatusNotFound, "Not found", "Subscriptions are not enabled on this site.", "/", "Back to the sections")
		return false
	}
	noStore(w)
	return true
}

// noStore keeps token-bearing pages out of caches.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, title, msg, link, linkText string) {
	s.render(w, r, status, "message.html", s.page(r, title, messageData{Message: msg, LinkURL: link, LinkText: linkText}))
}

func (s *Server) invalidLink(w http.ResponseWriter, r *http.Request, err error) {
	msg := "This link is not valid. Please check that you copied the whole link from the email."
	if errors.Is(err, news.ErrTokenExpired) {
		msg = "This confirmation link has expired. Please sign up again to get a new one."
	}
	s.logger.Info("Bad subscription link", "request_id", RequestID(r.Context()), "path", r.URL.Path, "reason", err)
	s.message(w, r, http.StatusBadRequest, "This link is not valid", msg, "/subscribe", "Sign up")
}

// parseForm reads a url-encoded form of at most MaxFormBytes. It answers
// 413 or 400 itself and returns false on failure.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, s.subs.opts.MaxFormBytes)
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		// RFC 8058 one-click POSTs SHOULD come as multipart/form-data.
		err = r.ParseMultipartForm(s.subs.opts.MaxFormBytes)
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
		}
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.message(w, r, http.StatusRequestEntityTooLarge, "Form too large",
				fmt.Sprintf("The form sent was larger than %d bytes. Please go back and shorten what you typed.", s.subs.opts.MaxFormBytes), "/subscribe", "Back to the form")
			return false
		}
		s.message(w, r, http.StatusBadRequest, "Form not readable", "The form could not be read. Please go back and try again.", "/subscribe", "Back to the form")
		return false
	}
	return true
}

// sameSite refuses cross-site POSTs with 403.
func (s *Server) sameSite(w http.ResponseWriter, r *http.Request) bool {
	if err := s.subs.csrf.Check(r); err != nil {
		s.logger.Info("Cross-site form refused", "request_id", RequestID(r.Context()), "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		s.message(w, r, http.StatusForbidden, "Form refused",
			"This form was sent from another site, so it was not accepted. Please use the form on this site.", "/subscribe", "Go to the form")
		return false
	}
	return true
}

func (s *Server) consent(r *http.Request, form string, src news.ConsentSource) news.ConsentEvent {
	ev := news.ConsentEvent{At: s.now().UTC(), Source: src, IP: s.subs.opts.ClientIP(r), UserAgent: r.UserAgent()}
	if form != "" {
		ev.FormVersion = form + "@" + s.subs.opts.FormVersion
	}
	if utf8.RuneCountInString(ev.UserAgent) > 512 {
		ev.UserAgent = string([]rune(ev.UserAgent)[:512])
	}
	return ev
}

// tokenSubscriber verifies the t query parameter for purpose and loads
// the subscriber. It answers 400 itself (or 500) and returns false on
// failure.
func (s *Server) tokenSubscriber(w http.ResponseWriter, r *http.Request, purpose news.TokenPurpose) (news.Subscriber, string, bool) {
	tok := r.URL.Query().Get("t")
	id, err := s.subs.opts.Signer.Verify(tok, purpose, s.now())
	if err != nil {
		s.invalidLink(w, r, err)
		return news.Subscriber{}, "", false
	}
	sub, err := s.subs.store.SubscriberByID(r.Context(), id)
	if errors.Is(err, news.ErrUnknownSubscriber) {
		s.invalidLink(w, r, err)
		return sub, "", false
	}
	if err != nil {
		s.serverError(w, r, err)
		return sub, "", false
	}
	return sub, tok, true
}

func (s *Server) linkURL(id int64, p news.TokenPurpose) string {
	var exp time.Time
	if p == news.PurposeConfirm {
		exp = s.now().Add(s.subs.opts.ConfirmTTL)
	}
	return s.subs.opts.Signer.URL(s.opts.BaseURL, id, p, exp)
}

// pagePath is the site-relative form of a link for forms and page links.
func pagePath(p news.TokenPurpose, tok string) string { return p.LinkPath() + "?t=" + tok }

func choices(all []news.Section, chosen []string) []sectionChoice {
	out := make([]sectionChoice, 0, len(all))
	for _, sec := range all {
		out = append(out, sectionChoice{Slug: sec.Slug, Title: sec.Title, Description: sec.Description, Checked: slices.Contains(chosen, sec.Slug)})
	}
	return out
}

// maxChoices bounds the number of values of one form field.
const maxChoices = 200

// GET /subscribe
func (s *Server) subscribeForm(w http.ResponseWriter, r *http.Request) {
	if !s.subsEnabled(w, r) {
		return
	}
	secs, err := s.subs.store.Sections(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "subscribe.html", s.page(r, "Subscribe to the daily press review",
		subscribeData{Sections: choices(secs, nil), FormToken: s.formToken()}))
}

// formToken is the sign-up form's CSRF token, valid for a day.
func (s *Server) formToken() string {
	now := s.now()
	return s.subs.opts.Signer.Sign(max(now.Unix(), 1), news.PurposeForm, now.Add(24*time.Hour))
}

// POST /subscribe
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	if !s.subsEnabled(w, r) || !s.sameSite(w, r) {
		return
	}
	ip := s.subs.opts.ClientIP(r)
	if !s.subs.limiter.allow(ip, s.now()) {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.subs.opts.SignupEvery.Seconds())))
		s.logger.Warn("Sign-up rate limit", "request_id", RequestID(r.Context()), "client_ip", ip)
		s.message(w, r, http.StatusTooManyRequests, "Too many sign-ups",
			"Too many sign-up requests came from your network in a short time. Please wait a few minutes and try again.", "/subscribe", "Back to the form")
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	secs, err := s.subs.store.Sections(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data := subscribeData{
		Email:     strings.TrimSpace(r.PostForm.Get("email")),
		Name:      strings.TrimSpace(r.PostForm.Get("name")),
		FormToken: s.formToken(),
	}
	chosen := r.PostForm["sections"]
	data.Sections = choices(secs, chosen)
	if _, err := s.subs.opts.Signer.Verify(r.PostForm.Get("csrf"), news.PurposeForm, s.now()); err != nil {
		data.Errors = append(data.Errors, "The form had expired or was not sent from this site. Please check your entries and send it again.")
	}
	email, err := news.ParseEmail(r.PostForm.Get("email"))
	if err != nil {
		data.Errors = append(data.Errors, "Email address: "+fieldMsg(err))
		if strings.ContainsAny(data.Email, "\r\n") {
			data.Email = ""
		}
	}
	if err := news.CheckSubscriberName(data.Name); err != nil {
		data.Errors = append(data.Errors, "Name: "+fieldMsg(err))
		data.Name = ""
	}
	var slugs []string
	if len(chosen) > maxChoices {
		data.Errors = append(data.Errors, "Sections: too many values.")
	} else if slugs, err = news.NormalizeSections(chosen, secs); err != nil {
		data.Errors = append(data.Errors, "Sections: "+fieldMsg(err))
	}
	if len(data.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "subscribe.html", s.page(r, "Subscribe to the daily press review", data))
		return
	}
	ev := s.consent(r, "subscribe", news.SourceWeb)
	sub, outcome, err := s.subs.store.SignUp(ctx, news.Subscriber{Email: email, Name: data.Name, Sections: slugs}, ev)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.signUpMail(ctx, r, sub, outcome)
	// The same page whatever the outcome: it must not tell who is subscribed.
	s.render(w, r, http.StatusOK, "subscribe_sent.html", s.page(r, "Check your inbox",
		sentData{Email: email, TTLDays: int(s.subs.opts.ConfirmTTL.Hours() / 24)}))
}

// fieldMsg is the message of a news.FieldError without the field name.
func fieldMsg(err error) string {
	var fe *news.FieldError
	if errors.As(err, &fe) {
		return fe.Msg
	}
	return err.Error()
}

// signUpMail sends the email a sign-up calls for, if any, at most once
// per MailGap per address. Failures are logged, not shown: the answer page
// must look the same either way.
func (s *Server) signUpMail(ctx context.Context, r *http.Request, sub news.Subscriber, outcome news.SignUpOutcome) {
	var name string
	var data mailData
	switch outcome {
	case news.SignUpNew, news.SignUpRenewed, news.SignUpPending:
		name = mailConfirm
		data.URL = s.linkURL(sub.ID, news.PurposeConfirm)
	case news.SignUpActive:
		name = mailActive
		data.URL = s.linkURL(sub.ID, news.PurposePreferences)
	default:
		s.logger.Info("Sign-up of a blocked address", "request_id", RequestID(ctx), "subscriber_id", sub.ID, "status", string(sub.Status))
		return
	}
	now := s.now()
	ok, err := s.subs.store.NoteSubscriberMail(ctx, sub.ID, now, s.subs.opts.MailGap)
	if err != nil {
		s.logger.Error("Sign-up email not sent", "request_id", RequestID(ctx), "subscriber_id", sub.ID, "error", err)
		return
	}
	if !ok {
		s.logger.Info("Sign-up email throttled", "request_id", RequestID(ctx), "subscriber_id", sub.ID, "outcome", outcome.String())
		return
	}
	data.Site = s.opts.SiteName
	data.Name = sub.Name
	data.BaseURL = s.opts.BaseURL
	data.TTLDays = int(s.subs.opts.ConfirmTTL.Hours() / 24)
	data.Sections = sectionTitles(ctx, s.subs.store, sub.Sections)
	msg, err := s.subs.compose(name, data, sub, now)
	if err != nil {
		s.logger.Error("Sign-up email not composed", "request_id", RequestID(ctx), "subscriber_id", sub.ID, "error", err)
		return
	}
	// Sent in the background: the answer must not wait for (and so not
	// reveal by its timing) the mail server, nor hang when it is slow.
	// FlushMail waits for these sends.
	reqID := RequestID(ctx)
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	s.subs.sending.Add(1)
	go func() {
		defer s.subs.sending.Done()
		defer cancel()
		res := s.subs.opts.Mailer.Send(sendCtx, msg)
		if res.Err != nil {
			s.logger.Error("Sign-up email failed", "request_id", reqID, "subscriber_id", sub.ID, "status", res.Status.String(), "error", res.Err)
			return
		}
		s.logger.Info("Sign-up email sent", "request_id", reqID, "subscriber_id", sub.ID, "template", name, "message_id", msg.MessageID)
	}()
}

// FlushMail waits until the sign-up emails started so far have been
// handed to the mail sender, or ctx ends. serve calls it when shutting
// down, after the HTTP server has stopped taking requests.
func (s *Server) FlushMail(ctx context.Context) error {
	if s.subs == nil {
		return nil
	}
	done := make(chan struct{})
	go func() {
		s.subs.sending.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("web: flush sign-up emails: %w", ctx.Err())
	}
}

// sectionTitles maps chosen slugs to titles for the email; nil means all.
func sectionTitles(ctx context.Context, st SubscriberStore, slugs []string) []string {
	if len(slugs) == 0 {
		return nil
	}
	secs, err := st.Sections(ctx)
	if err != nil {
		return slugs
	}
	var out []string
	for _, sec := range secs {
		if slices.Contains(slugs, sec.Slug) {
			out = append(out, sec.Title)
		}
	}
	return out
}

// mailData is what the sign-up email templates see.
type mailData struct {
	Site     string
	Name     string   // the reader's name, may be ""
	URL      string   // the confirmation or preference-centre link
	BaseURL  string   // the site
	TTLDays  int      // days the confirmation link works
	Sections []string // titles of the chosen sections; empty = all
}

// compose renders email template name for sub.
func (sub *subscriptions) compose(name string, data mailData, to news.Subscriber, now time.Time) (*mail.Message, error) {
	var subj, text, html strings.Builder
	if err := sub.mailTxt.ExecuteTemplate(&subj, name+".subject.txt", data); err != nil {
		return nil, fmt.Errorf("web: email %s: %w", name, err)
	}
	if err := sub.mailTxt.ExecuteTemplate(&text, name+".txt", data); err != nil {
		return nil, fmt.Errorf("web: email %s: %w", name, err)
	}
	if err := sub.mailHTM.ExecuteTemplate(&html, name+".html", data); err != nil {
		return nil, fmt.Errorf("web: email %s: %w", name, err)
	}
	domain := sub.opts.From.Address[strings.LastIndexByte(sub.opts.From.Address, '@')+1:]
	return &mail.Message{
		From:      sub.opts.From,
		To:        &netmail.Address{Name: to.Name, Address: to.Email},
		Subject:   strings.TrimSpace(subj.String()),
		Text:      text.String(),
		HTML:      html.String(),
		MessageID: fmt.Sprintf("%s.%d.%d@%s", strings.ReplaceAll(name, "_", "-"), to.ID, now.UnixNano(), domain),
		Date:      now,
	}, nil
}

// GET and POST /confirm?t=TOKEN
func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	if !s.subsEnabled(w, r) {
		return
	}
	post := r.Method == http.MethodPost
	if post && (!s.sameSite(w, r) || !s.parseForm(w, r)) {
		return
	}
	sub, tok, ok := s.tokenSubscriber(w, r, news.PurposeConfirm)
	if !ok {
		return
	}
	data := confirmData{State: "ask", Action: pagePath(news.PurposeConfirm, tok)}
	switch sub.Status {
	case news.StatusPending:
		if post {
			done, _, err := s.subs.store.ConfirmSubscriber(r.Context(), sub.ID, s.consent(r, "confirm", news.SourceWeb))
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			if done.Status != news.StatusActive { // unsubscribed between the read and the write
				s.invalidLink(w, r, fmt.Errorf("subscriber %d is %s", done.ID, done.Status))
				return
			}
			data.State = "done"
			data.PrefsURL = pagePath(news.PurposePreferences, s.subs.opts.Signer.Sign(sub.ID, news.PurposePreferences, time.Time{}))
		}
	case news.StatusActive:
		// A replayed link: confirmed before, nothing to do.
		data.State = "already"
		data.PrefsURL = pagePath(news.PurposePreferences, s.subs.opts.Signer.Sign(sub.ID, news.PurposePreferences, time.Time{}))
	default:
		s.message(w, r, http.StatusBadRequest, "This link is not valid",
			"This confirmation link is no longer valid. To subscribe, please sign up again.", "/subscribe", "Sign up")
		return
	}
	title := "Confirm your subscription"
	if data.State != "ask" {
		title = "You are subscribed"
	}
	s.render(w, r, http.StatusOK, "confirm.html", s.page(r, title, data))
}

// hours lists the delivery-hour choices with h selected.
func hours(h int) []hourChoice {
	out := []hourChoice{{Value: "", Label: "The newsroom's usual time", Selected: h == news.DefaultDeliveryHour}}
	for i := 0; i < 24; i++ {
		out = append(out, hourChoice{Value: strconv.Itoa(i), Label: fmt.Sprintf("%02d:00", i), Selected: h == i})
	}
	return out
}

func (s *Server) prefsPage(sub news.Subscriber, tok string, secs []news.Section, p news.Preferences) prefsData {
	return prefsData{
		Action:        pagePath(news.PurposePreferences, tok),
		State:         sub.Status,
		Email:         sub.Email,
		Sections:      choices(secs, p.Sections),
		Hours:         hours(p.DeliveryHour),
		TimeZone:      p.TimeZone,
		Paused:        p.Paused,
		UnsubscribeOK: sub.Status == news.StatusActive || sub.Status == news.StatusPending,
	}
}

// GET and POST /preferences?t=TOKEN
func (s *Server) preferences(w http.ResponseWriter, r *http.Request) {
	if !s.subsEnabled(w, r) {
		return
	}
	post := r.Method == http.MethodPost
	if post && (!s.sameSite(w, r) || !s.parseForm(w, r)) {
		return
	}
	sub, tok, ok := s.tokenSubscriber(w, r, news.PurposePreferences)
	if !ok {
		return
	}
	ctx := r.Context()
	secs, err := s.subs.store.Sections(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	const title = "Your subscription"
	if !post {
		s.render(w, r, http.StatusOK, "preferences.html", s.page(r, title, s.prefsPage(sub, tok, secs, sub.Preferences())))
		return
	}
	switch action := r.PostForm.Get("action"); action {
	case "unsubscribe":
		if _, _, err := s.subs.store.Unsubscribe(ctx, sub.ID, s.consent(r, "preferences", news.SourceWeb)); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "unsubscribe.html", s.page(r, "You are unsubscribed",
			unsubData{State: "done", PrefsURL: pagePath(news.PurposePreferences, tok)}))
		return
	case "resubscribe":
		if sub.Status != news.StatusUnsubscribed {
			break // nothing to do; show the page as it is
		}
		sub, _, err = s.subs.store.Resubscribe(ctx, sub.ID, s.consent(r, "preferences", news.SourceWeb))
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		data := s.prefsPage(sub, tok, secs, sub.Preferences())
		data.Notice = "Welcome back: you are subscribed again."
		s.render(w, r, http.StatusOK, "preferences.html", s.page(r, title, data))
		return
	case "", "save":
	default:
		s.message(w, r, http.StatusBadRequest, "Form not readable", fmt.Sprintf("Unknown action %q.", action), pagePath(news.PurposePreferences, tok), "Back to your preferences")
		return
	}
	if sub.Status != news.StatusActive && sub.Status != news.StatusPending {
		data := s.prefsPage(sub, tok, secs, sub.Preferences())
		data.Errors = []string{"Your address does not receive the digest, so there are no preferences to save."}
		s.render(w, r, http.StatusConflict, "preferences.html", s.page(r, title, data))
		return
	}
	p, errs := parsePrefs(r, secs)
	data := s.prefsPage(sub, tok, secs, p)
	if len(errs) > 0 {
		data.Errors = errs
		s.render(w, r, http.StatusBadRequest, "preferences.html", s.page(r, title, data))
		return
	}
	saved, changed, err := s.subs.store.UpdatePreferences(ctx, sub.ID, p, s.consent(r, "preferences", news.SourceWeb))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data = s.prefsPage(saved, tok, secs, saved.Preferences())
	data.Notice = "Your preferences are saved."
	if !changed {
		data.Notice = "Nothing changed: these were already your preferences."
	}
	s.render(w, r, http.StatusOK, "preferences.html", s.page(r, title, data))
}

// parsePrefs reads the preference form, keeping what it can of bad input
// for the page shown again with the errors.
func parsePrefs(r *http.Request, secs []news.Section) (news.Preferences, []string) {
	var errs []string
	p := news.Preferences{DeliveryHour: news.DefaultDeliveryHour, TimeZone: strings.TrimSpace(r.PostForm.Get("time_zone")), Paused: r.PostForm.Get("paused") != ""}
	chosen := r.PostForm["sections"]
	if len(chosen) > maxChoices {
		errs = append(errs, "Sections: too many values.")
	} else if slugs, err := news.NormalizeSections(chosen, secs); err != nil {
		errs = append(errs, "Sections: "+fieldMsg(err))
	} else {
		p.Sections = slugs
	}
	if h := r.PostForm.Get("delivery_hour"); h != "" {
		n, err := strconv.Atoi(h)
		if err == nil {
			err = news.CheckDeliveryHour(n)
		}
		if err != nil || n == news.DefaultDeliveryHour {
			errs = append(errs, "Delivery time: must be an hour from 00:00 to 23:00, or the newsroom's usual time.")
		} else {
			p.DeliveryHour = n
		}
	}
	if err := news.CheckTimeZone(p.TimeZone); err != nil {
		errs = append(errs, "Time zone: "+fieldMsg(err))
		if !utf8.ValidString(p.TimeZone) || len(p.TimeZone) > news.MaxTimeZoneName {
			p.TimeZone = ""
		}
	}
	return p, errs
}

// GET and POST /unsubscribe?t=TOKEN. POST unsubscribes at once, with or
// without a form body: it is the RFC 8058 one-click target, which mail
// providers POST to from their servers (no Origin, no form token; the
// signed link is the authority), so it skips the cross-site check.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	if !s.subsEnabled(w, r) {
		return
	}
	post := r.Method == http.MethodPost
	if post && !s.parseForm(w, r) {
		return
	}
	sub, tok, ok := s.tokenSubscriber(w, r, news.PurposeUnsubscribe)
	if !ok {
		return
	}
	prefs := pagePath(news.PurposePreferences, s.subs.opts.Signer.Sign(sub.ID, news.PurposePreferences, time.Time{}))
	data := unsubData{State: "ask", Action: pagePath(news.PurposeUnsubscribe, tok), PrefsURL: prefs}
	receiving := sub.Status == news.StatusActive || sub.Status == news.StatusPending
	switch {
	case post && receiving:
		src := news.SourceWeb
		form := "unsubscribe"
		if r.PostForm.Get("List-Unsubscribe") == "One-Click" {
			src, form = news.SourceOneClick, ""
		}
		if _, _, err := s.subs.store.Unsubscribe(r.Context(), sub.ID, s.consent(r, form, src)); err != nil {
			s.serverError(w, r, err)
			return
		}
		data.State = "done"
	case !receiving:
		data.State = "already"
	}
	title := "Unsubscribe"
	if data.State != "ask" {
		title = "You are unsubscribed"
	}
	s.render(w, r, http.StatusOK, "unsubscribe.html", s.page(r, title, data))
}
