package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parser reads the standard five cron fields and descriptors (@daily,
// @hourly, @every 5m, ...), optionally prefixed with CRON_TZ=Zone.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSchedule parses spec and pins it to loc unless the spec names its
// own zone with CRON_TZ=/TZ=.
func parseSchedule(spec string, loc *time.Location) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty cron spec")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		// cron v3.0.1 panics on a zone prefix with nothing after it.
		if !strings.Contains(spec, " ") {
			return nil, fmt.Errorf("cron spec %q: time zone prefix without a schedule", spec)
		}
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("cron spec %q: %w", spec, err)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok && ss.Location == time.Local {
		ss.Location = loc
	}
	return s, nil
}

// Spec is a parsed cron spec with fixed slots (five fields or a descriptor
// like @daily; not @every, whose slots depend on when it started), read
// in a fixed time zone. Its methods are pure functions of their argument.
type Spec struct {
	text  string
	sched *cron.SpecSchedule
}

// ParseSpec parses spec as Add does, reading it in loc (nil means UTC)
// unless it starts with CRON_TZ=.
func ParseSpec(spec string, loc *time.Location) (Spec, error) {
	if loc == nil {
		loc = time.UTC
	}
	s, err := parseSchedule(spec, loc)
	if err != nil {
		return Spec{}, fmt.Errorf("schedule: %w", err)
	}
	ss, ok := s.(*cron.SpecSchedule)
	if !ok {
		return Spec{}, fmt.Errorf("schedule: cron spec %q: has no fixed slots (an @every interval depends on the start time)", spec)
	}
	return Spec{text: strings.TrimSpace(spec), sched: ss}, nil
}

// String returns the spec as written.
func (s Spec) String() string { return s.text }

// Location returns the time zone the spec is read in.
func (s Spec) Location() *time.Location { return s.sched.Location }

// Next returns the first slot strictly after t, in the spec's time zone,
// or the zero time if there is none within five years (e.g. "0 0 30 2 *").
func (s Spec) Next(t time.Time) time.Time {
	n := s.sched.Next(t)
	if n.IsZero() {
		return n
	}
	return n.In(s.sched.Location)
}

// Prev returns the latest slot at or before t, in the spec's time zone.
// ok is false when there is none in the preceding four years. This is
// the slot a job should have run for last: catch-up after downtime
// compares it with the slot the job recorded.
func (s Spec) Prev(t time.Time) (slot time.Time, ok bool) {
	return prev(s.sched, t)
}

// prev finds the latest slot <= t by bisection over whole seconds: with
// first(x) = the first slot at or after x (monotone in x), the answer is
// first(x) for the largest x with first(x) <= t. It costs O(log window)
// calls of Next, whatever the spec's frequency.
func prev(sched *cron.SpecSchedule, t time.Time) (time.Time, bool) {
	t0 := t.In(sched.Location).Truncate(time.Second)
	first := func(x time.Time) (time.Time, bool) {
		n := sched.Next(x.Add(-time.Second))
		return n, !n.IsZero() && !n.After(t0)
	}
	if n, ok := first(t0); ok {
		return n.In(sched.Location), true
	}
	for _, window := range []time.Duration{time.Hour, 48 * time.Hour, 400 * 24 * time.Hour, (4*366 + 1) * 24 * time.Hour} {
		lo := t0.Add(-window)
		if _, ok := first(lo); !ok {
			continue
		}
		hi := t0 // invariant: first(lo) <= t0 < first(hi)
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
			if _, ok := first(mid); ok {
				lo = mid
			} else {
				hi = mid
			}
		}
		n, _ := first(lo)
		return n.In(sched.Location), true
	}
	return time.Time{}, false
}
