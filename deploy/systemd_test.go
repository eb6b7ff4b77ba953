package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pressroom/pressroom/internal/testtool"
)

// TestSystemdUnit checks deploy/systemd/pressroom.service with systemd's
// own tools: `systemd-analyze verify` (syntax, directives, the binary is
// executable) and the offline security review, whose exposure score (0 is
// fully locked down, 10 is unprotected) must stay at or below 2.0.
func TestSystemdUnit(t *testing.T) {
	analyze := testtool.Require(t, "systemd", "systemd-analyze")
	raw, err := os.ReadFile(filepath.Join("systemd", "pressroom.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	for _, want := range []string{
		"User=pressroom", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=pressroom",
		"ExecStart=/usr/local/bin/pressroom serve",
	} {
		if !strings.Contains(unit, "\n"+want) {
			t.Errorf("pressroom.service lacks %q", want)
		}
	}

	// verify insists that ExecStart's program exists: point it at a built
	// binary instead of /usr/local/bin/pressroom, changing nothing else.
	bin := buildPressroom(t)
	if n := strings.Count(unit, "/usr/local/bin/pressroom"); n != 1 {
		t.Fatalf("pressroom.service names /usr/local/bin/pressroom %d times, want 1", n)
	}
	path := filepath.Join(t.TempDir(), "pressroom.service")
	if err := os.WriteFile(path, []byte(strings.Replace(unit, "/usr/local/bin/pressroom", bin, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	out, err := exec.Command(analyze, "security", "--offline=yes", "--threshold=20", path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for pressroom\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no overall exposure level (%v):\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || score > 2.0 {
		t.Errorf("systemd-analyze security: exposure %.1f (%v), want at most 2.0:\n%s", score, err, out)
	}
}

// TestDocIncludesFiles keeps docs/deploy.md and the files it tells
// operators to install identical.
func TestDocIncludesFiles(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nginx/pressroom.conf", "systemd/pressroom.service"} {
		b, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "\n"+string(b)+"```\n") {
			t.Errorf("docs/deploy.md does not include deploy/%s verbatim in a code block", name)
		}
	}
}
