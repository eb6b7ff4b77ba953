package feeds

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// hub is a WebSub hub run in the test: it records publish requests and
// fails the first failures of them with status failWith.
type hub struct {
	mu       sync.Mutex
	got      []string // hub.url of accepted publishes
	requests int
	failures int
	failWith int
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "want a form POST", http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("hub.mode") != "publish" || r.PostForm.Get("hub.url") == "" {
		http.Error(w, "want hub.mode=publish and hub.url", http.StatusBadRequest)
		return
	}
	if h.failures > 0 {
		h.failures--
		http.Error(w, "try later", h.failWith)
		return
	}
	h.got = append(h.got, r.PostForm.Get("hub.url"))
	w.WriteHeader(http.StatusNoContent)
}

func TestWebSubPublish(t *testing.T) {
	h := &hub{failures: 2, failWith: http.StatusServiceUnavailable}
	srv := httptest.NewServer(h)
	defer srv.Close()
	p := &WebSub{Hub: srv.URL, Backoff: time.Millisecond}
	topics := []string{"https://news.example.com/feeds/world.rss", "https://news.example.com/feeds/world.atom"}
	if err := p.Publish(context.Background(), topics); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if diff := cmp.Diff(topics, h.got); diff != "" {
		t.Errorf("hub got (-want +got):\n%s", diff)
	}
	if h.requests != 4 {
		t.Errorf("hub saw %d requests, want 4 (two 503s retried)", h.requests)
	}
}

func TestWebSubPublishGivesUp(t *testing.T) {
	h := &hub{failures: 100, failWith: http.StatusBadGateway}
	srv := httptest.NewServer(h)
	defer srv.Close()
	p := &WebSub{Hub: srv.URL, Attempts: 3, Backoff: time.Millisecond}
	err := p.Publish(context.Background(), []string{"https://news.example.com/feeds/top.rss"})
	if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "top.rss") {
		t.Errorf("Publish error = %v, want the 502 and the topic", err)
	}
	if h.requests != 3 {
		t.Errorf("hub saw %d requests, want 3 attempts", h.requests)
	}

	// A 4xx answer is not retried.
	h = &hub{failures: 100, failWith: http.StatusBadRequest}
	srv2 := httptest.NewServer(h)
	defer srv2.Close()
	p.Hub = srv2.URL
	if err := p.Publish(context.Background(), []string{"https://news.example.com/feeds/top.rss"}); err == nil {
		t.Error("Publish to a hub answering 400 succeeded")
	}
	if h.requests != 1 {
		t.Errorf("hub saw %d requests after a 400, want 1", h.requests)
	}
}

func TestChangedAndTopics(t *testing.T) {
	b := newFixtureBuilder(t)
	src := newFixtureSource()
	before, err := b.Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := Changed(nil, before); len(got) != len(before.Files) {
		t.Errorf("Changed(nil, set) = %d names, want all %d", len(got), len(before.Files))
	}
	src.articles[2].Title = "Soyuz MS-30 docked"
	after, err := b.Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	changed := Changed(before, after)
	want := []string{"all.atom", "all.json", "all.rss", "most-read.atom", "most-read.json", "most-read.rss",
		"science.atom", "science.json", "science.rss", "top.atom", "top.json", "top.rss"}
	if diff := cmp.Diff(want, changed); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}
	topics := b.Topics(after, append(changed, OPMLName))
	if len(topics) != len(want) || topics[0] != "https://news.example.com/feeds/all.atom" {
		t.Errorf("Topics = %v", topics)
	}
}
