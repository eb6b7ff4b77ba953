package schedule

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSpecPrevNextKnownSlots(t *testing.T) {
	moscow := mustLoc(t, "Europe/Moscow")
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		spec     string
		loc      *time.Location
		at       string
		wantPrev string
		wantNext string
	}{
		// The daily digest at 08:00 Moscow time.
		{"0 8 * * *", moscow, "2017-01-29T07:59:59+03:00", "2017-01-28T08:00:00+03:00", "2017-01-29T08:00:00+03:00"},
		{"0 8 * * *", moscow, "2017-01-29T08:00:00+03:00", "2017-01-29T08:00:00+03:00", "2017-01-30T08:00:00+03:00"},
		{"0 8 * * *", moscow, "2017-01-29T08:00:00.999+03:00", "2017-01-29T08:00:00+03:00", "2017-01-30T08:00:00+03:00"},
		// The same instant asked in UTC: the spec is still read in Moscow.
		{"0 8 * * *", moscow, "2017-01-29T05:30:00Z", "2017-01-29T08:00:00+03:00", "2017-01-30T08:00:00+03:00"},
		// Every minute.
		{"* * * * *", moscow, "2017-01-29T10:15:42+03:00", "2017-01-29T10:15:00+03:00", "2017-01-29T10:16:00+03:00"},
		{"@hourly", time.UTC, "2017-01-01T00:00:00Z", "2017-01-01T00:00:00Z", "2017-01-01T01:00:00Z"},
		{"*/15 9-17 * * MON-FRI", moscow, "2017-01-29T12:00:00+03:00", "2017-01-27T17:45:00+03:00", "2017-01-30T09:00:00+03:00"},
		// Monthly, across a year boundary.
		{"30 6 1 * *", time.UTC, "2017-01-01T06:29:00Z", "2016-12-01T06:30:00Z", "2017-01-01T06:30:00Z"},
		// Once every four years.
		{"0 0 29 2 *", time.UTC, "2019-03-01T00:00:00Z", "2016-02-29T00:00:00Z", "2020-02-29T00:00:00Z"},
		// CRON_TZ overrides the scheduler's zone.
		{"CRON_TZ=UTC 0 8 * * *", moscow, "2017-01-29T10:00:00+03:00", "2017-01-28T08:00:00Z", "2017-01-29T08:00:00Z"},
		// DST in New York: 02:30 does not exist on 2017-03-12 (spring
		// forward), so the last slot before 03:00 that day is the 11th's.
		{"30 2 * * *", ny, "2017-03-12T04:00:00-04:00", "2017-03-11T02:30:00-05:00", "2017-03-13T02:30:00-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"@"+tt.at, func(t *testing.T) {
			s, err := ParseSpec(tt.spec, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			at := mustTime(t, tt.at)
			got, ok := s.Prev(at)
			if !ok || !got.Equal(mustTime(t, tt.wantPrev)) {
				t.Errorf("Prev(%s) = %v, %v, want %s", tt.at, got, ok, tt.wantPrev)
			}
			if next := s.Next(at); !next.Equal(mustTime(t, tt.wantNext)) {
				t.Errorf("Next(%s) = %v, want %s", tt.at, next, tt.wantNext)
			}
		})
	}
}

func TestSpecPrevReturnsSpecZone(t *testing.T) {
	moscow := mustLoc(t, "Europe/Moscow")
	s, err := ParseSpec("0 8 * * *", moscow)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Prev(mustTime(t, "2017-01-29T12:00:00Z"))
	if got.Location() != moscow || got.Hour() != 8 {
		t.Errorf("Prev = %v (zone %v), want 08:00 in Europe/Moscow", got, got.Location())
	}
}

func TestSpecPrevNone(t *testing.T) {
	// February 30th never happens.
	s, err := ParseSpec("0 0 30 2 *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Prev(mustTime(t, "2020-01-01T00:00:00Z")); ok {
		t.Errorf("Prev = %v, true; want no slot", got)
	}
	if got := s.Next(mustTime(t, "2020-01-01T00:00:00Z")); !got.IsZero() {
		t.Errorf("Next = %v, want zero", got)
	}
}

// TestSpecPrevProperty checks the defining property of Prev on random
// instants: the result is a slot, it is not after t, and the next slot
// after it is after t (no slot is skipped in between).
func TestSpecPrevProperty(t *testing.T) {
	moscow := mustLoc(t, "Europe/Moscow")
	ny := mustLoc(t, "America/New_York")
	specs := []string{"0 8 * * *", "*/5 * * * *", "17 3 * * SUN", "0 */6 1,15 * *", "59 23 31 12 *", "30 1 * * *", "@weekly"}
	rng := rand.New(rand.NewPCG(1, 2))
	base := mustTime(t, "2015-01-01T00:00:00Z")
	for _, spec := range specs {
		for _, loc := range []*time.Location{moscow, ny, time.UTC} {
			s, err := ParseSpec(spec, loc)
			if err != nil {
				t.Fatal(err)
			}
			for range 200 {
				at := base.Add(time.Duration(rng.Int64N(int64(4 * 365 * 24 * time.Hour))))
				p, ok := s.Prev(at)
				if !ok {
					t.Fatalf("%s in %v: Prev(%v) found no slot", spec, loc, at)
				}
				if p.After(at) {
					t.Fatalf("%s in %v: Prev(%v) = %v, after t", spec, loc, at, p)
				}
				if first := s.Next(p.Add(-time.Second)); !first.Equal(p) {
					t.Fatalf("%s in %v: Prev(%v) = %v is not a slot (first slot from there is %v)", spec, loc, at, p, first)
				}
				if n := s.Next(p); !n.After(at) {
					t.Fatalf("%s in %v: Prev(%v) = %v skips slot %v", spec, loc, at, p, n)
				}
			}
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", "empty cron spec"},
		{"61 * * * *", "61"},
		{"* * * *", "expected exactly 5 fields"},
		{"@every 5m", "no fixed slots"},
		{"CRON_TZ=Europe/Moscow", "time zone prefix without a schedule"},
		{"CRON_TZ=Mars/Olympus 0 8 * * *", "Mars/Olympus"},
	}
	for _, tt := range tests {
		_, err := ParseSpec(tt.spec, time.UTC)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSpec(%q) error = %v, want it to mention %q", tt.spec, err, tt.want)
		}
	}
}
