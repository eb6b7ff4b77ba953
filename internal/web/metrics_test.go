package web_test

import (
	"context"
	"errors"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	dto "github.com/prometheus/client_model/go"

	"github.com/pressroom/pressroom/internal/mail"
	"github.com/pressroom/pressroom/internal/schedule"
	"github.com/pressroom/pressroom/internal/testtool/smtptest"
	"github.com/pressroom/pressroom/internal/web"
)

// family returns the gathered metric family name, or nil.
func family(t *testing.T, m *web.Metrics, name string) *dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// labelled returns the metric of f whose labels include want.
func labelled(f *dto.MetricFamily, want map[string]string) *dto.Metric {
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// TestSMTPReplyLatency sends through a real SMTP client to a real SMTP
// server over TCP, wrapped by the metrics, and checks both outcomes are
// timed.
func TestSMTPReplyLatency(t *testing.T) {
	srv := smtptest.New(t, func(s *smtptest.Server) {
		s.RcptReply["refused@example.com"] = smtptest.Reply(550, smtp.EnhancedCode{5, 1, 1}, "no such user")
	})
	endpoint, err := mail.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSMTP(mail.SMTPOptions{Endpoint: endpoint, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sender.Close() })
	m := web.NewMetrics(nil, nil)
	s := m.InstrumentSender(sender)
	for i, to := range []string{"reader@example.com", "reader2@example.com", "refused@example.com"} {
		r := s.Send(context.Background(), &mail.Message{
			From:      &netmail.Address{Address: "digest@news.example"},
			To:        &netmail.Address{Address: to},
			Subject:   "Press review",
			Text:      "Hello",
			MessageID: "test." + string(rune('a'+i)) + "@news.example",
		})
		if want := map[bool]mail.Status{true: mail.Permanent, false: mail.Sent}[strings.HasPrefix(to, "refused")]; r.Status != want {
			t.Fatalf("send to %s: %v, want %v (%v)", to, r.Status, want, r.Err)
		}
	}
	f := family(t, m, "pressroom_smtp_reply_duration_seconds")
	for status, want := range map[string]uint64{"sent": 2, "permanent": 1} {
		got := labelled(f, map[string]string{"status": status})
		if got == nil || got.GetHistogram().GetSampleCount() != want || got.GetHistogram().GetSampleSum() <= 0 {
			t.Errorf("smtp reply latency {status=%s} = %v, want %d timed replies", status, got, want)
		}
	}
}

// TestJobMetrics runs real scheduled jobs with the metrics as observer.
func TestJobMetrics(t *testing.T) {
	m := web.NewMetrics(nil, nil)
	sched := schedule.New(time.UTC, nil, schedule.WithObserver(func(r schedule.Run) {
		m.ObserveJob(r.Job, r.Start, r.Duration, r.Err)
	}))
	done := make(chan string, 10)
	if err := sched.Add("good", "@every 1s", func(context.Context) error { done <- "good"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := sched.Add("bad", "@every 1s", func(context.Context) error { done <- "bad"; return errors.New("broken") }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sched.Start()
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case j := <-done:
			seen[j] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("jobs did not run: %v", seen)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := sched.Stop(ctx); err != nil { // the observer has run for every started job
		t.Fatal(err)
	}
	runs := family(t, m, "pressroom_job_runs_total")
	fails := family(t, m, "pressroom_job_failures_total")
	last := family(t, m, "pressroom_job_last_success_timestamp_seconds")
	for _, job := range []string{"good", "bad"} {
		if r := labelled(runs, map[string]string{"job": job}); r == nil || r.GetCounter().GetValue() < 1 {
			t.Errorf("runs{job=%s} = %v, want at least 1", job, r)
		}
	}
	if f := labelled(fails, map[string]string{"job": "bad"}); f == nil || f.GetCounter().GetValue() < 1 {
		t.Errorf("failures{job=bad} = %v, want at least 1", f)
	}
	if f := labelled(fails, map[string]string{"job": "good"}); f != nil {
		t.Errorf("failures{job=good} = %v, want none", f)
	}
	if l := labelled(last, map[string]string{"job": "good"}); l == nil || l.GetGauge().GetValue() < float64(start.Unix()) {
		t.Errorf("last success{job=good} = %v, want after %d", l, start.Unix())
	}
	if l := labelled(last, map[string]string{"job": "bad"}); l != nil {
		t.Errorf("last success{job=bad} = %v, want none: it never succeeded", l)
	}
}
