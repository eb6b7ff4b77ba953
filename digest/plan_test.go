package digest_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressroom/pressroom/digest"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

// Planning is tested against a real SQLite file through *store.DB (a
// test-only import: digest itself sees only its Store interface).

var msk = time.FixedZone("MSK", 3*3600)

type planEnv struct {
	db      *store.DB
	path    string
	planner *digest.Planner
	subs    map[string]int64 // email -> id
}

func newPlanEnv(t testing.TB) *planEnv {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plan.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range []news.Section{
		{Slug: "politics", Title: "Politics", Position: 1},
		{Slug: "world", Title: "World", Position: 2},
		{Slug: "culture", Title: "Культура", Position: 3},
		{Slug: "sport", Title: "Sport", Position: 4},
	} {
		if err := db.AddSection(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	p, err := digest.NewPlanner(db, digest.PlanOptions{Location: msk, Cutoff: "08:00"})
	if err != nil {
		t.Fatal(err)
	}
	return &planEnv{db: db, path: path, planner: p, subs: map[string]int64{}}
}

func (e *planEnv) articles(t testing.TB, as ...news.Article) {
	t.Helper()
	_, err := e.db.ImportArticles(context.Background(), time.Date(2017, 1, 29, 0, 0, 0, 0, msk), func(put func(news.Article) error) error {
		for _, a := range as {
			if err := put(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *planEnv) subscriber(t testing.TB, email string, status news.SubscriberStatus, paused bool, sections ...string) {
	t.Helper()
	ctx := context.Background()
	s, err := e.db.AddSubscriber(ctx, news.Subscriber{Email: email, Name: "Reader " + email, Status: status, Sections: sections, DeliveryHour: news.DefaultDeliveryHour},
		news.ConsentEvent{At: time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), Source: news.SourceCLI})
	if err != nil {
		t.Fatal(err)
	}
	if paused {
		if _, _, err := e.db.UpdatePreferences(ctx, s.ID, news.Preferences{Sections: sections, DeliveryHour: news.DefaultDeliveryHour, Paused: true},
			news.ConsentEvent{At: time.Date(2017, 1, 2, 0, 0, 0, 0, time.UTC), Source: news.SourceCLI}); err != nil {
			t.Fatal(err)
		}
	}
	e.subs[email] = s.ID
}

func art(id, sec string, pub time.Time, top bool) news.Article {
	return news.Article{ID: id, URL: "https://press.example.com/" + sec + "/" + id, Section: sec, Title: "Title " + id,
		Lead: "Lead " + id, BodyHTML: "<p>" + id + "</p>", Dateline: "MOSCOW", PublishedAt: pub, TopStory: top}
}

func at(day, h, m int) time.Time { return time.Date(2017, 1, day, h, m, 0, 0, msk) }

func sectionIDs(ed news.Edition) map[string][]string {
	out := map[string][]string{}
	for _, s := range ed.Sections {
		for _, a := range s.Articles {
			out[s.Section.Slug] = append(out[s.Section.Slug], a.ID)
		}
	}
	return out
}

func TestPlanEdition(t *testing.T) {
	ctx := context.Background()
	e := newPlanEnv(t)
	e.articles(t,
		art("old", "politics", at(28, 7, 59), false),   // before the window (24 h before cutoff = 28th 08:00)
		art("edge", "politics", at(28, 8, 0), false),   // exactly at the window's start: excluded (from < published)
		art("p-new", "politics", at(29, 7, 0), false),  // newest politics
		art("p-mid", "politics", at(28, 20, 0), false), // older
		art("p-top", "politics", at(28, 9, 0), true),   // top story: first despite being oldest
		art("w1", "world", at(29, 8, 0), false),        // exactly at the cutoff: included
		art("c1", "culture", at(29, 1, 0), false),
		art("late", "world", at(29, 8, 1), false), // after the cutoff
	)
	if _, err := e.db.ImportViews(ctx, func(put func(news.ViewCount) error) error {
		for _, v := range []news.ViewCount{
			{ArticleID: "c1", At: at(29, 2, 0), Count: 500},
			{ArticleID: "p-mid", At: at(28, 21, 0), Count: 300},
			{ArticleID: "w1", At: at(29, 7, 0), Count: 100},
			{ArticleID: "old", At: at(28, 6, 0), Count: 9999}, // views before the window do not count
		} {
			if err := put(v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.subscriber(t, "all@example.com", news.StatusActive, false)
	e.subscriber(t, "politics@example.com", news.StatusActive, false, "politics")
	e.subscriber(t, "sport@example.com", news.StatusActive, false, "sport")
	e.subscriber(t, "paused@example.com", news.StatusActive, true)
	e.subscriber(t, "pending@example.com", news.StatusPending, false)
	e.subscriber(t, "gone@example.com", news.StatusUnsubscribed, false)

	now := at(29, 8, 0).Add(30 * time.Second)
	plan, err := e.planner.Plan(ctx, "2017-01-29", now)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if !plan.Created {
		t.Errorf("first Plan: Created = false")
	}
	ed := plan.Edition
	if !ed.From.Equal(at(28, 8, 0)) || !ed.Cutoff.Equal(at(29, 8, 0)) {
		t.Errorf("window = (%v, %v], want (%v, %v]", ed.From, ed.Cutoff, at(28, 8, 0), at(29, 8, 0))
	}
	want := map[string][]string{"politics": {"p-top", "p-new", "p-mid"}, "world": {"w1"}, "culture": {"c1"}}
	if diff := cmp.Diff(want, sectionIDs(ed)); diff != "" {
		t.Errorf("edition articles (-want +got):\n%s", diff)
	}
	var order []string
	for _, s := range ed.Sections {
		order = append(order, s.Section.Slug)
	}
	if diff := cmp.Diff([]string{"politics", "world", "culture", "sport"}, order); diff != "" {
		t.Errorf("section order (-want +got):\n%s", diff)
	}
	var most []string
	for _, a := range ed.MostRead {
		most = append(most, a.ID)
	}
	if diff := cmp.Diff([]string{"c1", "p-mid", "w1"}, most); diff != "" {
		t.Errorf("most read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[news.DeliveryState]int{news.DeliveryQueued: 2, news.DeliverySkipped: 1}, plan.Deliveries); diff != "" {
		t.Errorf("delivery counts (-want +got):\n%s", diff)
	}
	ds, err := e.db.Deliveries(ctx, ed.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range ds {
		got[d.Email] = string(d.State) + " " + strings.Join(d.Sections, ",") + " " + d.Reason
	}
	wantD := map[string]string{
		"all@example.com":      "queued  ",
		"politics@example.com": "queued politics ",
		"sport@example.com":    "skipped sport no articles in the chosen sections (sport)",
	}
	if diff := cmp.Diff(wantD, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}

	// Idempotent: planning again returns the same edition and adds nothing,
	// even after articles and subscribers changed.
	e.articles(t, art("w2", "world", at(29, 6, 0), false))
	e.subscriber(t, "new@example.com", news.StatusActive, false)
	again, err := e.planner.Plan(ctx, "2017-01-29", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Edition.ID != ed.ID {
		t.Errorf("second Plan: Created=%v id=%d, want the existing edition %d", again.Created, again.Edition.ID, ed.ID)
	}
	if diff := cmp.Diff(want, sectionIDs(again.Edition)); diff != "" {
		t.Errorf("second Plan changed the frozen articles (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(plan.Deliveries, again.Deliveries); diff != "" {
		t.Errorf("second Plan changed the deliveries (-first +second):\n%s", diff)
	}

	// Frozen: editing an article does not change the planned edition.
	edited := art("p-new", "politics", at(29, 7, 0), false)
	edited.Title = "Edited title"
	e.articles(t, edited)
	stored, err := e.db.EditionByDate(ctx, "2017-01-29")
	if err != nil {
		t.Fatal(err)
	}
	if tt := stored.Sections[0].Articles[1].Title; tt != "Title p-new" {
		t.Errorf("stored edition shows %q after the article was edited, want the frozen %q", tt, "Title p-new")
	}
	if !stored.Sections[0].Articles[1].PublishedAt.Equal(at(29, 7, 0)) {
		t.Errorf("snapshot time = %v, want %v", stored.Sections[0].Articles[1].PublishedAt, at(29, 7, 0))
	}

	// The next day's window starts at this edition's cutoff.
	next, err := e.planner.Plan(ctx, "2017-01-30", at(30, 9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !next.Edition.From.Equal(ed.Cutoff) {
		t.Errorf("next window starts %v, want the previous cutoff %v", next.Edition.From, ed.Cutoff)
	}
	if diff := cmp.Diff(map[string][]string{"world": {"late"}}, sectionIDs(next.Edition)); diff != "" {
		t.Errorf("next edition articles (-want +got):\n%s", diff)
	}
}

func TestPlanEmptyEditionSendsNothing(t *testing.T) {
	ctx := context.Background()
	e := newPlanEnv(t)
	e.subscriber(t, "all@example.com", news.StatusActive, false)
	plan, err := e.planner.Plan(ctx, "2017-01-29", at(29, 9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Edition.ArticleCount() != 0 || len(plan.Deliveries) != 0 {
		t.Errorf("empty edition: %d articles, deliveries %v; want none", plan.Edition.ArticleCount(), plan.Deliveries)
	}
}

func TestPlanBadInputWritesNothing(t *testing.T) {
	ctx := context.Background()
	e := newPlanEnv(t)
	e.articles(t, art("a", "politics", at(29, 7, 0), false))
	e.subscriber(t, "all@example.com", news.StatusActive, false)
	now := at(29, 12, 0)
	for _, tc := range []struct {
		date, want string
		is         error
	}{
		{"29.01.2017", `"29.01.2017" is not a date in the form YYYY-MM-DD`, nil},
		{"2017-1-29", "not a date in the form YYYY-MM-DD", nil},
		{"2017-02-30", "not a date", nil},
		{"2017-01-31", "after tomorrow (2017-01-30)", nil},
		{"2017-01-30", "cutoff", digest.ErrTooEarly}, // tomorrow: valid date, window not over
		{"", "not a date", nil},
	} {
		t.Run(tc.date, func(t *testing.T) {
			_, err := e.planner.Plan(ctx, tc.date, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Plan(%q) error = %v, want one saying %q", tc.date, err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Plan(%q) error = %v, want errors.Is %v", tc.date, err, tc.is)
			}
			var fe *news.FieldError
			if tc.is == nil && (!errors.As(err, &fe) || fe.Field != "date") {
				t.Errorf("Plan(%q) error = %v, want a FieldError for field date", tc.date, err)
			}
		})
	}
	if eds, err := e.db.Editions(ctx, 10); err != nil || len(eds) != 0 {
		t.Errorf("after bad input: editions %v (%v), want none", eds, err)
	}
	// Draft shows tomorrow's edition so far without storing it.
	ed, stored, err := e.planner.Draft(ctx, "2017-01-30", now)
	if err != nil || stored {
		t.Fatalf("Draft(tomorrow) = stored %v, %v", stored, err)
	}
	if !ed.Cutoff.Equal(now) {
		t.Errorf("draft cutoff = %v, want now %v", ed.Cutoff, now)
	}
	if eds, err := e.db.Editions(ctx, 10); err != nil || len(eds) != 0 {
		t.Errorf("after Draft: editions %v (%v), want none", eds, err)
	}
}

func TestPlannerOptions(t *testing.T) {
	for _, tc := range []struct {
		opts digest.PlanOptions
		want string
	}{
		{digest.PlanOptions{Cutoff: "8am"}, `field "cutoff"`},
		{digest.PlanOptions{Cutoff: "25:00"}, `field "cutoff"`},
		{digest.PlanOptions{MostRead: 9}, `field "most_read"`},
	} {
		if _, err := digest.NewPlanner(nil, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPlanner(%+v) = %v, want an error with %s", tc.opts, err, tc.want)
		}
	}
}

// BenchmarkPlan100k plans one edition of 60 articles for 100,000 active
// subscribers (a quarter with all sections, the rest with one to three).
func BenchmarkPlan100k(b *testing.B) {
	ctx := context.Background()
	e := newPlanEnv(b)
	var as []news.Article
	secs := []string{"politics", "world", "culture", "sport"}
	for i := range 60 {
		as = append(as, art(fmt.Sprintf("a%03d", i), secs[i%4], at(29, 7, 0).Add(-time.Duration(i)*20*time.Minute), i%10 == 0))
	}
	e.articles(b, as...)
	_, err := e.db.ImportSubscribers(ctx, at(1, 0, 0), func(put func(news.Subscriber) error) error {
		for i := range 100_000 {
			s := news.Subscriber{Email: fmt.Sprintf("reader%06d@example.org", i), Status: news.StatusActive, DeliveryHour: news.DefaultDeliveryHour}
			if i%4 != 0 {
				s.Sections = slices.Clone(secs[i%4 : min(4, i%4+1+i%3)])
			}
			if err := put(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	day := 0
	cpu0 := cpuSeconds(b)
	for b.Loop() {
		// A new date each round (planning an existing date is a no-op).
		date := time.Date(2017, 2, 1, 0, 0, 0, 0, msk).AddDate(0, 0, day)
		day++
		e.articles(b, art(fmt.Sprintf("d%d", day), "world", date.Add(7*time.Hour), false))
		plan, err := e.planner.Plan(ctx, date.Format(news.DateLayout), date.Add(9*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		if n := plan.Deliveries[news.DeliveryQueued] + plan.Deliveries[news.DeliverySkipped]; n != 100_000 {
			b.Fatalf("planned %d deliveries, want 100000", n)
		}
	}
	// CPU seconds (all threads) per plan: wall time on a shared machine
	// overstates the cost.
	b.ReportMetric((cpuSeconds(b)-cpu0)/float64(b.N), "cpu-s/plan")
}

func cpuSeconds(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// TestPlanConcurrently plans one date from two database handles at once,
// as two processes would (a double cron firing): one edition, one set of
// deliveries, both callers see the same edition.
func TestPlanConcurrently(t *testing.T) {
	ctx := context.Background()
	e := newPlanEnv(t)
	e.articles(t, art("a", "politics", at(29, 7, 0), false))
	for i := range 20 {
		e.subscriber(t, fmt.Sprintf("r%d@example.com", i), news.StatusActive, false)
	}
	other, err := store.Open(ctx, e.path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	p2, err := digest.NewPlanner(other, digest.PlanOptions{Location: msk})
	if err != nil {
		t.Fatal(err)
	}
	type res struct {
		plan digest.Plan
		err  error
	}
	results := make(chan res, 2)
	for _, p := range []*digest.Planner{e.planner, p2} {
		go func() {
			plan, err := p.Plan(ctx, "2017-01-29", at(29, 9, 0))
			results <- res{plan, err}
		}()
	}
	a, b := <-results, <-results
	if a.err != nil || b.err != nil {
		t.Fatalf("Plan errors: %v, %v", a.err, b.err)
	}
	if a.plan.Created == b.plan.Created || a.plan.Edition.ID != b.plan.Edition.ID {
		t.Errorf("created %v and %v, ids %d and %d: want exactly one creation of one edition", a.plan.Created, b.plan.Created, a.plan.Edition.ID, b.plan.Edition.ID)
	}
	for _, r := range []res{a, b} {
		if r.plan.Deliveries[news.DeliveryQueued] != 20 {
			t.Errorf("deliveries %v, want 20 queued", r.plan.Deliveries)
		}
	}
}
