package schedule

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestObserverSeesEveryRun(t *testing.T) {
	t.Parallel()
	runs := make(chan Run, 20)
	s := New(time.UTC, nil, WithObserver(func(r Run) { runs <- r }))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	boom := errors.New("boom")
	jobs := map[string]Job{
		"ok":    func(context.Context) error { return nil },
		"fails": func(context.Context) error { return boom },
		"panic": func(context.Context) error { panic("kaput") },
	}
	for name, job := range jobs {
		if err := s.Add(name, "@every 1s", job); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	s.Start()
	seen := map[string]Run{}
	deadline := time.After(5 * time.Second)
	for len(seen) < len(jobs) {
		select {
		case r := <-runs:
			if _, dup := seen[r.Job]; !dup {
				seen[r.Job] = r
			}
		case <-deadline:
			t.Fatalf("observer saw %d of %d jobs within 5s: %v", len(seen), len(jobs), seen)
		}
	}
	if r := seen["ok"]; r.Err != nil {
		t.Errorf("ok run: Err = %v, want nil", r.Err)
	}
	if r := seen["fails"]; !errors.Is(r.Err, boom) {
		t.Errorf("failing run: Err = %v, want boom", r.Err)
	}
	if r := seen["panic"]; r.Err == nil {
		t.Error("panicking run: Err = nil, want the panic as an error")
	}
	for name, r := range seen {
		if r.Start.Before(start) || r.Duration < 0 || r.Slot.IsZero() {
			t.Errorf("%s: Run = %+v: want start after %v, a duration and a slot", name, r, start)
		}
	}
}
