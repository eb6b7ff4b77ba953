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

	// verify insists that ExecStart's program exists: point the units at
	// a built binary instead of /usr/local/bin/pressroom, changing nothing
	// else. The timer is verified with the service it starts.
	bin := buildPressroom(t)
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"pressroom.service", "pressroom-backup.service", "pressroom-backup.timer"} {
		raw, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if strings.HasSuffix(name, ".service") {
			if n := strings.Count(text, "/usr/local/bin/pressroom"); n != 1 {
				t.Fatalf("%s names /usr/local/bin/pressroom %d times, want 1", name, n)
			}
			text = strings.Replace(text, "/usr/local/bin/pressroom", bin, 1)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if out, err := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	for _, p := range paths[:2] {
		name := filepath.Base(p)
		out, err := exec.Command(analyze, "security", "--offline=yes", "--threshold=20", p).CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(name) + `: ([0-9.]+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("systemd-analyze security %s: no overall exposure level (%v):\n%s", name, err, out)
		}
		score, _ := strconv.ParseFloat(string(m[1]), 64)
		if err != nil || score > 2.0 {
			t.Errorf("systemd-analyze security %s: exposure %.1f (%v), want at most 2.0:\n%s", name, score, err, out)
		}
	}
}

// TestExampleConfig checks that the documented configuration file is
// one pressroom accepts, value by value.
func TestExampleConfig(t *testing.T) {
	cmd := exec.Command(buildPressroom(t), "config", "--config", filepath.Join("pressroom.example.toml"))
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pressroom config --config deploy/pressroom.example.toml: %v\n%s", err, out)
	}
	for _, want := range []string{
		"db = '/var/lib/pressroom/pressroom.db'", "addr = '127.0.0.1:8080'",
		"postal-address = 'Example News Ltd, 1 Example Street, Moscow 125009, Russia'",
		"smtp-url = 'smtp://digest:<redacted>@mail.example.com:587?tls=starttls'",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pressroom config output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "CHANGE-ME") {
		t.Error("pressroom config shows the SMTP password")
	}
}

// TestDocIncludesFiles keeps docs/deploy.md and the files it tells
// operators to install identical.
func TestDocIncludesFiles(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nginx/pressroom.conf", "systemd/pressroom.service",
		"systemd/pressroom-backup.service", "systemd/pressroom-backup.timer", "pressroom.example.toml"} {
		b, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "\n"+string(b)+"```\n") {
			t.Errorf("docs/deploy.md does not include deploy/%s verbatim in a code block", name)
		}
	}
}
