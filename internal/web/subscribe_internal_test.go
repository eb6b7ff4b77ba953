package web

import (
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// The subscription pages' samples for TestEveryPageTemplateExecutes.
func init() {
	secs := []sectionChoice{{Slug: "politics", Title: "Russian Politics & Diplomacy", Checked: true}, {Slug: "sport", Title: "Sport"}}
	pageSamples["subscribe.html"] = subscribeData{Email: "a@example.com", Name: "Анна", Sections: secs, FormToken: "1.2.x", Errors: []string{"Email address: required"}}
	pageSamples["subscribe_sent.html"] = sentData{Email: "a@example.com", TTLDays: 7}
	pageSamples["confirm.html"] = confirmData{State: "done", Action: "/confirm?t=1.2.x", PrefsURL: "/preferences?t=1.0.x"}
	pageSamples["preferences.html"] = prefsData{Action: "/preferences?t=1.0.x", State: news.StatusActive, Email: "a@example.com",
		Sections: secs, Hours: hours(7), TimeZone: "Europe/Berlin", Paused: true, Notice: "Saved.", Errors: []string{"Time zone: unknown"}, UnsubscribeOK: true}
	pageSamples["unsubscribe.html"] = unsubData{State: "ask", Action: "/unsubscribe?t=1.0.x", PrefsURL: "/preferences?t=1.0.x"}
	pageSamples["message.html"] = messageData{Message: "This link is not valid.", LinkURL: "/subscribe", LinkText: "Sign up"}
}

// TestSignUpEmailTemplates executes both sign-up emails with and without
// a name and sections.
func TestSignUpEmailTemplates(t *testing.T) {
	sub := &subscriptions{opts: SubscribeOptions{From: &mail.Address{Name: "Pressroom", Address: "news@news.example"}}}
	if err := sub.parseMail(); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2017, 1, 29, 8, 0, 0, 0, time.UTC)
	for _, name := range []string{mailConfirm, mailActive} {
		for _, d := range []mailData{
			{Site: "Pressroom", Name: "Иван <b>", URL: "https://news.example/confirm?t=1.2.abc", BaseURL: "https://news.example", TTLDays: 7, Sections: []string{"World", "Sport & Games"}},
			{Site: "Pressroom", URL: "https://news.example/confirm?t=1.2.abc", BaseURL: "https://news.example", TTLDays: 7},
		} {
			m, err := sub.compose(name, d, news.Subscriber{ID: 42, Email: "reader@example.com", Name: d.Name}, now)
			if err != nil {
				t.Fatalf("compose %s: %v", name, err)
			}
			if err := m.Validate(); err != nil {
				t.Errorf("compose %s: %v", name, err)
			}
			if !strings.Contains(m.Text, d.URL) || !strings.Contains(m.HTML, `href="https://news.example/confirm?t=1.2.abc"`) {
				t.Errorf("compose %s: link missing:\n%s\n%s", name, m.Text, m.HTML)
			}
			if d.Name != "" && (!strings.Contains(m.HTML, "Иван &lt;b&gt;") || !strings.Contains(m.Text, "Hello Иван <b>,")) {
				t.Errorf("compose %s: name not shown (escaped in HTML):\n%s", name, m.HTML)
			}
			if strings.Contains(m.Subject, "\n") || m.Subject == "" {
				t.Errorf("compose %s: subject %q", name, m.Subject)
			}
			if name == mailConfirm && d.Sections != nil && !strings.Contains(m.Text, "World, Sport & Games") {
				t.Errorf("compose %s: sections missing from text:\n%s", name, m.Text)
			}
			if want := "subscribe-confirm.42."; name == mailConfirm && !strings.HasPrefix(m.MessageID, want) {
				t.Errorf("MessageID = %q, want prefix %q", m.MessageID, want)
			}
		}
	}
}
