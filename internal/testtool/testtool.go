// Package testtool lets tests find the external programs they need
// (chromium, nginx, smtp-sink, ...). A test that needs one calls Require:
// on a developer machine without the program the test is skipped with a
// message saying what to install; in CI, where PRESSROOM_REQUIRE_TOOLS=1,
// a missing program fails the test instead, so nothing is skipped there.
// It also holds the few small helpers tests in several packages share.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether missing tools must fail tests (CI) rather than
// skip them.
func Required() bool { return os.Getenv("PRESSROOM_REQUIRE_TOOLS") == "1" }

// Require returns the path of the first of names found on PATH (or as an
// absolute path). Without any, it skips the test, or fails it when
// PRESSROOM_REQUIRE_TOOLS=1. pkg names the Debian package that provides
// the program, for the message.
func Require(t testing.TB, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := "needs " + names[0] + " (Debian package " + pkg + "): not found on PATH"
	if Required() {
		t.Fatalf("%s, and PRESSROOM_REQUIRE_TOOLS=1 forbids skipping", msg)
	}
	t.Skipf("%s; install it or run .ci/run", msg)
	return ""
}
