package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/testtool"
)

// subscribeArtifactDir is where the subscription browser test saves its
// screenshots.
func subscribeArtifactDir(t *testing.T) string { return testtool.ArtifactDir(t, "subscribe") }

// startChromium starts headless Debian chromium for one test.
func startChromium(t *testing.T) context.Context {
	return testtool.Chromium(t, 2*time.Minute, chromedp.WindowSize(1024, 800))
}

// TestSubscribeInBrowser walks a reader through the whole life of a
// subscription in headless chromium against the real server (real
// handler, real database file, file outbox): sign up with two sections,
// open the confirmation link from the email, confirm, change preferences,
// unsubscribe. Every page is saved as a screenshot.
func TestSubscribeInBrowser(t *testing.T) {
	ctx := startChromium(t)
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	h := newHarness(t, base, nil)
	ts.Config.Handler = h.srv
	ts.Start()
	defer ts.Close()
	dir := subscribeArtifactDir(t)

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
			png, err := chromedp.FullScreenshot(100)(ctx, tgt)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
	}
	heading := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.Search(`//h1[contains(normalize-space(.), "` + want + `")]`))
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	eval := func(step, js string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return v
	}

	// 1. Sign up with two sections.
	run("phone-width form",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait),
		chromedp.Navigate(base+"/subscribe"),
		heading("Subscribe to the daily press review"),
		shot("01-subscribe-phone"),
	)
	if eval("measure", `document.documentElement.scrollWidth > document.documentElement.clientWidth`) {
		t.Error("the sign-up form scrolls sideways at phone width")
	}
	// Every control has a label, the page one h1, and Tab goes from the
	// skip link and the site header straight to the email and name fields.
	const a11y = `(() => {
	  const controls = [...document.querySelectorAll('input:not([type=hidden]), select, button')];
	  const labelled = controls.every(c => c.tagName === 'BUTTON' ? c.textContent.trim() !== '' : c.labels && c.labels.length > 0);
	  return labelled && document.querySelectorAll('h1').length === 1 && document.documentElement.lang === 'en';
	})()`
	if !eval("labels on the sign-up form", a11y) {
		t.Error("sign-up form: a control without a label, or not exactly one h1, or no lang")
	}
	var focus []string
	for range 5 {
		run("tab", chromedp.KeyEvent("\t"))
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.textContent.trim()`))
		if err != nil {
			t.Fatal(err)
		}
		focus = append(focus, v)
	}
	if diff := cmp.Diff([]string{"Skip to content", "Pressroom", "Sections", "email", "name"}, focus); diff != "" {
		t.Errorf("focus order on the sign-up form (-want +got):\n%s", diff)
	}
	run("fill in the form",
		chromedp.EmulateViewport(1024, 800),
		chromedp.Navigate(base+"/subscribe"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "reader@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Анна Ридер"),
		chromedp.Click(chromedp.CSS(`input[name=sections][value=politics]`)),
		chromedp.Click(chromedp.CSS(`input[name=sections][value=world]`)),
		shot("02-subscribe-filled"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		heading("Check your inbox"),
		shot("03-check-inbox"),
	)
	s := h.subscriber("reader@example.com")
	if s.Status != news.StatusPending || !cmp.Equal(s.Sections, []string{"politics", "world"}) || s.Name != "Анна Ридер" {
		t.Fatalf("after the form: %+v", s)
	}

	// 2. The confirmation email, read from the outbox as a mail client would.
	mails := h.mails()
	if len(mails) != 1 {
		t.Fatalf("outbox has %d messages, want 1", len(mails))
	}
	link := mails[0].link(t)
	if !strings.HasPrefix(link, base+"/confirm?t=") {
		t.Fatalf("confirmation link %q is not on %s", link, base)
	}

	// 3. Open it (a GET changes nothing), then confirm.
	before := h.snapshot()
	run("open the confirmation link", chromedp.Navigate(link), heading("Confirm your subscription"), shot("04-confirm"))
	if after := h.snapshot(); after != before {
		t.Fatal("opening the confirmation link changed data")
	}
	run("confirm", chromedp.Click(chromedp.CSS(`button[type=submit]`)), heading("You are subscribed"), shot("05-confirmed"))
	if s = h.subscriber("reader@example.com"); s.Status != news.StatusActive {
		t.Fatalf("after confirming: status %s", s.Status)
	}

	// 4. Change preferences: drop world, add sport, 07:00 Berlin time.
	run("preferences",
		chromedp.Click(chromedp.CSS(`a[href^="/preferences?t="]`)),
		heading("Your subscription"),
		chromedp.WaitVisible(chromedp.CSS(`#delivery_hour`)),
		shot("06-preferences"),
	)
	if !eval("labels on the preference form", a11y) {
		t.Error("preference form: a control without a label, or not exactly one h1")
	}
	run("change preferences",
		chromedp.Click(chromedp.CSS(`input[name=sections][value=world]`)),
		chromedp.Click(chromedp.CSS(`input[name=sections][value=sport]`)),
		chromedp.SetValue(chromedp.CSS(`#delivery_hour`), "7"),
		chromedp.SendKeys(chromedp.CSS(`#time_zone`), "Europe/Berlin"),
		chromedp.Click(chromedp.Search(`//button[normalize-space(.)="Save preferences"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		shot("07-preferences-saved"),
	)
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.notice`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notice, "Your preferences are saved") {
		t.Errorf("notice after saving = %q", notice)
	}
	s = h.subscriber("reader@example.com")
	want := news.Preferences{Sections: []string{"politics", "sport"}, DeliveryHour: 7, TimeZone: "Europe/Berlin"}
	if diff := cmp.Diff(want, s.Preferences()); diff != "" {
		t.Errorf("saved preferences (-want +got):\n%s", diff)
	}

	// 5. Unsubscribe through the link every digest carries.
	unsub := h.signer.URL(base, s.ID, news.PurposeUnsubscribe, time.Time{})
	run("unsubscribe",
		chromedp.Navigate(unsub),
		heading("Unsubscribe"),
		shot("08-unsubscribe"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		heading("You are unsubscribed"),
		shot("09-unsubscribed"),
	)
	if s = h.subscriber("reader@example.com"); s.Status != news.StatusUnsubscribed {
		t.Errorf("after unsubscribing: status %s", s.Status)
	}

	var got []string
	for _, ev := range h.consentLog(s.ID) {
		got = append(got, string(ev.Action)+"/"+string(ev.Source)+"/"+ev.FormVersion)
		if ev.IP != "127.0.0.1" || !strings.Contains(ev.UserAgent, "Chrome") {
			t.Errorf("consent event without the browser's IP and user agent: %+v", ev)
		}
	}
	wantLog := []string{"subscribe/web/subscribe@2026-11", "confirm/web/confirm@2026-11", "preferences/web/preferences@2026-11", "unsubscribe/web/unsubscribe@2026-11"}
	if diff := cmp.Diff(wantLog, got); diff != "" {
		t.Errorf("consent log (-want +got):\n%s", diff)
	}
	for _, name := range []string{"01-subscribe-phone", "03-check-inbox", "05-confirmed", "07-preferences-saved", "09-unsubscribed"} {
		if st, err := os.Stat(filepath.Join(dir, name+".png")); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}
