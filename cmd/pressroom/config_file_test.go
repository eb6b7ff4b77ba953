package main

import (
	"regexp"
	"strings"
	"testing"
)

// configLines parses `pressroom config` output into key -> [value, source].
func configLines(t *testing.T, out string) map[string][2]string {
	t.Helper()
	re := regexp.MustCompile(`^([a-z0-9-]+) = '([^']*)'\s+# (.+)$`)
	got := map[string][2]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("config line %q is not key = 'value'  # source", l)
		}
		got[m[1]] = [2]string{m[2], m[3]}
	}
	return got
}

func TestConfigFilePrecedence(t *testing.T) {
	file := writeFile(t, "pressroom.toml", `# Pressroom settings
db = "file.db"
tz = "Asia/Tokyo"
addr = "127.0.0.1:7000"
shutdown-timeout = "45s"
smtp-workers = 8
rate = 2.5
smtp-url = "smtp://digest:hunter2@mail.example.com:587"
secret = "0123456789abcdef0123456789abcdef"
cutoff = "09:00"
`)
	t.Setenv("PRESSROOM_TZ", "UTC")
	t.Setenv("PRESSROOM_DIGEST_CUTOFF", "07:30") // a feature's own variable name
	t.Setenv("PRESSROOM_ADDR", "127.0.0.1:7001")
	r := pressroom(t, "", "config", "--config", file, "--addr", "127.0.0.1:7002", "--log-level", "debug")
	r.want(t, 0)
	got := configLines(t, r.stdout)
	for key, want := range map[string][2]string{
		"db":               {"file.db", file + ":2"},     // file over default
		"tz":               {"UTC", "PRESSROOM_TZ"},      // environment over file
		"addr":             {"127.0.0.1:7002", "--addr"}, // flag over environment and file
		"log-level":        {"debug", "--log-level"},     // flag over default
		"shutdown-timeout": {"45s", file + ":5"},         // a duration from the file
		"smtp-workers":     {"8", file + ":6"},           // an integer
		"rate":             {"2.5", file + ":7"},         // a float
		"log-format":       {"auto", "default"},          // default
		"api-max-body":     {"32MiB", "default"},         // an ops setting
		"secret":           {"<redacted>", file + ":9"},  // a secret
		"smtp-url":         {"smtp://digest:<redacted>@mail.example.com:587", file + ":8"},
	} {
		if got[key] != want {
			t.Errorf("%s = %q, want %q", key, got[key], want)
		}
	}
	for _, secret := range []string{"hunter2", "0123456789abcdef"} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("config output shows the secret %q", secret)
		}
	}
	// The environment names the file too.
	t.Setenv("PRESSROOM_CONFIG", file)
	r = pressroom(t, "", "config")
	r.want(t, 0)
	if got := configLines(t, r.stdout)["db"]; got != [2]string{"file.db", file + ":2"} {
		t.Errorf("with PRESSROOM_CONFIG, db = %q", got)
	}
}

func TestConfigFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          []string
	}{
		{"unknown key", "db = \"x.db\"\n\nbase_url = \"https://news.example.com\"\n", []string{":3: unknown key \"base_url\"", `did you mean "base-url"`}},
		{"table", "db = \"x.db\"\n[serve]\naddr = \"x\"\n", []string{":2: unknown key \"serve\""}},
		{"bad value of a global", "db = \"x.db\"\ntz = \"Mars/Olympus\"\n", []string{":2: key \"tz\"", "unknown time zone"}},
		{"bad value of a serve flag", "smtp-workers = \"many\"\n", []string{":1: key \"smtp-workers\"", `invalid value "many"`}},
		{"wrong type", "rate = [1, 2]\n", []string{":1: key \"rate\"", "want a string, number or boolean"}},
		{"syntax", "db = \"x.db\"\nrate = = 1\n", []string{":2:"}},
		{"duplicate key", "db = \"a\"\ndb = \"b\"\n", []string{":2:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "bad.toml", tc.content)
			r := pressroom(t, "", "config", "--config", file)
			r.want(t, 2, append([]string{file}, tc.want...)...)
			// Every command reads the file and refuses unknown keys and bad
			// syntax; a value is checked by the commands that use it.
			if !strings.Contains(tc.name, "serve flag") {
				pressroom(t, "", "sections", "list", "--config", file).want(t, 2, file)
			}
		})
	}
	pressroom(t, "", "config", "--config", "/nonexistent/pressroom.toml").want(t, 2, "no such file")
}

func TestServeReadsConfigFile(t *testing.T) {
	db := newsroom(t)
	file := writeFile(t, "pressroom.toml", "db = \""+db+"\"\naddr = \"127.0.0.1:0\"\nlog-format = \"json\"\noutbox = \""+t.TempDir()+"\"\n")
	base, _, stop := started(t, regexp.MustCompile(`serving (http://\S+) \(database`), "serve", "--config", file)
	if code, body := httpGet(t, base+"/readyz"); code != 200 {
		t.Errorf("GET /readyz = %d %s", code, body)
	}
	r := stop()
	r.want(t, 0)
	if !strings.Contains(r.stderr, `"msg":"Serving"`) {
		t.Errorf("serve did not log JSON as the file says:\n%s", r.stderr)
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"smtp-url", "smtp://digest:hunter2@mail.example.com:587?tls=starttls", "smtp://digest:<redacted>@mail.example.com:587?tls=starttls"},
		{"smtp-url", "smtp://mail.example.com:25?tls=none", "smtp://mail.example.com:25?tls=none"},
		{"smtp-url", "smtp://digest@mail.example.com", "smtp://digest@mail.example.com"},
		// URLs that do not parse still lose their password.
		{"smtp-url", "smtp://digest:hunter2@mail.example.com:xx", "smtp://digest:<redacted>@mail.example.com:xx"},
		{"smtp-url", "smtp://digest:hun ter2@mail.example.com", "smtp://digest:<redacted>@mail.example.com"},
		{"websub-hub", "https://u:p%zz/x@hub.example/", "https://u:<redacted>@hub.example/"},
		{"secret", "0123456789abcdef", "<redacted>"},
		{"secret", "", ""},
		{"from", "Digest <digest@news.example>", "Digest <digest@news.example>"},
	} {
		if got := redact(tc.name, tc.value); got != tc.want {
			t.Errorf("redact(%q, %q) = %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
}
