package news

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// SubscriberStatus is where a subscriber stands in the subscription's life.
type SubscriberStatus string

// The subscriber states. Only active subscribers who have not paused get
// the digest.
const (
	StatusPending      SubscriberStatus = "pending"      // signed up, not yet confirmed (double opt-in)
	StatusActive       SubscriberStatus = "active"       // confirmed: receives the digest unless paused
	StatusUnsubscribed SubscriberStatus = "unsubscribed" // left; never mailed again unless they sign up again
	StatusBounced      SubscriberStatus = "bounced"      // the address does not accept mail
	StatusComplained   SubscriberStatus = "complained"   // reported the digest as spam; never mailed again
)

// SubscriberStatuses lists every status in life-cycle order.
func SubscriberStatuses() []SubscriberStatus {
	return []SubscriberStatus{StatusPending, StatusActive, StatusUnsubscribed, StatusBounced, StatusComplained}
}

// Valid reports whether s is one of the known statuses.
func (s SubscriberStatus) Valid() bool { return slices.Contains(SubscriberStatuses(), s) }

// ParseSubscriberStatus returns the status named by s, or a FieldError
// for field "status" listing the known ones.
func ParseSubscriberStatus(s string) (SubscriberStatus, error) {
	st := SubscriberStatus(strings.ToLower(strings.TrimSpace(s)))
	if !st.Valid() {
		names := make([]string, 0, 5)
		for _, k := range SubscriberStatuses() {
			names = append(names, string(k))
		}
		return "", &FieldError{Field: "status", Msg: fmt.Sprintf("unknown status %q (known: %s)", s, strings.Join(names, ", "))}
	}
	return st, nil
}

// DefaultDeliveryHour is the DeliveryHour value meaning "when the newsroom
// sends the digest".
const DefaultDeliveryHour = -1

// Subscriber is one reader on the digest's mailing list.
type Subscriber struct {
	ID    int64
	Email string // as the reader gave it; compare with EmailKey
	Name  string // optional

	// Sections are the slugs of the sections the reader chose, sorted.
	// Empty means all sections, including ones added later.
	Sections []string

	Status         SubscriberStatus
	CreatedAt      time.Time
	ConfirmedAt    time.Time // zero until confirmed
	UnsubscribedAt time.Time // zero unless unsubscribed

	// DeliveryHour is the local hour (0-23) the reader wants the digest,
	// or DefaultDeliveryHour for the newsroom's schedule.
	DeliveryHour int
	// TimeZone is an IANA zone name for DeliveryHour; "" means the
	// newsroom's zone.
	TimeZone string
	// Paused subscribers stay active but get no digest until they resume.
	Paused bool
}

// Key is the subscriber's address in the form used for uniqueness.
func (s Subscriber) Key() string { return EmailKey(s.Email) }

// Receives reports whether the digest should go to s at all: active and
// not paused.
func (s Subscriber) Receives() bool { return s.Status == StatusActive && !s.Paused }

// WantsSection reports whether the reader chose the section (or chose
// none, which means all).
func (s Subscriber) WantsSection(slug string) bool {
	return len(s.Sections) == 0 || slices.Contains(s.Sections, slug)
}

// ConsentAction says what a consent-log entry records.
type ConsentAction string

// The consent-log actions.
const (
	ConsentSubscribe   ConsentAction = "subscribe"   // asked to be subscribed (pending, or active when added by the newsroom)
	ConsentConfirm     ConsentAction = "confirm"     // confirmed the address (double opt-in)
	ConsentPreferences ConsentAction = "preferences" // changed sections, delivery time, pause
	ConsentUnsubscribe ConsentAction = "unsubscribe" // left the list
	ConsentErase       ConsentAction = "erase"       // address erased on request (GDPR); the log stays
	ConsentStatus      ConsentAction = "status"      // status set by the newsroom or by mail feedback (bounce, complaint)
)

// ConsentSource says through which channel a consent-log entry came.
type ConsentSource string

// The consent-log sources.
const (
	SourceWeb      ConsentSource = "web"       // a form on the site
	SourceCLI      ConsentSource = "cli"       // the pressroom command
	SourceImport   ConsentSource = "import"    // pressroom subscribers import
	SourceOneClick ConsentSource = "one-click" // RFC 8058 List-Unsubscribe-Post from a mail client
	SourceMail     ConsentSource = "mail"      // bounce or complaint processing
)

// ConsentEvent is one entry of a subscriber's append-only consent log:
// what happened, when, how, and from which request.
type ConsentEvent struct {
	ID           int64
	SubscriberID int64
	At           time.Time
	Action       ConsentAction
	Source       ConsentSource
	FormVersion  string // version of the form or wording the reader saw; "" outside forms
	IP           string // client IP of the request, "" without one
	UserAgent    string // the request's User-Agent, "" without one
	Detail       string // human summary, e.g. "sections: politics, world"
}

// Limits on email addresses (RFC 5321 section 4.5.3.1, with the 254-octet
// path limit from its errata).
const (
	MaxEmailLen     = 254
	MaxEmailLocal   = 64
	maxDomainLabel  = 63
	MaxNameLen      = 200 // a subscriber's optional name, in characters
	MaxTimeZoneName = 64
)

// ParseEmail checks an address typed by a reader or found in an import
// and returns it trimmed of surrounding spaces. It accepts a bare
// addr-spec only: no display name ("Name <a@b>"), no angle brackets, no
// comments, no quoted local part, no CR/LF or other control characters
// (header injection), ASCII only, at most 254 octets with a local part of
// at most 64, and a domain of dot-separated letter-digit-hyphen labels
// with at least one dot. The error is a FieldError for field "email".
func ParseEmail(raw string) (string, error) {
	bad := func(msg string) (string, error) { return "", &FieldError{Field: "email", Msg: msg} }
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return bad("must not contain control characters or line breaks")
		}
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return bad("required")
	}
	if len(s) > MaxEmailLen {
		return bad(fmt.Sprintf("longer than %d characters", MaxEmailLen))
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return bad("must be plain ASCII (write an international domain in its xn-- form)")
		}
	}
	if strings.ContainsAny(s, "<>\"(),;") || strings.Count(s, "@") != 1 {
		return bad("must be a single plain address like name@example.com")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return bad("not a valid address like name@example.com")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) > MaxEmailLocal {
		return bad(fmt.Sprintf("the part before @ is longer than %d characters", MaxEmailLocal))
	}
	if !validDomain(domain) {
		return bad(fmt.Sprintf("domain %q is not a valid host name", domain))
	}
	return s, nil
}

// validDomain accepts an ASCII host name with at least two labels.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > maxDomainLabel || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// EmailKey is the form of an address used to decide whether two addresses
// are the same subscriber: the whole address lower-cased. RFC 5321 lets
// the local part be case-sensitive, but no mail system in practice treats
// it so, and readers type their address in mixed case.
func EmailKey(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }

// CheckSubscriberName validates an optional subscriber name: at most
// MaxNameLen characters, valid UTF-8, no control characters (it may end up
// in a To: header).
func CheckSubscriberName(name string) error {
	if !utf8.ValidString(name) {
		return &FieldError{Field: "name", Msg: "not valid UTF-8"}
	}
	if utf8.RuneCountInString(name) > MaxNameLen {
		return &FieldError{Field: "name", Msg: fmt.Sprintf("longer than %d characters", MaxNameLen)}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return &FieldError{Field: "name", Msg: "must not contain control characters or line breaks"}
		}
	}
	return nil
}

// CheckDeliveryHour accepts 0-23 or DefaultDeliveryHour.
func CheckDeliveryHour(h int) error {
	if h != DefaultDeliveryHour && (h < 0 || h > 23) {
		return &FieldError{Field: "delivery_hour", Msg: "must be an hour from 0 to 23, or the newsroom's default"}
	}
	return nil
}

// CheckTimeZone accepts "" (the newsroom's zone) or an IANA zone name that
// time.LoadLocation knows.
func CheckTimeZone(tz string) error {
	if tz == "" {
		return nil
	}
	if len(tz) > MaxTimeZoneName || strings.ContainsAny(tz, " \t\r\n") {
		return &FieldError{Field: "time_zone", Msg: "not a time zone name"}
	}
	if tz == "Local" {
		return &FieldError{Field: "time_zone", Msg: `"Local" is not an IANA time zone name`}
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return &FieldError{Field: "time_zone", Msg: fmt.Sprintf("unknown time zone %q (use an IANA name such as Europe/Moscow)", tz)}
	}
	return nil
}

// NormalizeSections checks chosen section slugs against the known
// sections and returns them sorted without duplicates. Choosing every
// known section is kept as an explicit list (the reader did not ask for
// sections added later). The error is a FieldError for field "sections"
// naming the unknown slugs and listing the known ones.
func NormalizeSections(chosen []string, known []Section) ([]string, error) {
	knownSet := make(map[string]bool, len(known))
	for _, s := range known {
		knownSet[s.Slug] = true
	}
	out := make([]string, 0, len(chosen))
	var unknown []string
	for _, c := range chosen {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !knownSet[c] {
			unknown = append(unknown, c)
			continue
		}
		out = append(out, c)
	}
	if len(unknown) > 0 {
		slugs := make([]string, 0, len(known))
		for _, s := range known {
			slugs = append(slugs, s.Slug)
		}
		slices.Sort(slugs)
		return nil, &FieldError{Field: "sections", Msg: fmt.Sprintf("unknown section %s (known: %s)",
			quoteList(unknown), strings.Join(slugs, ", "))}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// ErrUnknownSubscriber is wrapped by errors about a subscriber that does
// not exist (or whose address was erased), so that packages which cannot
// see the store's own not-found error can still tell this case apart.
var ErrUnknownSubscriber = errors.New("unknown subscriber")

// ErrSubscriberExists is wrapped by errors about adding an address that is
// already on the list.
var ErrSubscriberExists = errors.New("subscriber already exists")

// Preferences are what a subscriber can change in the preference centre.
type Preferences struct {
	Sections     []string // chosen section slugs, sorted; empty = all
	DeliveryHour int      // 0-23, or DefaultDeliveryHour
	TimeZone     string   // IANA name, "" = the newsroom's
	Paused       bool
}

// Preferences returns the subscriber's current preferences.
func (s Subscriber) Preferences() Preferences {
	return Preferences{Sections: slices.Clone(s.Sections), DeliveryHour: s.DeliveryHour, TimeZone: s.TimeZone, Paused: s.Paused}
}

// Equal reports whether p and q choose the same things.
func (p Preferences) Equal(q Preferences) bool {
	return slices.Equal(p.Sections, q.Sections) && p.DeliveryHour == q.DeliveryHour && p.TimeZone == q.TimeZone && p.Paused == q.Paused
}

// SignUpOutcome says what a sign-up request found and did. The web answer
// is the same page for every outcome; only the email sent (if any) differs.
type SignUpOutcome int

// The sign-up outcomes.
const (
	SignUpNew     SignUpOutcome = iota + 1 // a new pending subscriber: send a confirmation
	SignUpRenewed                          // was unsubscribed: pending again with the new choices; send a confirmation
	SignUpPending                          // already pending: data left as it was; send the confirmation again
	SignUpActive                           // already active: data left as it was; send an "already subscribed" notice
	SignUpBlocked                          // bounced or complained: nothing changes and no mail is sent
)

func (o SignUpOutcome) String() string {
	switch o {
	case SignUpNew:
		return "new"
	case SignUpRenewed:
		return "renewed"
	case SignUpPending:
		return "pending"
	case SignUpActive:
		return "active"
	case SignUpBlocked:
		return "blocked"
	}
	return fmt.Sprintf("SignUpOutcome(%d)", int(o))
}
