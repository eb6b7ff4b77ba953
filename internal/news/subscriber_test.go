package news

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".example"
	tests := []struct {
		in      string
		want    string
		wantErr string // substring of the error; "" means valid
	}{
		{in: "reader@example.com", want: "reader@example.com"},
		{in: "  Reader.Name+news@Mail.Example.COM ", want: "Reader.Name+news@Mail.Example.COM"},
		{in: "a@b.co", want: "a@b.co"},
		{in: "", wantErr: "required"},
		{in: "   ", wantErr: "required"},
		{in: "Name <a@example.com>", wantErr: "single plain address"},
		{in: "<a@example.com>", wantErr: "single plain address"},
		{in: "a@example.com (comment)", wantErr: "single plain address"},
		{in: `"a b"@example.com`, wantErr: "single plain address"},
		{in: "a@example.com, b@example.com", wantErr: "single plain address"},
		{in: "a@example.com\r\nBcc: victim@example.org", wantErr: "line breaks"},
		{in: "a@example.com\nBcc: victim@example.org", wantErr: "line breaks"},
		{in: "a@exam\x00ple.com", wantErr: "control"},
		{in: "a@b@example.com", wantErr: "single plain address"},
		{in: "no-at-sign.example.com", wantErr: "single plain address"},
		{in: "a..b@example.com", wantErr: "not a valid address"},
		{in: ".a@example.com", wantErr: "not a valid address"},
		{in: "a@localhost", wantErr: "not a valid host name"},
		{in: "a@[192.0.2.1]", wantErr: "not a valid host name"},
		{in: "a@-example.com", wantErr: "not a valid host name"},
		{in: "a@example-.com", wantErr: "not a valid host name"},
		{in: "a@example..com", wantErr: "not a valid address"},
		{in: "a@exa_mple.com", wantErr: "not a valid host name"},
		{in: "иван@example.com", wantErr: "ASCII"},
		{in: "a@пример.рф", wantErr: "ASCII"},
		{in: strings.Repeat("x", 65) + "@example.com", wantErr: "before @ is longer than 64"},
		{in: long, wantErr: "longer than 254"},
		{in: "a@" + strings.Repeat("l", 64) + ".com", wantErr: "not a valid host name"},
	}
	for _, tt := range tests {
		got, err := ParseEmail(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseEmail(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
			continue
		}
		var fe *FieldError
		if err == nil || !errors.As(err, &fe) || fe.Field != "email" || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseEmail(%q) = %q, %v; want a field \"email\" error containing %q", tt.in, got, err, tt.wantErr)
		}
	}
	if len(long) <= MaxEmailLen {
		t.Fatalf("test address is %d long, want > %d", len(long), MaxEmailLen)
	}
}

func TestEmailKey(t *testing.T) {
	if got, want := EmailKey(" Reader@Example.COM"), "reader@example.com"; got != want {
		t.Errorf("EmailKey = %q, want %q", got, want)
	}
	s := Subscriber{Email: "READER@example.com"}
	if s.Key() != EmailKey("reader@EXAMPLE.com") {
		t.Errorf("Key() = %q, want it equal to the lower-cased form", s.Key())
	}
}

func TestNormalizeSections(t *testing.T) {
	known := []Section{{Slug: "world", Title: "World"}, {Slug: "politics", Title: "Politics"}, {Slug: "sport", Title: "Sport"}}
	got, err := NormalizeSections([]string{"world", " politics", "world", ""}, known)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"politics", "world"}, got); diff != "" {
		t.Errorf("NormalizeSections (-want +got):\n%s", diff)
	}
	got, err = NormalizeSections(nil, known)
	if err != nil || len(got) != 0 {
		t.Errorf("NormalizeSections(nil) = %v, %v; want empty (all sections)", got, err)
	}
	_, err = NormalizeSections([]string{"world", "weather", "<script>"}, known)
	want := `field "sections": unknown section "weather", "<script>" (known: politics, sport, world)`
	if err == nil || err.Error() != want {
		t.Errorf("NormalizeSections(unknown) error = %v, want %s", err, want)
	}
}

func TestSubscriberChecks(t *testing.T) {
	if _, err := ParseSubscriberStatus(" Active "); err != nil {
		t.Errorf("ParseSubscriberStatus(Active) = %v", err)
	}
	if _, err := ParseSubscriberStatus("deleted"); err == nil || !strings.Contains(err.Error(), "known: pending, active, unsubscribed, bounced, complained") {
		t.Errorf("ParseSubscriberStatus(deleted) = %v, want list of known statuses", err)
	}
	for _, h := range []int{-1, 0, 7, 23} {
		if err := CheckDeliveryHour(h); err != nil {
			t.Errorf("CheckDeliveryHour(%d) = %v", h, err)
		}
	}
	for _, h := range []int{-2, 24, 100} {
		if err := CheckDeliveryHour(h); err == nil {
			t.Errorf("CheckDeliveryHour(%d) = nil, want error", h)
		}
	}
	for _, tz := range []string{"", "Europe/Moscow", "America/New_York", "UTC"} {
		if err := CheckTimeZone(tz); err != nil {
			t.Errorf("CheckTimeZone(%q) = %v", tz, err)
		}
	}
	for _, tz := range []string{"Local", "Mars/Olympus", "Europe/Moscow\n", "../../etc/passwd", strings.Repeat("A", 65)} {
		if err := CheckTimeZone(tz); err == nil {
			t.Errorf("CheckTimeZone(%q) = nil, want error", tz)
		}
	}
	for _, n := range []string{"", "Иван Петров", "Ann O'Neil"} {
		if err := CheckSubscriberName(n); err != nil {
			t.Errorf("CheckSubscriberName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"Ann\r\nBcc: x@y.z", "bad\xff", strings.Repeat("я", MaxNameLen+1)} {
		if err := CheckSubscriberName(n); err == nil {
			t.Errorf("CheckSubscriberName(%q) = nil, want error", n)
		}
	}
}

func TestSubscriberReceivesAndWants(t *testing.T) {
	s := Subscriber{Status: StatusActive}
	if !s.Receives() || !s.WantsSection("sport") {
		t.Errorf("active subscriber with no sections: Receives=%v WantsSection=%v, want both true", s.Receives(), s.WantsSection("sport"))
	}
	s.Sections = []string{"politics"}
	if s.WantsSection("sport") || !s.WantsSection("politics") {
		t.Errorf("WantsSection with sections %v wrong", s.Sections)
	}
	s.Paused = true
	if s.Receives() {
		t.Error("paused subscriber Receives() = true")
	}
	for _, st := range []SubscriberStatus{StatusPending, StatusUnsubscribed, StatusBounced, StatusComplained} {
		if (Subscriber{Status: st}).Receives() {
			t.Errorf("status %s Receives() = true", st)
		}
	}
}
