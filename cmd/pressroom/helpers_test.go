package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe for a command writing while the
// test reads (serve and demo run in the background).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// result is what one run of pressroom produced.
type result struct {
	code           int
	stdout, stderr string
}

// pressroom runs the command line args with stdin and returns the exit
// code and output.
func pressroom(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut lockedBuffer
	var in io.Reader = strings.NewReader(stdin)
	code := run(context.Background(), args, in, &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// want fails the test unless r exited with code and stderr contains
// every one of wantErr.
func (r result) want(t *testing.T, code int, wantErr ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range wantErr {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q; stderr:\n%s", w, r.stderr)
		}
	}
}
