package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// WebSub tells a WebSub hub that feeds changed: one POST of
// hub.mode=publish&hub.url=TOPIC per feed, retried with exponential
// backoff on network errors, 429 and 5xx answers. Feeds name the hub with
// rel="hub" links when Options.Hub is set.
type WebSub struct {
	Hub      string       // the hub's publish endpoint (absolute URL)
	Client   *http.Client // default: a client with a 10-second timeout
	Attempts int          // tries per feed; default 3
	Backoff  time.Duration
	// Backoff is the wait before the first retry, doubled for each next
	// one; default 1 second.
	Logger *slog.Logger // default: discard
}

// Publish notifies the hub of each topic (feed URL). It returns the
// failures joined, after trying every topic.
func (p *WebSub) Publish(ctx context.Context, topics []string) error {
	var errs []error
	for _, t := range topics {
		if err := p.publish(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *WebSub) publish(ctx context.Context, topic string) error {
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	attempts := max(p.Attempts, 1)
	if p.Attempts == 0 {
		attempts = 3
	}
	wait := p.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	form := url.Values{"hub.mode": {"publish"}, "hub.url": {topic}}.Encode()
	var last error
	for i := 1; i <= attempts; i++ {
		retry, err := p.post(ctx, client, form)
		if err == nil {
			logger.Info("WebSub hub notified", "hub", p.Hub, "topic", topic, "attempt", i)
			return nil
		}
		last = err
		if !retry || i == attempts {
			break
		}
		logger.Warn("WebSub publish failed, retrying", "hub", p.Hub, "topic", topic, "attempt", i, "retry_in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("feeds: websub publish %s: %w", topic, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
	return fmt.Errorf("feeds: websub publish %s: %w", topic, last)
}

// post sends one publish request; retry says whether a failure may pass.
func (p *WebSub) post(ctx context.Context, client *http.Client, form string) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Hub, strings.NewReader(form))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Pressroom (WebSub publisher)")
	resp, err := client.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err = fmt.Errorf("hub answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, err
}

// Topics returns the feed URLs of the named files of set (OPML excluded),
// for Publish.
func (b *Builder) Topics(set *Set, names []string) []string {
	var topics []string
	for _, n := range names {
		if f, ok := set.File(n); ok && f.Format != "" {
			topics = append(topics, b.FeedURL(f.Feed, f.Format))
		}
	}
	return topics
}

// Changed returns the names of the files of next that are new or differ
// from prev (nil prev: all of them).
func Changed(prev, next *Set) []string {
	var names []string
	for _, f := range next.Files {
		if prev != nil {
			if old, ok := prev.File(f.Name); ok && old.ETag == f.ETag {
				continue
			}
		}
		names = append(names, f.Name)
	}
	return names
}
