package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/testtool"
)

// webArtifactDir is where the web browser tests save screenshots.
func webArtifactDir(t *testing.T) string { return testtool.ArtifactDir(t, "web") }

// newChromium starts headless Debian chromium for one test.
func newChromium(t *testing.T) context.Context { return testtool.Chromium(t, 90*time.Second) }

// indexFacts is what the browser test measures on the index page.
type indexFacts struct {
	Lang           string   `json:"lang"`
	ScrollWidth    int      `json:"scrollWidth"`
	ClientWidth    int      `json:"clientWidth"`
	FontSize       float64  `json:"fontSize"`
	H1             int      `json:"h1"`
	UnnamedLinks   []string `json:"unnamedLinks"`
	HeaderBorder   string   `json:"headerBorder"`
	MinContrast    float64  `json:"minContrast"`
	LowContrastFor string   `json:"lowContrastFor"`
	SectionsNamed  bool     `json:"sectionsNamed"`
}

// indexFactsJS measures layout, naming and the contrast of every text
// element against the page background (WCAG relative luminance).
const indexFactsJS = `(() => {
  const rgb = s => (s.match(/[\d.]+/g) || [0,0,0]).slice(0,3).map(Number);
  const lum = c => { const [r,g,b] = c.map(v => { v /= 255; return v <= 0.03928 ? v/12.92 : Math.pow((v+0.055)/1.055, 2.4); }); return 0.2126*r + 0.7152*g + 0.0722*b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const bg = rgb(getComputedStyle(document.body).backgroundColor);
  let min = 21, minFor = '';
  for (const el of document.querySelectorAll('h1, h2, p, a, time, strong, li')) {
    if (!el.textContent.trim() || el.getBoundingClientRect().width === 0) continue;
    const r = ratio(rgb(getComputedStyle(el).color), bg);
    if (r < min) { min = r; minFor = el.tagName + ' ' + el.className; }
  }
  return {
    lang: document.documentElement.lang,
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    fontSize: parseFloat(getComputedStyle(document.body).fontSize),
    h1: document.querySelectorAll('h1').length,
    unnamedLinks: Array.from(document.querySelectorAll('a')).filter(a => !a.textContent.trim()).map(a => a.href),
    headerBorder: getComputedStyle(document.querySelector('header.site')).borderBottomWidth,
    minContrast: min,
    lowContrastFor: minFor,
    sectionsNamed: Array.from(document.querySelectorAll('section')).every(s => {
      const h = document.getElementById(s.getAttribute('aria-labelledby'));
      return h && h.textContent.trim() !== '';
    }),
  };
})()`

// TestIndexInBrowser renders the index page in headless chromium at phone
// and desktop widths: no sideways scrolling on a phone, readable text
// size, the stylesheet applied under the page's CSP, every link and
// section named, enough contrast, and the skip link first in focus order.
func TestIndexInBrowser(t *testing.T) {
	st := demoStore(t)
	long := strings.Repeat("Очень длинный заголовок о переговорах в Москве ", 4)
	st.articles["sport"] = []news.Article{{ID: "9", URL: "https://tass.com/sport/9?utm=" + strings.Repeat("x", 120), Title: long, PublishedAt: fixedNow}}
	s, _ := newTestServer(t, st)
	srv := httptest.NewServer(s)
	defer srv.Close()
	dir := webArtifactDir(t)
	ctx := newChromium(t)

	for _, vp := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"phone", 375, 812, true}, {"desktop", 1280, 900, false}} {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(2)}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		if err := chromedp.Do(ctx,
			chromedp.EmulateViewport(vp.width, vp.height, opts...),
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS("main h1")),
		); err != nil {
			t.Fatalf("%s: %v", vp.name, err)
		}
		facts, err := chromedp.Run(ctx, chromedp.Evaluate[indexFacts](indexFactsJS))
		if err != nil {
			t.Fatalf("%s: measure: %v", vp.name, err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", vp.name, err)
		}
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatalf("%s: %v", vp.name, err)
		}
		focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.textContent`))
		if err != nil {
			t.Fatalf("%s: %v", vp.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("index-%s.png", vp.name)), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		if facts.ScrollWidth > facts.ClientWidth {
			t.Errorf("%s: page is %dpx wide in a %dpx viewport (sideways scrolling)", vp.name, facts.ScrollWidth, facts.ClientWidth)
		}
		if facts.FontSize < 16 {
			t.Errorf("%s: body text %.1fpx, want at least 16px", vp.name, facts.FontSize)
		}
		if facts.HeaderBorder != "3px" {
			t.Errorf("%s: stylesheet not applied (header border %q); blocked by the CSP?", vp.name, facts.HeaderBorder)
		}
		if facts.Lang != "en" || facts.H1 != 1 || len(facts.UnnamedLinks) > 0 || !facts.SectionsNamed {
			t.Errorf("%s: lang %q, %d h1, unnamed links %v, sections named %v", vp.name, facts.Lang, facts.H1, facts.UnnamedLinks, facts.SectionsNamed)
		}
		if facts.MinContrast < 4.5 {
			t.Errorf("%s: contrast %.2f:1 for %s, want at least 4.5:1 (WCAG AA)", vp.name, facts.MinContrast, facts.LowContrastFor)
		}
		if focused != "Skip to content" {
			t.Errorf("%s: first Tab focuses %q, want the skip link", vp.name, focused)
		}
	}
}
