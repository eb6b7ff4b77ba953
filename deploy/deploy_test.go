// Package deploy_test checks the deployment files in this directory
// (the nginx site and the systemd unit that docs/deploy.md tells operators
// to install) by using them: Debian's nginx runs the documented site
// config in front of a real `pressroom serve`, and systemd-analyze checks
// the unit.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/pressroom/pressroom/internal/testtool"
)

// moduleRoot is the directory holding go.mod (the tests run in deploy/).
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return dir
}

// builtBinary is the pressroom binary TestMain builds once for all tests.
var builtBinary string

// TestMain compiles cmd/pressroom once: the tests run the real binary an
// operator would install.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pressroom-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builtBinary = filepath.Join(dir, "pressroom")
	cmd := exec.Command("go", "build", "-o", builtBinary, "./cmd/pressroom")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/pressroom: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildPressroom returns the binary TestMain built.
func buildPressroom(t *testing.T) string {
	t.Helper()
	return builtBinary
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pressroom runs one pressroom command to completion against the
// environment env, fails the test when it fails, and returns its
// standard output.
func pressroom(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pressroom %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// startProcess starts cmd, stops it with sig when the test ends, and
// returns a channel closed when it exits.
func startProcess(t *testing.T, cmd *exec.Cmd, stop os.Signal) <-chan struct{} {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(stop)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("%s did not stop on %v within 15s", filepath.Base(cmd.Path), stop)
		}
	})
	return exited
}

// waitHTTP polls url until it answers 200, the process exits, or 20s pass.
func waitHTTP(t *testing.T, url string, exited <-chan struct{}, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("process exited before %s answered:\n%s", url, logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within 20s (last error %v):\n%s", url, err, logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// siteConfig reads deploy/nginx/pressroom.conf and makes the only
// changes a test machine needs: the ports, and the two absolute paths
// (cache and access log) moved under prefix. Every substitution must
// match exactly once, so the documented file cannot drift away from the
// tested one unnoticed.
func siteConfig(t *testing.T, prefix string, listenPort, upstreamPort int) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("nginx", "pressroom.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(raw)
	for _, r := range []struct{ old, new string }{
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", listenPort)},
		{"server 127.0.0.1:8080;", fmt.Sprintf("server 127.0.0.1:%d;", upstreamPort)},
		{"/var/cache/nginx/", filepath.Join(prefix, "cache") + "/"},
		{"/var/log/nginx/", filepath.Join(prefix, "logs") + "/"},
	} {
		if n := strings.Count(conf, r.old); n != 1 {
			t.Fatalf("deploy/nginx/pressroom.conf: %q occurs %d times, want 1", r.old, n)
		}
		conf = strings.Replace(conf, r.old, r.new, 1)
	}
	return conf
}

// proxy is a running nginx with the documented site config.
type proxy struct {
	base   string // http://127.0.0.1:PORT
	prefix string // nginx's -p directory: config, logs, cache
}

// errorLog returns nginx's error log, for failure messages.
func (p *proxy) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(p.prefix, "logs", "error.log"))
	return "nginx error log:\n" + string(b)
}

// accessLog returns the site's access log.
func (p *proxy) accessLog() string {
	b, _ := os.ReadFile(filepath.Join(p.prefix, "logs", "pressroom.access.log"))
	return string(b)
}

// startNginx runs Debian's nginx in the foreground as a child of the test
// with the documented site config in front of upstreamPort.
func startNginx(t *testing.T, upstreamPort int) *proxy {
	t.Helper()
	nginx := testtool.Require(t, "nginx-light", "nginx")
	prefix := t.TempDir()
	for _, d := range []string{"cache", "logs", "tmp"} {
		if err := os.Mkdir(filepath.Join(prefix, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	site := filepath.Join(prefix, "pressroom.conf")
	if err := os.WriteFile(site, []byte(siteConfig(t, prefix, port, upstreamPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The main config stands in for Debian's /etc/nginx/nginx.conf, which
	// includes sites-enabled/* inside http{}. Temp paths are moved out of
	// /var/lib/nginx so the test writes only under prefix.
	userLine := ""
	if os.Geteuid() == 0 {
		// As root, workers would switch to "nobody", who cannot enter
		// the test's 0700 temp dirs: keep them as the test's user.
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		userLine = "user " + u.Username + ";"
	}
	mainConf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
%[2]s
events { worker_connections 256; }
http {
    default_type application/octet-stream;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[3]s;
}
`, prefix, userLine, site)
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(mainConf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &proxy{base: fmt.Sprintf("http://127.0.0.1:%d", port), prefix: prefix}
	errorLog := filepath.Join(prefix, "logs", "error.log")
	test := exec.Command(nginx, "-t", "-p", prefix, "-c", confPath, "-e", errorLog)
	if out, err := test.CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(nginx, "-p", prefix, "-c", confPath, "-e", errorLog)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// SIGQUIT: graceful shutdown.
	exited := startProcess(t, cmd, syscall.SIGQUIT)
	waitHTTP(t, p.base+"/healthz", exited, func() string { return out.String() + p.errorLog() })
	return p
}

// server is a running `pressroom serve` with a loaded database.
type server struct {
	bin   string
	env   []string
	port  int
	logs  *syncBuffer
	token string // an admin API token
}

// startServe loads the demo sections and articles into a fresh database
// with the CLI and starts `pressroom serve` on a free port.
func startServe(t *testing.T) *server {
	t.Helper()
	bin := buildPressroom(t)
	dir := t.TempDir()
	demo := filepath.Join(moduleRoot(t), "cmd", "pressroom", "demodata")
	env := []string{
		"PRESSROOM_DB=" + filepath.Join(dir, "pressroom.db"),
		"PRESSROOM_BASE_URL=https://news.example.com",
		"PRESSROOM_OUTBOX=" + filepath.Join(dir, "outbox"),
	}
	pressroom(t, bin, env, "migrate")
	loadSections(t, bin, env, filepath.Join(demo, "sections.jsonl"))
	pressroom(t, bin, env, "import", filepath.Join(demo, "articles.jsonl"))

	token := strings.TrimSpace(pressroom(t, bin, env, "tokens", "create", "deploy-test"))
	s := &server{bin: bin, env: env, port: freePort(t), logs: &syncBuffer{}, token: token}
	cmd := exec.Command(bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", s.port))
	cmd.Env = append(os.Environ(), append(env, "PRESSROOM_LOG_FORMAT=json")...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	exited := startProcess(t, cmd, os.Interrupt)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", s.port), exited, s.logs.String)
	return s
}

// loadSections adds each section of a sections.jsonl file with
// `pressroom sections add`.
func loadSections(t *testing.T, bin string, env []string, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var sec struct {
			Slug, Title, Description string
			Position                 int
		}
		if err := json.Unmarshal(sc.Bytes(), &sec); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		pressroom(t, bin, env, "sections", "add", "--description", sec.Description,
			"--position", strconv.Itoa(sec.Position), sec.Slug, sec.Title)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// get fetches url with extra request headers.
func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp, body
}

// TestNginxInFrontOfServe runs the documented nginx site in front of a
// real `pressroom serve` and checks what the site config promises.
func TestNginxInFrontOfServe(t *testing.T) {
	testtool.Require(t, "nginx-light", "nginx") // before the slow build
	s := startServe(t)
	p := startNginx(t, s.port)
	base := p.base

	t.Run("index page", func(t *testing.T) {
		resp, body := get(t, base+"/", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET / = %d, want 200\n%s", resp.StatusCode, p.errorLog())
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET / Content-Type = %q, want text/html", ct)
		}
		if !bytes.Contains(body, []byte("Russian Politics &amp; Diplomacy")) {
			t.Errorf("GET / does not list the politics section:\n%s", body)
		}
	})

	t.Run("request id forwarded both ways", func(t *testing.T) {
		resp, _ := get(t, base+"/healthz", map[string]string{"X-Request-Id": "deploy-test-4711"})
		if got := resp.Header.Get("X-Request-Id"); got != "deploy-test-4711" {
			t.Errorf("X-Request-Id = %q, want the client's deploy-test-4711", got)
		}
		// Without one, nginx makes one ($request_id: 32 hex digits) and the
		// service uses it.
		resp, _ = get(t, base+"/healthz", nil)
		id := resp.Header.Get("X-Request-Id")
		if len(id) != 32 {
			t.Fatalf("X-Request-Id = %q, want nginx's 32-hex-digit $request_id", id)
		}
		waitFor(t, "the service's request log to carry "+id, func() bool {
			return strings.Contains(s.logs.String(), `"request_id":"`+id+`"`)
		})
		waitFor(t, "nginx's access log to carry "+id, func() bool {
			return strings.Contains(p.accessLog(), "request_id="+id)
		})
	})

	t.Run("feed cached by nginx, 304 for a known ETag", func(t *testing.T) {
		resp, body := get(t, base+"/feeds/politics.rss", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /feeds/politics.rss = %d\n%s", resp.StatusCode, p.errorLog())
		}
		feed, err := gofeed.NewParser().ParseString(string(body))
		if err != nil {
			t.Fatalf("parse the feed nginx served: %v", err)
		}
		if len(feed.Items) != 8 || feed.Items[0].Link == "" {
			t.Errorf("politics feed through nginx has %d items, want the demo's 8", len(feed.Items))
		}
		etag := resp.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) {
			t.Errorf("ETag %q: nginx must pass the service's strong ETag", etag)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
			t.Errorf("Cache-Control = %q, want a max-age", cc)
		}
		// The second request is answered from nginx's cache.
		resp, body2 := get(t, base+"/feeds/politics.rss", nil)
		if got := resp.Header.Get("X-Cache-Status"); got != "HIT" {
			t.Errorf("second GET X-Cache-Status = %q, want HIT", got)
		}
		if !bytes.Equal(body, body2) {
			t.Error("the cached feed differs from the first answer")
		}
		resp, body = get(t, base+"/feeds/politics.rss", map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("conditional GET = %d with %d bytes, want 304 and no body", resp.StatusCode, len(body))
		}
		// gzip: the service compresses, nginx keeps the variant apart.
		resp, gz := get(t, base+"/feeds/politics.rss", map[string]string{"Accept-Encoding": "gzip"})
		if resp.Header.Get("Content-Encoding") != "gzip" || bytes.Equal(gz, body2) {
			t.Errorf("gzip variant: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		resp, _ = get(t, base+"/feeds.opml", nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /feeds.opml = %d", resp.StatusCode)
		}
	})

	t.Run("subscribe page", func(t *testing.T) {
		resp, body := get(t, base+"/subscribe", nil)
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`<form`)) {
			t.Fatalf("GET /subscribe = %d:\n%s", resp.StatusCode, body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); csp == "" {
			t.Error("the subscribe page lost its Content-Security-Policy through nginx")
		}
	})

	t.Run("admin API through nginx", func(t *testing.T) {
		resp, _ := get(t, base+"/api/editions/2026-11-27", nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /api/editions without a token = %d, want 401", resp.StatusCode)
		}
		resp, _ = get(t, base+"/api/editions/2026-11-27", map[string]string{"Authorization": "Bearer " + s.token})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /api/editions/2026-11-27 with the token = %d, want 404 (no edition planned)", resp.StatusCode)
		}
		resp, _ = get(t, base+"/metrics", nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /metrics from localhost = %d, want 200", resp.StatusCode)
		}
	})

	t.Run("stylesheet revalidates with 304", func(t *testing.T) {
		resp, _ := get(t, base+"/static/style.css", nil)
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || etag == "" {
			t.Fatalf("GET /static/style.css = %d with ETag %q, want 200 with an ETag", resp.StatusCode, etag)
		}
		resp, body := get(t, base+"/static/style.css", map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("conditional GET = %d with %d bytes, want 304 and no body", resp.StatusCode, len(body))
		}
	})

	t.Run("body size caps", func(t *testing.T) {
		for _, c := range []struct {
			path string
			size int64
			want int
		}{
			{"/api/articles", 32<<20 + 1, http.StatusRequestEntityTooLarge},
			{"/subscribe", 1<<20 + 1, http.StatusRequestEntityTooLarge},
		} {
			if got := postDeclaredLength(t, base, c.path, c.size); got != c.want {
				t.Errorf("POST %s with Content-Length %d = %d, want %d", c.path, c.size, got, c.want)
			}
		}
	})
}

// postDeclaredLength sends a POST whose Content-Length announces size
// bytes without sending them, and returns the status nginx answers: it
// refuses an oversized body from the header alone.
func postDeclaredLength(t *testing.T, base, path string, size int64) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: news.example.com\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n", path, size)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond for up to 5s: log lines are written after the
// response has been sent.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Errorf("timed out waiting for %s", what)
}
