package news

import (
	"crypto/hmac"
	"crypto/sha256"
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
