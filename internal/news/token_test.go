package news

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	s, err := NewTokenSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2017, 1, 29, 8, 0, 0, 0, time.UTC)
	exp := now.Add(7 * 24 * time.Hour)
	tok := s.Sign(42, PurposeConfirm, exp)
	if id, err := s.Verify(tok, PurposeConfirm, now); err != nil || id != 42 {
		t.Fatalf("Verify(fresh confirm) = %d, %v; want 42, nil", id, err)
	}
	if id, err := s.Verify(tok, PurposeConfirm, exp.Add(-time.Second)); err != nil || id != 42 {
		t.Errorf("Verify a second before expiry = %d, %v; want 42, nil", id, err)
	}
	if _, err := s.Verify(tok, PurposeConfirm, exp); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("Verify at expiry = %v, want ErrTokenExpired", err)
	}
	forever := s.Sign(7, PurposeUnsubscribe, time.Time{})
	if id, err := s.Verify(forever, PurposeUnsubscribe, now.AddDate(10, 0, 0)); err != nil || id != 7 {
		t.Errorf("Verify(non-expiring, 10 years on) = %d, %v; want 7, nil", id, err)
	}
	if strings.ContainsAny(forever, "+/=%&? ") {
		t.Errorf("token %q has characters that need URL escaping", forever)
	}
}

func TestTokenRejects(t *testing.T) {
	s, _ := NewTokenSigner([]byte("0123456789abcdef0123456789abcdef"))
	other, _ := NewTokenSigner([]byte("another secret, just as long...."))
	now := time.Date(2017, 1, 29, 8, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	good := s.Sign(42, PurposeConfirm, exp)
	parts := strings.Split(good, ".")
	flip := func(str string, i int) string {
		b := []byte(str)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	bad := map[string]string{
		"empty":                 "",
		"garbage":               "not-a-token",
		"other id":              "43." + parts[1] + "." + parts[2],
		"leading zero id":       "042." + parts[1] + "." + parts[2],
		"negative id":           "-42." + parts[1] + "." + parts[2],
		"later expiry":          parts[0] + "." + "9999999999" + "." + parts[2],
		"no expiry":             parts[0] + ".0." + parts[2],
		"flipped mac":           parts[0] + "." + parts[1] + "." + flip(parts[2], 5),
		"short mac":             parts[0] + "." + parts[1] + "." + parts[2][:20],
		"padded mac":            good + "=",
		"extra part":            good + ".x",
		"other purpose":         s.Sign(42, PurposeUnsubscribe, exp),
		"other secret":          other.Sign(42, PurposeConfirm, exp),
		"huge":                  strings.Repeat("1", 200),
		"trailing newline":      good + "\n",
		"inner CRLF":            good[:len(good)-5] + "\r\n" + good[len(good)-5:],
		"std base64 characters": parts[0] + "." + parts[1] + "." + strings.ReplaceAll(strings.ReplaceAll(parts[2], "-", "+"), "_", "/") + "+",
	}
	for name, tok := range bad {
		if id, err := s.Verify(tok, PurposeConfirm, now); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: Verify(%q) = %d, %v; want ErrTokenInvalid", name, tok, id, err)
		}
	}
	if _, err := NewTokenSigner([]byte("short")); err == nil {
		t.Error("NewTokenSigner(5 bytes) = nil error, want error")
	}
}

func TestTokenURL(t *testing.T) {
	s, _ := NewTokenSigner([]byte("0123456789abcdef0123456789abcdef"))
	u := s.URL("https://news.example/", 42, PurposeUnsubscribe, time.Time{})
	prefix := "https://news.example/unsubscribe?t="
	if !strings.HasPrefix(u, prefix) {
		t.Fatalf("URL = %q, want prefix %q", u, prefix)
	}
	if id, err := s.Verify(strings.TrimPrefix(u, prefix), PurposeUnsubscribe, time.Now()); err != nil || id != 42 {
		t.Errorf("Verify(token from URL) = %d, %v", id, err)
	}
}

func TestDeliveryTokenAndMessageTag(t *testing.T) {
	s, _ := NewTokenSigner([]byte("0123456789abcdef0123456789abcdef"))
	other, _ := NewTokenSigner([]byte("another secret, just as long...."))
	tok := s.DeliveryToken(1234)
	if !strings.HasPrefix(tok, "d1234-") || len(tok) != len("d1234-")+16 {
		t.Fatalf("DeliveryToken(1234) = %q, want d1234- and a 16-character tag", tok)
	}
	for _, c := range tok {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			t.Fatalf("DeliveryToken(1234) = %q has %q, not safe in a local part", tok, c)
		}
	}
	for _, in := range []string{tok, strings.ToUpper(tok)} {
		if id, err := s.VerifyDeliveryToken(in); err != nil || id != 1234 {
			t.Errorf("VerifyDeliveryToken(%q) = %d, %v; want 1234, nil", in, id, err)
		}
	}
	tag := tok[len("d1234-"):]
	flipped := []byte(tag)
	flipped[3] ^= 1
	bad := []string{
		"", "d1234", "d1234-", "d0-" + tag, "d01234-" + tag, "d-1234-" + tag,
		"d1235-" + tag,             // another delivery's id with this tag
		"d1234-" + string(flipped), // one bit off
		"d1234-" + tag[:15],        // short
		"d1234-" + tag + "a",       // long
		"d1234-" + tag[:8] + "\n" + tag[8:],
		other.DeliveryToken(1234),          // another server's secret
		"d1234-" + s.MessageTag("1234", 0), // a tag of another kind
	}
	for _, b := range bad {
		if id, err := s.VerifyDeliveryToken(b); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("VerifyDeliveryToken(%q) = %d, %v; want ErrTokenInvalid", b, id, err)
		}
	}

	mt := s.MessageTag("2026-11-27", 42)
	if len(mt) != 16 || mt != s.MessageTag("2026-11-27", 42) {
		t.Fatalf("MessageTag = %q, want 16 characters, the same each time", mt)
	}
	if !s.VerifyMessageTag("2026-11-27", 42, mt) || !s.VerifyMessageTag("2026-11-27", 42, strings.ToUpper(mt)) {
		t.Errorf("VerifyMessageTag rejects its own tag %q", mt)
	}
	for _, c := range []struct {
		date string
		sub  int64
		tag  string
	}{
		{"2026-11-27", 43, mt}, {"2026-11-28", 42, mt}, {"2026-11-27", 42, ""},
		{"2026-11-27", 42, other.MessageTag("2026-11-27", 42)},
	} {
		if s.VerifyMessageTag(c.date, c.sub, c.tag) {
			t.Errorf("VerifyMessageTag(%q, %d, %q) = true", c.date, c.sub, c.tag)
		}
	}
}
