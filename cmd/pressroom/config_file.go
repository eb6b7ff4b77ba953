package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// The configuration file (--config FILE, PRESSROOM_CONFIG): TOML with
// one top-level key per setting, named like its flag:
//
//	db = "/var/lib/pressroom/pressroom.db"
//	base-url = "https://news.example.com"
//	addr = "127.0.0.1:8080"
//	smtp-url = "smtp://digest:secret@mail.example.com:587"
//
// The settings are the global flags and every flag of serve (which
// includes the mail and digest flags that the digest commands share).
// Each has a flag, an environment variable (PRESSROOM_<NAME>, upper case
// with '_' for '-', unless its feature names another: see settingEnv) and
// a file key; a flag wins over the environment, which wins over the file,
// which wins over the built-in default. A key that names no setting, or a
// value its flag refuses, is an error naming the file, line and key.

// configFile is a parsed configuration file.
type configFile struct {
	path    string
	entries map[string]fileEntry // by key
}

// fileEntry is one key's value, as the text its flag parses.
type fileEntry struct {
	value string
	line  int
}

// where names a key's place for messages: FILE:LINE: key "name".
func (f *configFile) where(key string) string {
	return fmt.Sprintf("%s:%d: key %q", f.path, f.entries[key].line, key)
}

// settingEnv is the environment variable of a setting: the one its
// feature documents (mail and digest flags), else PRESSROOM_ + the name
// in upper case with '_' for '-'.
func settingEnv(name string) string {
	if ev, ok := mailFlagEnv[name]; ok {
		return ev
	}
	if ev, ok := digestFlagEnv[name]; ok {
		return ev
	}
	return "PRESSROOM_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// settingNames returns every setting a configuration file may hold: the
// global flags and serve's flags, without --config itself.
func (e *env) settingNames() []string {
	cf := e.newFlags("serve", "", "")
	var o serveOptions
	o.register(cf)
	var names []string
	cf.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	return names
}

// loadConfigFile reads and checks the file at path. known lists the keys
// allowed. It decodes with go-toml's strict mode into a struct built from
// known, so that syntax errors and unknown keys come with the decoder's
// own positions, then reads each key's line with go-toml's parser to name
// it in errors about its value.
func loadConfigFile(path string, known []string) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	fields := make([]reflect.StructField, len(known))
	for i, k := range known {
		fields[i] = reflect.StructField{
			Name: "F" + strconv.Itoa(i),
			Type: reflect.TypeFor[any](),
			Tag:  reflect.StructTag(`toml:"` + k + `"`),
		}
	}
	target := reflect.New(reflect.StructOf(fields))
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(target.Interface()); err != nil {
		return nil, fileDecodeError(path, err, known)
	}
	lines, err := keyLines(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := &configFile{path: path, entries: map[string]fileEntry{}}
	v := target.Elem()
	for i, k := range known {
		raw := v.Field(i).Interface()
		if raw == nil {
			continue
		}
		s, ok := settingText(raw)
		if !ok {
			return nil, fmt.Errorf("%s:%d: key %q: want a string, number or boolean, got %T", path, lines[k], k, raw)
		}
		f.entries[k] = fileEntry{value: s, line: lines[k]}
	}
	return f, nil
}

// fileDecodeError turns go-toml's errors into FILE:LINE messages.
func fileDecodeError(path string, err error, known []string) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		msgs := make([]string, 0, len(strict.Errors))
		for _, de := range strict.Errors {
			line, _ := de.Position()
			key := strings.Join(de.Key(), ".")
			msg := fmt.Sprintf("%s:%d: unknown key %q", path, line, key)
			if alt := strings.ReplaceAll(key, "_", "-"); alt != key && slices.Contains(known, alt) {
				msg += fmt.Sprintf(" (did you mean %q?)", alt)
			} else if len(de.Key()) > 1 || strings.Contains(key, ".") {
				msg += " (settings are top-level keys named like their flags; no tables)"
			}
			msgs = append(msgs, msg)
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if k := de.Key(); len(k) > 0 {
			return fmt.Errorf("%s:%d:%d: key %q: %s", path, line, col, strings.Join(k, "."), msg)
		}
		return fmt.Errorf("%s:%d:%d: %s", path, line, col, msg)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// keyLines returns the line of every top-level key=value.
func keyLines(data []byte) (map[string]int, error) {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		n := p.Expression()
		if n.Kind != unstable.KeyValue {
			continue
		}
		var parts []string
		first := -1
		for it := n.Key(); it.Next(); {
			k := it.Node()
			parts = append(parts, string(k.Data))
			if first < 0 {
				first = p.Shape(k.Raw).Start.Line
			}
		}
		lines[strings.Join(parts, ".")] = first
	}
	return lines, p.Error()
}

// settingText renders a decoded TOML value as the text a flag parses.
func settingText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

// configPath is the configuration file to read: --config, else
// PRESSROOM_CONFIG, else none.
func (e *env) configPath() (path, from string) {
	if e.g.set["config"] {
		return *e.g.values["config"], "--config"
	}
	if v, ok := e.lookupEnv("PRESSROOM_CONFIG"); ok && v != "" {
		return v, "PRESSROOM_CONFIG"
	}
	return "", ""
}

// loadConfig reads the configuration file, if one is configured, once per
// run.
func (e *env) loadConfig() (*configFile, error) {
	if e.file != nil {
		return e.file, nil
	}
	path, from := e.configPath()
	if path == "" {
		e.file = &configFile{entries: map[string]fileEntry{}}
		return e.file, nil
	}
	f, err := loadConfigFile(path, e.settingNames())
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("%s: %v", from, err)}
	}
	e.file = f
	return f, nil
}

// applySettings fills the command's own flags that the command line left
// unset: from PRESSROOM_<NAME>, else from the configuration file. Global
// flags are resolved by globals.resolve. It records where each value came
// from for `pressroom config`.
func (e *env) applySettings(cf *cmdFlags, file *configFile) error {
	global := map[string]bool{}
	for _, g := range globalFlags() {
		global[g.name] = true
	}
	known := map[string]bool{}
	for _, n := range e.settingNames() {
		known[n] = true
	}
	set := map[string]bool{}
	cf.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	cf.VisitAll(func(f *flag.Flag) {
		if global[f.Name] {
			return
		}
		switch {
		case set[f.Name]:
			e.note(f.Name, "--"+f.Name)
		case !known[f.Name]:
			// A command's own option (import --dry-run): flag or default only.
		default:
			ev := settingEnv(f.Name)
			if v, ok := e.lookupEnv(ev); ok {
				if err := cf.Set(f.Name, v); err != nil {
					errs = append(errs, cf.usageErrorf("%s: invalid value %q: %v", ev, v, err))
				}
				e.note(f.Name, ev)
				return
			}
			if fe, ok := file.entries[f.Name]; ok {
				if err := cf.Set(f.Name, fe.value); err != nil {
					errs = append(errs, cf.usageErrorf("%s: invalid value %q: %v", file.where(f.Name), fe.value, err))
				}
				e.note(f.Name, fmt.Sprintf("%s:%d", file.path, fe.line))
				return
			}
			e.note(f.Name, "default")
		}
	})
	return errors.Join(errs...)
}

// note records where setting name's value came from.
func (e *env) note(name, from string) {
	if e.sources == nil {
		e.sources = map[string]string{}
	}
	e.sources[name] = from
}

// secretSetting reports settings whose values are never printed.
func secretSetting(name string) bool {
	for _, w := range []string{"secret", "password", "token"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// redact hides a setting's secret: the whole value of a secret setting,
// the password in a URL.
func redact(name, value string) string {
	if value == "" {
		return value
	}
	if secretSetting(name) {
		return "<redacted>"
	}
	u, err := url.Parse(value)
	if err == nil {
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "REDACTED")
				return strings.Replace(u.String(), "REDACTED", "<redacted>", 1)
			}
		}
		return value
	}
	// A URL that does not parse (a bad port, a space in the password)
	// may still hold a password: hide everything between the user name
	// and the last '@'.
	scheme, rest, ok := strings.Cut(value, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 {
		if user, _, has := strings.Cut(rest[:at], ":"); has {
			return scheme + "://" + user + ":<redacted>" + rest[at:]
		}
	}
	return value
}

func cmdConfig(ctx context.Context, e *env, args []string) error {
	cf := e.newFlags("config", "[flags] [serve flags]", `
Print the effective configuration as TOML, one line per setting with
where its value came from: a flag, a PRESSROOM_* environment variable,
the --config file (with its line) or the built-in default. Secrets
(passwords in URLs, the link secret, tokens) are redacted. Serve's flags
are accepted too, to see what a serve command line would run with.

Every setting has a flag (--name), an environment variable
(PRESSROOM_NAME, upper case with '_' for '-') and a key in the TOML file
(name); the flag wins over the environment, which wins over the file.
An unknown key or a bad value in the file is an error naming its line.`)
	var o serveOptions
	o.register(cf)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	if _, err := o.ops.check(); err != nil {
		return err
	}
	path, _ := e.configPath()
	if path == "" {
		fmt.Fprintln(e.stdout, "# no configuration file (--config FILE or PRESSROOM_CONFIG)")
	} else {
		fmt.Fprintf(e.stdout, "# configuration file %s\n", path)
	}
	var lines [][3]string
	width := 0
	cf.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		value := f.Value.String()
		if g, ok := e.g.value[f.Name]; ok {
			value = g
		}
		v, err := toml.Marshal(map[string]string{f.Name: redact(f.Name, value)})
		if err != nil {
			return
		}
		line := strings.TrimSpace(string(v))
		width = max(width, len(line))
		from := e.sources[f.Name]
		if g, ok := e.g.from[f.Name]; ok {
			from = g
		}
		lines = append(lines, [3]string{f.Name, line, from})
	})
	for _, l := range lines {
		fmt.Fprintf(e.stdout, "%-*s  # %s\n", width, l[1], l[2])
	}
	return nil
}
