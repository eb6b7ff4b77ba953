// Package schedule runs Pressroom's periodic jobs (feed export, digest
// delivery, retention) on cron specs in the newsroom's time zone.
//
// It wraps github.com/robfig/cron/v3 and closes that library's traps: the
// time zone is always explicit (cron's default is time.Local), every job
// is wrapped in Recover and SkipIfStillRunning (cron.New installs neither),
// every run is logged with its duration and error, and Stop waits for
// running jobs only as long as the caller allows.
//
// cron has no catch-up: a slot missed while the process was down is gone.
// Spec.Prev answers "which slot should have run last?" as a pure function,
// so a job can compare it with the slot it recorded and make up for a
// missed run; Slot tells a running job which slot it runs for.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is the work a scheduled entry does. ctx is cancelled when Stop gives
// up waiting; Slot(ctx) is the planned time of the run.
type Job func(ctx context.Context) error

// Scheduler runs named jobs on cron specs. Create it with New, Add jobs,
// Start it, and Stop it at shutdown. Jobs may be added after Start.
type Scheduler struct {
	loc    *time.Location
	logger *slog.Logger
	cron   *cron.Cron

	// ctx is the parent of every job's context; cancel aborts running
	// jobs when Stop runs out of time.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	entries map[string]entry

	observe func(Run) // nil: no observer
}

// Run describes one finished run of a job, for an observer.
type Run struct {
	Job      string
	Slot     time.Time // the planned time of the run (see Slot)
	Start    time.Time
	Duration time.Duration
	Err      error // nil when the job succeeded; a panic becomes an error
}

// Option configures a Scheduler in New.
type Option func(*Scheduler)

// WithObserver makes the scheduler call fn after every run of every job,
// successful or not (metrics: runs, failures, last success). fn runs on
// the job's goroutine, so it must be quick and safe for concurrent use.
func WithObserver(fn func(Run)) Option {
	return func(s *Scheduler) { s.observe = fn }
}

type entry struct {
	spec string
	id   cron.EntryID
}

// JobInfo describes one registered job.
type JobInfo struct {
	Name string
	Spec string
	Next time.Time // zero until the scheduler has started
}

// New returns a Scheduler whose specs are read in loc (nil means UTC) and
// which logs to logger (nil discards).
func New(loc *time.Location, logger *slog.Logger, opts ...Option) *Scheduler {
	if loc == nil {
		loc = time.UTC
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		loc:    loc,
		logger: logger,
		// Library chatter (wake, schedule, ...) goes to Debug; per-job
		// Recover and SkipIfStillRunning are added in Add so their log
		// lines carry the job's name.
		cron: cron.New(
			cron.WithLocation(loc),
			cron.WithParser(parser),
			cron.WithLogger(cronLogger{logger: logger, infoLevel: slog.LevelDebug}),
		),
		ctx:     ctx,
		cancel:  cancel,
		entries: make(map[string]entry),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Location returns the time zone the scheduler reads specs in.
func (s *Scheduler) Location() *time.Location { return s.loc }

// Add registers job under name (unique; it appears in every log line of
// the job) to run on spec: five cron fields (minute hour day-of-month
// month day-of-week) or a descriptor such as @daily or @every 10m, read in
// the scheduler's time zone unless the spec starts with CRON_TZ=.
func (s *Scheduler) Add(name, spec string, job Job) error {
	if name == "" {
		return errors.New("schedule: add: empty job name")
	}
	if job == nil {
		return fmt.Errorf("schedule: add %q: nil job", name)
	}
	sched, err := parseSchedule(spec, s.loc)
	if err != nil {
		return fmt.Errorf("schedule: add %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.entries[name]; dup {
		return fmt.Errorf("schedule: add %q: a job with this name already exists", name)
	}
	jl := cronLogger{logger: s.logger.With("job", name), infoLevel: slog.LevelWarn}
	wrapped := cron.NewChain(cron.Recover(jl), cron.SkipIfStillRunning(jl)).
		Then(cron.FuncJob(func() { s.runOnce(name, sched, job) }))
	id := s.cron.Schedule(sched, wrapped)
	s.entries[name] = entry{spec: spec, id: id}
	return nil
}

// runOnce runs one planned execution of job and logs its outcome. A panic
// in the job is turned into an error here so that it is logged like any
// failure, with the run's duration.
func (s *Scheduler) runOnce(name string, sched cron.Schedule, job Job) {
	start := time.Now()
	slot := start.In(s.loc).Truncate(time.Second)
	if spec, ok := sched.(*cron.SpecSchedule); ok {
		if p, ok := prev(spec, start); ok {
			slot = p
		}
	}
	ctx := context.WithValue(s.ctx, slotKey{}, slot)
	log := s.logger.With("job", name, "slot", slot.Format(time.RFC3339))
	log.Debug("Job started")
	err := call(ctx, job)
	d := time.Since(start)
	if s.observe != nil {
		s.observe(Run{Job: name, Slot: slot, Start: start, Duration: d, Err: err})
	}
	if err != nil {
		log.Error("Job failed", "duration", d, "error", err)
		return
	}
	log.Info("Job finished", "duration", d)
}

func call(ctx context.Context, job Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return job(ctx)
}

// Jobs lists the registered jobs by name.
func (s *Scheduler) Jobs() []JobInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobInfo, 0, len(s.entries))
	for name, e := range s.entries {
		out = append(out, JobInfo{Name: name, Spec: e.spec, Next: s.cron.Entry(e.id).Next})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Start begins running jobs in the background. It does not block.
func (s *Scheduler) Start() {
	s.cron.Start()
	s.logger.Info("Scheduler started", "jobs", len(s.Jobs()), "time_zone", s.loc.String())
}

// Stop stops planning new runs and waits for running jobs to finish. If
// ctx ends first, the running jobs' contexts are cancelled and Stop
// returns an error wrapping ctx.Err(); the jobs may still be finishing.
func (s *Scheduler) Stop(ctx context.Context) error {
	done := s.cron.Stop()
	select {
	case <-done.Done():
		s.cancel()
		s.logger.Info("Scheduler stopped")
		return nil
	case <-ctx.Done():
		s.cancel()
		return fmt.Errorf("schedule: stop: jobs still running: %w", ctx.Err())
	}
}

type slotKey struct{}

// Slot returns the planned time of the scheduled run that ctx belongs to
// (in the scheduler's time zone), and false outside a scheduled run.
func Slot(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(slotKey{}).(time.Time)
	return t, ok
}

// cronLogger adapts slog to cron.Logger. Info messages are logged at
// infoLevel: cron's own chatter is debug material, but a skipped run
// ("skip" from SkipIfStillRunning) deserves a warning.
type cronLogger struct {
	logger    *slog.Logger
	infoLevel slog.Level
}

func (l cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		msg = "Job run skipped: previous run still running"
	} else {
		msg = "Cron " + msg
	}
	l.logger.Log(context.Background(), l.infoLevel, msg, kv...)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.logger.Error("Cron "+msg, append([]any{"error", err}, kv...)...)
}
