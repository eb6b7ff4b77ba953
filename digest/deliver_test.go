package digest

import (
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

func TestDueTime(t *testing.T) {
	msk, _ := time.LoadLocation("Europe/Moscow")
	slot := time.Date(2026, 11, 27, 8, 0, 0, 0, msk)
	tests := []struct {
		hour int
		zone string
		want time.Time
	}{
		{-1, "", slot},
		{8, "", slot},
		{20, "", time.Date(2026, 11, 27, 20, 0, 0, 0, msk)},
		{7, "", time.Date(2026, 11, 28, 7, 0, 0, 0, msk)},
		{20, "Asia/Vladivostok", time.Date(2026, 11, 27, 13, 0, 0, 0, msk)},
		{6, "America/New_York", time.Date(2026, 11, 27, 14, 0, 0, 0, msk)},
		{3, "Not/AZone", time.Date(2026, 11, 28, 3, 0, 0, 0, msk)}, // unknown zone: the newsroom's
	}
	for _, tt := range tests {
		if got := DueTime(slot, tt.hour, tt.zone, msk); !got.Equal(tt.want) {
			t.Errorf("DueTime(%d, %q) = %v, want %v", tt.hour, tt.zone, got, tt.want.In(msk))
		}
	}
	// Spring forward in New York: 02:00 does not exist on 8 March 2026;
	// the reader gets it at the instant Go normalises 02:00 to (03:00 EDT).
	ny, _ := time.LoadLocation("America/New_York")
	s := time.Date(2026, 3, 8, 0, 30, 0, 0, ny)
	if got := DueTime(s, 2, "America/New_York", msk); got.Before(s) || got.After(s.Add(3*time.Hour)) {
		t.Errorf("DueTime on spring-forward day = %v", got.In(ny))
	}
}

func TestMessageIDRoundTrip(t *testing.T) {
	s, err := news.NewTokenSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	id := MessageID(s, "2026-11-27", 42, "news.example")
	want := "digest.2026-11-27.s42." + s.MessageTag("2026-11-27", 42) + "@news.example"
	if id != want {
		t.Fatalf("MessageID = %q, want %q", id, want)
	}
	date, sub, tag, ok := ParseMessageID("<" + id + ">")
	if !ok || date != "2026-11-27" || sub != 42 || !s.VerifyMessageTag(date, sub, tag) {
		t.Errorf("ParseMessageID(%q) = %q %d %q %v", id, date, sub, tag, ok)
	}
	for _, bad := range []string{"x@y", "digest.2026-11-27.sX.t@y", "digest.2026-11.s1.t@y", "digest.2026-11-27.s0.t@y",
		"digest.2026-11-27.s042.t@y", "digest.2026-11-27.s42@y", "digest.2026-11-27.s42.@y", "confirm.1@y"} {
		if d, n, tg, ok := ParseMessageID(bad); ok {
			t.Errorf("ParseMessageID(%q) = %q %d %q, want no match", bad, d, n, tg)
		}
	}
}
