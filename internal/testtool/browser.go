package testtool

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ArtifactDir returns (creating it) the folder where tests of area save
// screenshots and other artifacts: $PRESSROOM_ARTIFACTS/area, or
// pressroom-artifacts/area in the system temp directory. It logs the
// folder so a reader of the test output can find them.
func ArtifactDir(t testing.TB, area string) string {
	t.Helper()
	base := os.Getenv("PRESSROOM_ARTIFACTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "pressroom-artifacts")
	}
	dir := filepath.Join(base, area)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// Chromium starts headless Debian chromium for one test (skipping, or
// failing in CI, when it is not installed) and returns a chromedp context
// for it, closed when the test ends. The flags keep chromium, run as root
// on a machine with a closed network, from sandboxing and from reaching
// out. timeout bounds the returned context (0: none); extra adds
// allocator options such as a window size.
func Chromium(t testing.TB, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := Require(t, "chromium", "chromium", "chromium-browser")
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	// The first action starts the browser, which lives as long as that
	// action's context: it must not carry the test's deadline.
	if err := chromedp.Do(bctx); err != nil {
		cancelB()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	if timeout <= 0 {
		t.Cleanup(func() { cancelB(); cancelA() })
		return bctx
	}
	ctx, cancelT := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	return ctx
}
