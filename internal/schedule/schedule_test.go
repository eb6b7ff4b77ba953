package schedule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logSink collects JSON log records so tests can wait for and inspect them.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// waitFor polls the log until a record with msg (and job) appears.
func (l *logSink) waitFor(t *testing.T, job, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, r := range l.records(t) {
			if r["msg"] == msg && r["job"] == job {
				return r
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log record %q for job %q within %v; log:\n%s", msg, job, timeout, l.buf.String())
	return nil
}

func newTestScheduler(t *testing.T, loc *time.Location) (*Scheduler, *logSink) {
	t.Helper()
	sink := &logSink{}
	s := New(loc, slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s, sink
}

func TestSchedulerRunsAndLogsDurationAndSlot(t *testing.T) {
	t.Parallel()
	s, sink := newTestScheduler(t, time.UTC)
	slots := make(chan time.Time, 10)
	if err := s.Add("tick", "@every 1s", func(ctx context.Context) error {
		slot, ok := Slot(ctx)
		if !ok {
			t.Error("Slot(ctx) not set inside a scheduled run")
		}
		slots <- slot
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s.Start()
	select {
	case slot := <-slots:
		if slot.Before(start.Truncate(time.Second)) || slot.After(time.Now()) {
			t.Errorf("slot %v outside [%v, now]", slot, start)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("job did not run within 3s")
	}
	rec := sink.waitFor(t, "tick", "Job finished", 2*time.Second)
	if _, ok := rec["duration"]; !ok {
		t.Errorf("finish record has no duration: %v", rec)
	}
	if rec["level"] != "INFO" {
		t.Errorf("finish record level = %v, want INFO", rec["level"])
	}
	if _, ok := Slot(context.Background()); ok {
		t.Error("Slot outside a run reported ok")
	}
}

func TestSchedulerLogsErrorsAndRecoversPanics(t *testing.T) {
	t.Parallel()
	s, sink := newTestScheduler(t, time.UTC)
	if err := s.Add("fails", "@every 1s", func(context.Context) error {
		return errors.New("smtp: connection refused")
	}); err != nil {
		t.Fatal(err)
	}
	panics := make(chan struct{}, 10)
	if err := s.Add("panics", "@every 1s", func(context.Context) error {
		panics <- struct{}{}
		panic("nil map")
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	rec := sink.waitFor(t, "fails", "Job failed", 3*time.Second)
	if rec["error"] != "smtp: connection refused" || rec["level"] != "ERROR" {
		t.Errorf("failure record = %v", rec)
	}
	if _, ok := rec["duration"]; !ok {
		t.Errorf("failure record has no duration: %v", rec)
	}
	rec = sink.waitFor(t, "panics", "Job failed", 3*time.Second)
	if !strings.Contains(rec["error"].(string), "panic: nil map") {
		t.Errorf("panic record = %v", rec)
	}
	// The process survived the panic and the job runs again.
	for range 2 {
		select {
		case <-panics:
		case <-time.After(3 * time.Second):
			t.Fatal("panicking job did not run twice")
		}
	}
}

func TestSchedulerSkipsOverlappingRuns(t *testing.T) {
	t.Parallel()
	s, sink := newTestScheduler(t, time.UTC)
	release := make(chan struct{})
	var mu sync.Mutex
	running, maxRunning := 0, 0
	if err := s.Add("slow", "@every 1s", func(ctx context.Context) error {
		mu.Lock()
		running++
		maxRunning = max(maxRunning, running)
		mu.Unlock()
		<-release
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	rec := sink.waitFor(t, "slow", "Job run skipped: previous run still running", 3*time.Second)
	if rec["level"] != "WARN" {
		t.Errorf("skip record level = %v, want WARN", rec["level"])
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxRunning != 1 {
		t.Errorf("at most %d runs at once, want 1", maxRunning)
	}
}

func TestStopWaitsForRunningJob(t *testing.T) {
	t.Parallel()
	s, _ := newTestScheduler(t, time.UTC)
	started := make(chan struct{}, 1)
	finished := make(chan struct{})
	if err := s.Add("work", "@every 1s", func(ctx context.Context) error {
		select {
		case started <- struct{}{}:
		default:
			return nil
		}
		time.Sleep(300 * time.Millisecond)
		close(finished)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	select {
	case <-started:
	case <-time.After(3 * time.Second):
		t.Fatal("job did not start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop = %v, want nil", err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Stop returned before the running job finished")
	}
}

func TestStopIsBoundedAndCancelsJobs(t *testing.T) {
	t.Parallel()
	s, _ := newTestScheduler(t, time.UTC)
	started := make(chan struct{}, 1)
	cancelled := make(chan error, 1)
	if err := s.Add("stuck", "@every 1s", func(ctx context.Context) error {
		select {
		case started <- struct{}{}:
		default:
			return nil
		}
		<-ctx.Done()
		cancelled <- ctx.Err()
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	select {
	case <-started:
	case <-time.After(3 * time.Second):
		t.Fatal("job did not start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("job context error = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the stuck job's context was not cancelled")
	}
}

func TestSchedulerUsesLocation(t *testing.T) {
	t.Parallel()
	moscow := mustLoc(t, "Europe/Moscow")
	s, _ := newTestScheduler(t, moscow)
	noop := func(context.Context) error { return nil }
	if err := s.Add("digest", "0 8 * * *", noop); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("utc-digest", "CRON_TZ=UTC 0 8 * * *", noop); err != nil {
		t.Fatal(err)
	}
	s.Start()
	jobs := s.Jobs()
	if len(jobs) != 2 || jobs[0].Name != "digest" || jobs[1].Name != "utc-digest" {
		t.Fatalf("Jobs() = %+v", jobs)
	}
	if n := jobs[0].Next.In(moscow); n.Hour() != 8 || n.Minute() != 0 {
		t.Errorf("digest next run %v, want 08:00 Moscow time", n)
	}
	if n := jobs[1].Next.In(time.UTC); n.Hour() != 8 {
		t.Errorf("utc-digest next run %v, want 08:00 UTC", n)
	}
	if s.Location() != moscow {
		t.Errorf("Location() = %v", s.Location())
	}
}

func TestAddErrors(t *testing.T) {
	s, _ := newTestScheduler(t, time.UTC)
	noop := func(context.Context) error { return nil }
	if err := s.Add("a", "0 8 * * *", noop); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, spec string
		job        Job
		want       string
	}{
		{"a", "0 9 * * *", noop, `add "a": a job with this name already exists`},
		{"", "0 9 * * *", noop, "empty job name"},
		{"b", "0 9 * *", noop, `add "b": cron spec "0 9 * *"`},
		{"c", "CRON_TZ=UTC", noop, "time zone prefix without a schedule"},
		{"d", "0 9 * * *", nil, "nil job"},
	}
	for _, tt := range tests {
		err := s.Add(tt.name, tt.spec, tt.job)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Add(%q, %q) = %v, want error containing %q", tt.name, tt.spec, err, tt.want)
		}
	}
	if got := len(s.Jobs()); got != 1 {
		t.Errorf("%d jobs registered after failed Adds, want 1", got)
	}
}
