package news

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TokenPurpose says what a signed link may do. A token signed for one
// purpose never verifies for another.
type TokenPurpose string

// The link purposes.
const (
	PurposeConfirm     TokenPurpose = "confirm"     // confirm a pending subscription; expires
	PurposePreferences TokenPurpose = "preferences" // open the preference centre
	PurposeUnsubscribe TokenPurpose = "unsubscribe" // unsubscribe (also the RFC 8058 one-click target)
	// PurposeForm tokens go into the sign-up form as a CSRF guard; their
	// "id" is the time the form was served, in Unix seconds.
	PurposeForm TokenPurpose = "form"
)

// The paths of the subscription pages, for links in emails. Each takes
// the token as query parameter t.
const (
	ConfirmPath     = "/confirm"
	PreferencesPath = "/preferences"
	UnsubscribePath = "/unsubscribe"
)

// LinkPath returns the page path for a purpose ("" for PurposeForm).
func (p TokenPurpose) LinkPath() string {
	switch p {
	case PurposeConfirm:
		return ConfirmPath
	case PurposePreferences:
		return PreferencesPath
	case PurposeUnsubscribe:
		return UnsubscribePath
	}
	return ""
}

// Token errors, returned wrapped; test with errors.Is.
var (
	ErrTokenInvalid = errors.New("link is not valid")
	ErrTokenExpired = errors.New("link has expired")
)

// MinSecretLen is the shortest server secret NewTokenSigner accepts.
const MinSecretLen = 16

// TokenSigner makes and checks the signed tokens in subscription links:
// HMAC-SHA256 with a server secret over the subscriber id, the purpose and
// the expiry time. A token reads "ID.EXPIRY.MAC" (EXPIRY is Unix seconds,
// 0 for links that do not expire; MAC is unpadded base64url), so it can go
// into a URL query unescaped. It is safe for concurrent use.
type TokenSigner struct {
	key []byte
}

// NewTokenSigner returns a signer keyed with secret, which must be at
// least MinSecretLen bytes.
func NewTokenSigner(secret []byte) (*TokenSigner, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("news: token secret: need at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	return &TokenSigner{key: append([]byte(nil), secret...)}, nil
}

// Sign returns a token for subscriber id and purpose. A zero expires makes
// a token that never expires.
func (s *TokenSigner) Sign(id int64, purpose TokenPurpose, expires time.Time) string {
	var exp int64
	if !expires.IsZero() {
		exp = expires.Unix()
	}
	return strconv.FormatInt(id, 10) + "." + strconv.FormatInt(exp, 10) + "." +
		base64.RawURLEncoding.EncodeToString(s.mac(id, purpose, exp))
}

// URL returns the absolute link to the page for purpose with a fresh
// token, e.g. "https://news.example/unsubscribe?t=42.0.MAC": baseURL is
// the site's public URL without a trailing slash. The digest uses it for
// List-Unsubscribe and the footer links.
func (s *TokenSigner) URL(baseURL string, id int64, purpose TokenPurpose, expires time.Time) string {
	return strings.TrimRight(baseURL, "/") + purpose.LinkPath() + "?t=" + s.Sign(id, purpose, expires)
}

// Verify checks token for purpose at time now and returns the subscriber
// id it was signed for. A malformed, tampered or other-purpose token gives
// an error wrapping ErrTokenInvalid; a genuine but expired one wraps
// ErrTokenExpired. The MAC is compared in constant time.
func (s *TokenSigner) Verify(token string, purpose TokenPurpose, now time.Time) (int64, error) {
	invalid := fmt.Errorf("news: %s token: %w", purpose, ErrTokenInvalid)
	if len(token) > 128 {
		return 0, invalid
	}
	for i := 0; i < len(token); i++ {
		// The base64 decoder skips CR and LF; accept exactly the alphabet.
		c := token[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return 0, invalid
		}
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return 0, invalid
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id <= 0 || parts[0] != strconv.FormatInt(id, 10) {
		return 0, invalid
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || exp < 0 || parts[1] != strconv.FormatInt(exp, 10) {
		return 0, invalid
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return 0, invalid
	}
	if !hmac.Equal(got, s.mac(id, purpose, exp)) {
		return 0, invalid
	}
	if exp != 0 && !now.Before(time.Unix(exp, 0)) {
		return 0, fmt.Errorf("news: %s token: %w", purpose, ErrTokenExpired)
	}
	return id, nil
}

func (s *TokenSigner) mac(id int64, purpose TokenPurpose, exp int64) []byte {
	m := hmac.New(sha256.New, s.key)
	// Fields are NUL-separated so no two (purpose, id, exp) triples share a
	// message.
	fmt.Fprintf(m, "pressroom-link-v1\x00%s\x00%d\x00%d", purpose, id, exp)
	return m.Sum(nil)
}

// mailTagBytes is how much of the HMAC a mail tag keeps: 80 bits, far
// beyond what anyone can guess by sending forged bounces, and 16
// characters of lowercase base32.
const mailTagBytes = 10

// DeliveryToken returns the VERP token of a delivery, put in the envelope
// sender of its message (bounces+TOKEN@...): "d", the delivery id, "-"
// and a tag signed with the server secret, e.g. "d42-k3vq7x2mhe4ytd5a".
// Bounces come back to that address, and only a token made here verifies,
// so nobody can forge a bounce that marks another reader bounced. The
// token has only lowercase letters, digits and "-": safe in a local part,
// and unharmed by relays that change its case.
func (s *TokenSigner) DeliveryToken(deliveryID int64) string {
	id := strconv.FormatInt(deliveryID, 10)
	return "d" + id + "-" + s.tag("verp", id)
}

// VerifyDeliveryToken checks a VERP token made by DeliveryToken (in any
// letter case) and returns its delivery id; a malformed, tampered or
// unsigned token (such as the plain "d42" of earlier versions) gives an
// error wrapping ErrTokenInvalid. The tag is compared in constant time.
func (s *TokenSigner) VerifyDeliveryToken(token string) (int64, error) {
	invalid := fmt.Errorf("news: delivery token: %w", ErrTokenInvalid)
	token = strings.ToLower(token)
	rest, ok := strings.CutPrefix(token, "d")
	if !ok || len(rest) > 40 {
		return 0, invalid
	}
	idText, tag, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, invalid
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || idText != strconv.FormatInt(id, 10) {
		return 0, invalid
	}
	if !s.tagEqual(tag, "verp", idText) {
		return 0, invalid
	}
	return id, nil
}

// MessageTag returns the signed tag that goes into the Message-ID of a
// digest edition's copy for a subscriber. It is derived from both alone,
// so a resent copy carries the same Message-ID (a duplicate stays
// recognisable), but nobody without the secret can make the Message-ID
// of another reader's copy and forge a bounce that names it.
func (s *TokenSigner) MessageTag(date string, subscriberID int64) string {
	return s.tag("message-id", date, strconv.FormatInt(subscriberID, 10))
}

// VerifyMessageTag reports whether tag (in any letter case) is
// MessageTag(date, subscriberID), comparing in constant time.
func (s *TokenSigner) VerifyMessageTag(date string, subscriberID int64, tag string) bool {
	return s.tagEqual(strings.ToLower(tag), "message-id", date, strconv.FormatInt(subscriberID, 10))
}

// tag is the truncated HMAC of the NUL-separated fields, in lowercase
// unpadded base32.
func (s *TokenSigner) tag(kind string, fields ...string) string {
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(s.tagMAC(kind, fields...)))
}

// tagEqual compares the text of tag with the expected tag in constant
// time: each 10-byte MAC has exactly one 16-character encoding.
func (s *TokenSigner) tagEqual(tag, kind string, fields ...string) bool {
	return hmac.Equal([]byte(tag), []byte(s.tag(kind, fields...)))
}

func (s *TokenSigner) tagMAC(kind string, fields ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	// A label apart from the links' ("pressroom-link-v1"), so no link MAC
	// is ever a tag and the other way round.
	fmt.Fprintf(m, "pressroom-mail-v1\x00%s", kind)
	for _, f := range fields {
		fmt.Fprintf(m, "\x00%s", f)
	}
	return m.Sum(nil)[:mailTagBytes]
}
