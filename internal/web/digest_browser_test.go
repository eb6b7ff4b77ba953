package web

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// archiveFacts is what the browser test measures on an archive page.
type archiveFacts struct {
	ScrollWidth int     `json:"scrollWidth"`
	ClientWidth int     `json:"clientWidth"`
	CardWidth   float64 `json:"cardWidth"`
	CardBG      string  `json:"cardBG"`
	H1Font      string  `json:"h1Font"`
	Links       int     `json:"links"`
}

// TestDigestArchiveInBrowser loads an edition page from the server, with
// its Content-Security-Policy, in chromium at phone width: the email's
// inline styles must apply (the CSP allows them) and nothing overflows.
func TestDigestArchiveInBrowser(t *testing.T) {
	srv, _ := archiveServer(t, true)
	ctx := newChromium(t)
	dir := webArtifactDir(t)
	for _, width := range []int64{390, 1280} {
		if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: width, Height: 900, DeviceScaleFactor: 1, Mobile: width < 600}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/digest/2017-01-29"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatal(err)
		}
		facts, err := chromedp.Run(ctx, chromedp.Evaluate[archiveFacts](`(() => {
			const card = document.querySelector('table.pr-card');
			return {
				scrollWidth: document.documentElement.scrollWidth,
				clientWidth: document.documentElement.clientWidth,
				cardWidth: card.getBoundingClientRect().width,
				cardBG: getComputedStyle(card).backgroundColor,
				h1Font: getComputedStyle(document.querySelector('h1')).fontFamily,
				links: document.querySelectorAll('h3 a[href^="https://press.example.com/"]').length,
			};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "digest-archive-"+map[int64]string{390: "phone", 1280: "desktop"}[width]+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		if facts.ScrollWidth > facts.ClientWidth {
			t.Errorf("%d px: page is %d px wide, overflows", width, facts.ScrollWidth)
		}
		if facts.CardWidth > 640 || facts.CardWidth > float64(width) {
			t.Errorf("%d px: content %.0f px wide", width, facts.CardWidth)
		}
		if facts.CardBG != "rgb(255, 255, 255)" || facts.H1Font == "" || facts.H1Font[:7] != "Georgia" {
			t.Errorf("%d px: inline styles not applied under the page's CSP: card %s, h1 font %q", width, facts.CardBG, facts.H1Font)
		}
		if facts.Links != 2 {
			t.Errorf("%d px: %d article title links, want 2", width, facts.Links)
		}
	}
}
