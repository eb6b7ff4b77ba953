package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeStopsOnSIGTERM builds the real binary and checks main's signal
// wiring: SIGTERM (and SIGINT) make serve shut down gracefully, exit 0,
// and leave a database that opens cleanly.
func TestServeStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pressroom")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := newsroom(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--db", db)
			cmd.Env = append(os.Environ(), "PRESSROOM_LOG_FORMAT=json")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("reading serve's first line: %v; stderr:\n%s", err, stderr.String())
			}
			m := regexp.MustCompile(`serving (http://\S+) `).FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("first line %q", line)
			}
			if code, body := httpGet(t, m[1]+"/healthz"); code != 200 || body != "ok\n" {
				t.Fatalf("healthz = %d %q", code, body)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			go io.Copy(io.Discard, stdout)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("serve after %v: %v; stderr:\n%s", sig, err, stderr.String())
			}
			for _, want := range []string{`"msg":"Shutting down"`, `"msg":"Stopped"`} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("log lacks %s:\n%s", want, stderr.String())
				}
			}
		})
	}
	pressroom(t, "", "sections", "list", "--db", db).want(t, 0)
}
