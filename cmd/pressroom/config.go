package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// Config is the effective global configuration of one pressroom run:
// built-in defaults, overridden by PRESSROOM_* environment variables,
// overridden by flags given before or after the command name.
type Config struct {
	DB        string         // database file
	BaseURL   string         // public URL of the site; "" lets serve derive it from --addr
	TimeZone  string         // IANA name of the newsroom's time zone
	Location  *time.Location // TimeZone, loaded
	LogFormat string         // "text", "json" or "auto"
	LogLevel  slog.Level
	// Secret signs the links in subscription emails; "" means the secret
	// generated on first use and kept in the database (see linkSigner).
	Secret string
	// ConfigFile is the TOML configuration file read, "" for none
	// (config_file.go).
	ConfigFile string
}

// globalFlag describes one global flag: its name, environment variable,
// default and help text.
type globalFlag struct {
	name, env, def, value, usage string
	// check validates a value and stores it in cfg; it returns a short
	// reason when the value is bad.
	check func(cfg *Config, v string) error
}

// globalFlags lists every global flag, in help order.
func globalFlags() []globalFlag {
	return []globalFlag{
		{
			name: "config", env: "PRESSROOM_CONFIG", def: "", value: "FILE",
			usage: "TOML configuration `FILE` with settings named like the flags (see 'pressroom config')",
			check: func(c *Config, v string) error { c.ConfigFile = v; return nil },
		},
		{
			name: "db", env: "PRESSROOM_DB", def: "pressroom.db", value: "FILE",
			usage: "SQLite database `FILE`",
			check: func(c *Config, v string) error {
				if v == "" {
					return fmt.Errorf("empty path")
				}
				c.DB = v
				return nil
			},
		},
		{
			name: "base-url", env: "PRESSROOM_BASE_URL", def: "", value: "URL",
			usage: "public `URL` of the site for links in feeds and emails; unset, serve uses http://ADDR",
			check: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				if ferr := news.CheckAbsoluteURL("base-url", v); ferr != nil {
					return fmt.Errorf("%s", ferr.Msg)
				}
				c.BaseURL = strings.TrimRight(v, "/")
				return nil
			},
		},
		{
			name: "tz", env: "PRESSROOM_TZ", def: "Europe/Moscow", value: "ZONE",
			usage: "the newsroom's IANA time `ZONE`, for schedules and dates",
			check: func(c *Config, v string) error {
				loc, err := time.LoadLocation(v)
				if err != nil || v == "" || strings.EqualFold(v, "local") {
					return fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Moscow or UTC)", v)
				}
				c.TimeZone, c.Location = v, loc
				return nil
			},
		},
		{
			name: "secret", env: "PRESSROOM_SECRET", def: "", value: "SECRET",
			usage: "`SECRET` (at least 16 bytes) that signs subscription links; unset, one is generated and kept in the database",
			check: func(c *Config, v string) error {
				if v != "" && len(v) < news.MinSecretLen {
					return fmt.Errorf("shorter than %d bytes", news.MinSecretLen)
				}
				c.Secret = v
				return nil
			},
		},
		{
			name: "log-format", env: "PRESSROOM_LOG_FORMAT", def: "auto", value: "FORMAT",
			usage: "log `FORMAT`: text, json, or auto (json for serve, which log collectors read; text for the other commands, which people read)",
			check: func(c *Config, v string) error {
				if v != "text" && v != "json" && v != "auto" {
					return fmt.Errorf("%q is not text, json or auto", v)
				}
				c.LogFormat = v
				return nil
			},
		},
		{
			name: "log-level", env: "PRESSROOM_LOG_LEVEL", def: "info", value: "LEVEL",
			usage: "least severe log `LEVEL`: debug, info, warn or error",
			check: func(c *Config, v string) error {
				var l slog.Level
				if err := l.UnmarshalText([]byte(v)); err != nil {
					return fmt.Errorf("%q is not debug, info, warn or error", v)
				}
				c.LogLevel = l
				return nil
			},
		},
	}
}

// globals holds the raw values of the global flags and remembers which
// were given on the command line; resolve turns them into a Config.
type globals struct {
	values map[string]*string
	set    map[string]bool
	from   map[string]string // where resolve took each value from
	value  map[string]string // the value resolve took
}

func newGlobals() *globals {
	g := &globals{values: make(map[string]*string), set: make(map[string]bool)}
	for _, f := range globalFlags() {
		v := f.def
		g.values[f.name] = &v
	}
	return g
}

// register adds the global flags to fs, bound to g, so they are accepted
// before the command name and after it.
func (g *globals) register(fs *flag.FlagSet) {
	for _, f := range globalFlags() {
		fs.Var(stringFlag{g.values[f.name]}, f.name, f.usage)
	}
}

// stringFlag is a flag.Value over a shared string. Unlike StringVar it
// does not reset the string to a default when registered, so a global
// flag given before the command survives the command's own flag set.
type stringFlag struct{ p *string }

func (s stringFlag) String() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

func (s stringFlag) Set(v string) error { *s.p = v; return nil }

// noteSet records which global flags fs saw on the command line.
func (g *globals) noteSet(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if _, ok := g.values[f.Name]; ok {
			g.set[f.Name] = true
		}
	})
}

// resolve builds the Config: a flag given on the command line wins, then
// the environment variable, then the default. A bad value is a usage
// error naming where it came from.
func (g *globals) resolve(lookupEnv func(string) (string, bool), file *configFile) (Config, error) {
	var cfg Config
	g.from, g.value = map[string]string{}, map[string]string{}
	for _, f := range globalFlags() {
		v, from := *g.values[f.name], "--"+f.name
		g.from[f.name] = from
		if !g.set[f.name] {
			if ev, ok := lookupEnv(f.env); ok {
				v, from = ev, f.env
				g.from[f.name] = from
			} else if fe, ok := file.entries[f.name]; ok {
				v, from = fe.value, file.where(f.name)
				g.from[f.name] = fmt.Sprintf("%s:%d", file.path, fe.line)
			} else {
				from = "default of --" + f.name
				g.from[f.name] = "default"
			}
		}
		g.value[f.name] = v
		if err := f.check(&cfg, v); err != nil {
			return Config{}, usageErrorf("%s: %v", from, err)
		}
	}
	return cfg, nil
}

// newLogger builds the process logger of command cmd from the
// configuration: --log-format auto means JSON for serve and text for the
// rest (the demo included: a person reads its terminal).
func newLogger(cfg Config, cmd string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" || cfg.LogFormat == "auto" && cmd == "serve" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
