package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// parseWith runs env.parse for a throwaway command over args with the
// given environment, as every command does first.
func parseWith(t *testing.T, environ map[string]string, pre, args []string) (*env, []string, error) {
	t.Helper()
	var out, errOut lockedBuffer
	e := &env{
		stdout: &out, stderr: &errOut,
		lookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok },
		now:       time.Now,
		g:         newGlobals(),
		logger:    slog.New(slog.DiscardHandler),
	}
	// Global flags before the command name, as dispatch parses them.
	fs := e.newFlags("", "", "")
	if err := fs.Parse(pre); err != nil {
		t.Fatal(err)
	}
	e.g.noteSet(fs.FlagSet)
	cf := e.newFlags("test", "[flags] A B", "A test command.")
	cf.Bool("dry-run", false, "a command flag")
	pos, err := e.parse(cf, args)
	return e, pos, err
}

func TestConfigPrecedence(t *testing.T) {
	environ := map[string]string{"PRESSROOM_DB": "env.db", "PRESSROOM_TZ": "UTC", "PRESSROOM_LOG_FORMAT": "json"}
	tests := []struct {
		name      string
		environ   map[string]string
		pre, args []string
		wantDB    string
		wantTZ    string
		wantFmt   string
		wantBase  string
		wantLevel slog.Level
	}{
		{"defaults", nil, nil, nil, "pressroom.db", "Europe/Moscow", "auto", "", slog.LevelInfo},
		{"environment over defaults", environ, nil, nil, "env.db", "UTC", "json", "", slog.LevelInfo},
		{"flag before the command over environment", environ, []string{"--db", "pre.db"}, nil, "pre.db", "UTC", "json", "", slog.LevelInfo},
		{"flag after the command over environment", environ, nil, []string{"--db=post.db", "--tz", "Asia/Tokyo"}, "post.db", "Asia/Tokyo", "json", "", slog.LevelInfo},
		{"after wins over before", nil, []string{"--db", "pre.db"}, []string{"--db", "post.db"}, "post.db", "Europe/Moscow", "auto", "", slog.LevelInfo},
		{"base url trailing slash trimmed, level", nil, nil, []string{"--base-url", "https://news.example.com/", "--log-level", "debug"}, "pressroom.db", "Europe/Moscow", "auto", "https://news.example.com", slog.LevelDebug},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, err := parseWith(t, tt.environ, tt.pre, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			c := e.cfg
			if c.DB != tt.wantDB || c.TimeZone != tt.wantTZ || c.Location.String() != tt.wantTZ || c.LogFormat != tt.wantFmt || c.BaseURL != tt.wantBase || c.LogLevel != tt.wantLevel {
				t.Errorf("config = %+v, want db %s tz %s format %s base %q level %v", c, tt.wantDB, tt.wantTZ, tt.wantFmt, tt.wantBase, tt.wantLevel)
			}
		})
	}
}

func TestFlagsAnywhere(t *testing.T) {
	_, pos, err := parseWith(t, nil, nil, []string{"a", "--dry-run", "b", "--db", "x.db", "--", "--c"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, " ") != "a b --c" {
		t.Errorf("positional = %q, want [a b --c]", pos)
	}
	_, pos, err = parseWith(t, nil, nil, []string{"-", "--dry-run"})
	if err != nil || len(pos) != 1 || pos[0] != "-" {
		t.Errorf("positional = %q, %v; want [-]", pos, err)
	}
}

func TestBadConfigValues(t *testing.T) {
	tests := []struct {
		environ map[string]string
		args    []string
		want    string
	}{
		{nil, []string{"--tz", "Mars/Olympus"}, `--tz: unknown time zone "Mars/Olympus"`},
		{map[string]string{"PRESSROOM_TZ": "Nowhere"}, nil, `PRESSROOM_TZ: unknown time zone "Nowhere"`},
		{nil, []string{"--tz", "Local"}, `unknown time zone "Local"`},
		{nil, []string{"--log-format", "xml"}, `--log-format: "xml" is not text, json or auto`},
		{nil, []string{"--log-level", "loud"}, `--log-level: "loud" is not debug, info, warn or error`},
		{nil, []string{"--base-url", "news.example.com"}, `--base-url: not an absolute URL`},
		{map[string]string{"PRESSROOM_BASE_URL": "ftp://x.example/"}, nil, `PRESSROOM_BASE_URL: not an http or https URL`},
		{nil, []string{"--db", ""}, `--db: empty path`},
		{nil, []string{"--bogus"}, `flag provided but not defined: -bogus`},
		{nil, []string{"--dry-run=maybe"}, `invalid boolean value "maybe" for -dry-run`},
	}
	for _, tt := range tests {
		_, _, err := parseWith(t, tt.environ, nil, tt.args)
		var ue *usageError
		if !errors.As(err, &ue) || ue.cmd != "test" || !strings.Contains(ue.msg, tt.want) {
			t.Errorf("parse(%q, env %v) = %v, want a usage error of command test containing %q", tt.args, tt.environ, err, tt.want)
		}
	}
}

func TestCommandHelp(t *testing.T) {
	e, _, err := parseWith(t, nil, nil, []string{"--db", "x.db", "-h"})
	if !errors.Is(err, errHelpShown) {
		t.Fatalf("parse(-h) = %v, want errHelpShown", err)
	}
	got := e.stdout.(*lockedBuffer).String()
	for _, want := range []string{"Usage: pressroom test [flags] A B", "A test command.", "  --dry-run\n      a command flag", "Global flags:", "  --db FILE\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("help lacks %q:\n%s", want, got)
		}
	}
}

func TestNewLogger(t *testing.T) {
	var out lockedBuffer
	newLogger(Config{LogFormat: "json", LogLevel: slog.LevelWarn}, "import", &out).Info("hidden")
	newLogger(Config{LogFormat: "json", LogLevel: slog.LevelWarn}, "import", &out).Warn("Shown", "k", 1)
	if got := out.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"Shown","k":1`) {
		t.Errorf("json logger wrote %q", got)
	}
	var text lockedBuffer
	newLogger(Config{LogFormat: "text"}, "serve", &text).Info("Hello")
	if !strings.Contains(text.String(), "level=INFO msg=Hello") {
		t.Errorf("text logger wrote %q", text.String())
	}
	// auto: JSON for serve (log collectors), text for everything else.
	for _, tt := range []struct{ cmd, want string }{
		{"serve", `"msg":"Hello"`},
		{"demo", "level=INFO msg=Hello"},
		{"import", "level=INFO msg=Hello"},
	} {
		var buf lockedBuffer
		newLogger(Config{LogFormat: "auto"}, tt.cmd, &buf).Info("Hello")
		if !strings.Contains(buf.String(), tt.want) {
			t.Errorf("auto logger for %s wrote %q, want %q", tt.cmd, buf.String(), tt.want)
		}
	}
}
