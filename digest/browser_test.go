package digest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/pressroom/pressroom/internal/testtool"
)

// artifactDir is where the digest's browser tests save screenshots.
func artifactDir(t *testing.T) string { return testtool.ArtifactDir(t, "digest") }

// newBrowser starts headless chromium for the test.
func newBrowser(t *testing.T) context.Context { return testtool.Chromium(t, 0) }

// pageFacts is what the test measures in the rendered email.
type pageFacts struct {
	ScrollWidth    int       `json:"scrollWidth"`
	ClientWidth    int       `json:"clientWidth"`
	CardWidth      float64   `json:"cardWidth"`
	TitleLinks     []string  `json:"titleLinks"`
	Images         []imgFact `json:"images"`
	PreheaderShown bool      `json:"preheaderShown"`
	CardBackground string    `json:"cardBackground"`
	TitleColor     string    `json:"titleColor"`
	LeadColor      string    `json:"leadColor"`
	Unsubscribe    bool      `json:"unsubscribe"`
}

type imgFact struct {
	Alt      string  `json:"alt"`
	Width    float64 `json:"width"`
	Natural  int     `json:"natural"`
	Complete bool    `json:"complete"`
}

const factsJS = `(() => {
  const card = document.querySelector('table.pr-card');
  const pre = document.body.firstElementChild;
  const link = document.querySelector('h3 a');
  const lead = document.querySelector('h3 + p + p') || document.querySelector('h3');
  return {
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    cardWidth: card.getBoundingClientRect().width,
    titleLinks: Array.from(document.querySelectorAll('h3 a[href]')).map(a => a.href),
    images: Array.from(document.images).map(i => ({alt: i.alt, width: i.getBoundingClientRect().width, natural: i.naturalWidth, complete: i.complete})),
    preheaderShown: pre.getBoundingClientRect().height > 0 && getComputedStyle(pre).display !== 'none',
    cardBackground: getComputedStyle(card.querySelector('td')).backgroundColor,
    titleColor: getComputedStyle(link).color,
    leadColor: getComputedStyle(lead).color,
    unsubscribe: Array.from(document.querySelectorAll('a')).some(a => a.textContent.trim() === 'Unsubscribe'),
  };
})()`

// thumbnailPNG is a 1200x800 image, bigger than the thumbnail slot.
func thumbnailPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 1200, 800))
	for y := 0; y < 800; y++ {
		for x := 0; x < 1200; x++ {
			img.Set(x, y, color.RGBA{uint8(x / 5), 90, uint8(y / 4), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestEmailInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	dir := artifactDir(t)
	pngData := thumbnailPNG(t)

	// The fixture's images are served by the test server, so the
	// thumbnails load; one URL is broken on purpose to check the email
	// stays readable without images.
	var pages = map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, ".png"):
			w.Header().Set("Content-Type", "image/png")
			w.Write(pngData)
		case pages[r.URL.Path] != "":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(pages[r.URL.Path]))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	ed := fixtureEdition(t)
	ed.Sections[0].Articles[0].Image.URL = srv.URL + "/img/p1.png"
	ed.Sections[1].Articles[0].Image.URL = srv.URL + "/img/missing.jpg"
	r := newFixtureRenderer(t)
	p, err := r.Prepare(ed)
	if err != nil {
		t.Fatal(err)
	}
	readers := map[string]struct {
		msg    Message
		titles int // article title links
		images int
	}{}
	for name, d := range map[string]func() Message{
		"anna": func() Message { m, err := p.Compose(readerAnna(), time.Time{}); must(t, err); return m },
		"bob":  func() Message { m, err := p.Compose(readerBob(), time.Time{}); must(t, err); return m },
	} {
		m := d()
		pages["/"+name] = m.HTML
		switch name {
		case "anna":
			readers[name] = struct {
				msg            Message
				titles, images int
			}{m, 3, 1}
		case "bob":
			readers[name] = struct {
				msg            Message
				titles, images int
			}{m, 1, 1}
		}
	}

	for _, name := range []string{"anna", "bob"} {
		want := readers[name]
		for _, vp := range []struct {
			label string
			width int64
			dark  bool
		}{{"desktop", 1280, false}, {"phone", 390, false}, {"phone-dark", 390, true}} {
			t.Run(name+"/"+vp.label, func(t *testing.T) {
				scheme := "light"
				if vp.dark {
					scheme = "dark"
				}
				sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				defer cancel()
				_, err := chromedp.Call(sctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
					Width: vp.width, Height: 900, DeviceScaleFactor: 1, Mobile: vp.width < 600})
				if err == nil {
					_, err = chromedp.Call(sctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
						Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
				}
				if err == nil {
					err = chromedp.Do(sctx,
						chromedp.Navigate(srv.URL+"/"+name),
						chromedp.WaitReady(chromedp.CSS("body")),
					)
				}
				if err == nil {
					_, err = chromedp.Run(sctx, chromedp.Poll[bool](`Array.from(document.images).every(i => i.complete)`, chromedp.WithPollingTimeout(20*time.Second)))
				}
				var facts pageFacts
				if err == nil {
					facts, err = chromedp.Run(sctx, chromedp.Evaluate[pageFacts](factsJS))
				}
				var shot []byte
				if err == nil {
					shot, err = chromedp.Run(sctx, chromedp.FullScreenshot(100))
				}
				if err != nil {
					t.Fatalf("chromium: %v", err)
				}
				file := filepath.Join(dir, fmt.Sprintf("%s-%s.png", name, vp.label))
				if err := os.WriteFile(file, shot, 0o644); err != nil {
					t.Fatal(err)
				}

				if facts.ScrollWidth > facts.ClientWidth {
					t.Errorf("horizontal overflow: page is %d px wide in a %d px viewport", facts.ScrollWidth, facts.ClientWidth)
				}
				if facts.CardWidth > 640 {
					t.Errorf("content is %.0f px wide, want at most 640", facts.CardWidth)
				}
				if vp.width < 640 && facts.CardWidth > float64(vp.width) {
					t.Errorf("content is %.0f px wide on a %d px phone", facts.CardWidth, vp.width)
				}
				if len(facts.TitleLinks) != want.titles {
					t.Errorf("%d title links (%v), want %d", len(facts.TitleLinks), facts.TitleLinks, want.titles)
				}
				for _, l := range facts.TitleLinks {
					if !strings.HasPrefix(l, "https://press.example.com/") {
						t.Errorf("title link %q does not go to the site", l)
					}
				}
				if len(facts.Images) != want.images {
					t.Errorf("%d images, want %d", len(facts.Images), want.images)
				}
				for _, img := range facts.Images {
					if strings.TrimSpace(img.Alt) == "" {
						t.Errorf("an image has no alt text")
					}
					if img.Width > 120.5 {
						t.Errorf("thumbnail shown %.0f px wide, want at most 120", img.Width)
					}
				}
				if name == "anna" && (len(facts.Images) == 0 || facts.Images[0].Natural != 1200) {
					t.Errorf("the served thumbnail did not load: %+v", facts.Images)
				}
				if facts.PreheaderShown {
					t.Errorf("the preheader is visible")
				}
				if !facts.Unsubscribe {
					t.Errorf("no Unsubscribe link")
				}
				light := vp.dark == false
				if light && (facts.CardBackground != "rgb(255, 255, 255)" || facts.LeadColor != "rgb(28, 28, 28)") {
					t.Errorf("light scheme: card %s, text %s; want white card, dark text", facts.CardBackground, facts.LeadColor)
				}
				if vp.dark && (facts.CardBackground != "rgb(29, 29, 31)" || facts.TitleColor != "rgb(138, 180, 248)" || facts.LeadColor != "rgb(236, 236, 236)") {
					t.Errorf("dark scheme: card %s, title %s, text %s; want a dark card with light text", facts.CardBackground, facts.TitleColor, facts.LeadColor)
				}
			})
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
