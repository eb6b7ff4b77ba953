package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// command is one pressroom subcommand. name may have two words for a
// command group ("sections add"). run must parse its flags with
// env.parse before doing anything else, so that "CMD -h" and
// "help CMD" only print its help.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is the command table: one line per command. Feature areas add
// their lines here and the functions in their own cmd_*.go files.
func commands() []command {
	return []command{
		{"migrate", "create the database or apply pending schema migrations", cmdMigrate},
		{"import", "import articles from a JSON Lines file (all or nothing)", cmdImport},
		{"sections add", "add a section", cmdSectionsAdd},
		{"sections list", "list the sections", cmdSectionsList},
		{"views import", "import hourly page-view counts from a JSON Lines file", cmdViewsImport},
		{"subscribers add", "add a subscriber (pending, or --active)", cmdSubscribersAdd},
		{"subscribers import", "import subscribers from a CSV file (all or nothing)", cmdSubscribersImport},
		{"subscribers list", "list subscribers, by status or section", cmdSubscribersList},
		{"subscribers export", "write every subscriber as CSV", cmdSubscribersExport},
		{"subscribers remove", "erase a subscriber's address (GDPR); the consent log stays", cmdSubscribersRemove},
		{"subscribers show", "show a subscriber with the consent log", cmdSubscribersShow},
		{"digest plan", "plan a date's press review: freeze its articles and recipients", cmdDigestPlan},
		{"digest preview", "render a date's press review for one subscriber or all sections", cmdDigestPreview},
		{"digest send", "deliver an edition now (planning it if needed), each reader exactly once", cmdDigestSend},
		{"digest status", "show an edition's delivery ledger and the rows needing attention", cmdDigestStatus},
		{"feeds build", "write every feed and feeds.opml into a directory (only changed files)", cmdFeedsBuild},
		{"serve", "run the web server and the scheduled jobs", cmdServe},
		{"demo", "run a demo newsroom on a fresh temporary database", cmdDemo},
		{"bounces import", "apply bounce (DSN) and complaint (ARF) reports from .eml files or a maildir", cmdBouncesImport},
		{"tokens create", "create an admin API bearer token (shown once, stored hashed)", cmdTokensCreate},
		{"tokens revoke", "revoke an admin API token", cmdTokensRevoke},
		{"tokens list", "list the admin API tokens (names and status, never the tokens)", cmdTokensList},
		{"backup", "write a consistent snapshot of the database while serve runs", cmdBackup},
		{"config", "print the effective configuration (secrets redacted) and where each value came from", cmdConfig},
	}
}

const toolIntro = `Pressroom keeps a news agency's articles in SQLite, serves RSS 2.0, Atom 1.0
and JSON Feed 1.1 feeds for every section, and sends a daily press-review
digest email to subscribers.`

// usageError is a mistake in how pressroom was called (unknown command or
// flag, bad value, wrong arguments). It exits with status 2.
type usageError struct {
	cmd string // the command it concerns, "" for pressroom itself
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelpShown means help was asked for and printed: exit status 0.
var errHelpShown = errors.New("help shown")

// dispatch parses the global flags, finds the command and runs it.
func (e *env) dispatch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pressroom", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.printHelp(e.stdout)
			return errHelpShown
		}
		return usageErrorf("%v", err)
	}
	e.g.noteSet(fs)
	rest := fs.Args()
	if len(rest) == 0 {
		e.printHelp(e.stderr)
		return usageErrorf("no command given")
	}
	if rest[0] == "help" {
		return e.help(ctx, rest[1:])
	}
	if len(rest) == 2 && isHelpFlag(rest[1]) && len(subcommands(rest[0])) > 0 {
		e.printGroupHelp(rest[0])
		return errHelpShown
	}
	cmd, cmdArgs, err := lookup(rest)
	if err != nil {
		return err
	}
	return cmd.run(ctx, e, cmdArgs)
}

// lookup finds the command named by the first one or two words of args.
func lookup(args []string) (command, []string, error) {
	table := commands()
	if len(args) >= 2 {
		for _, c := range table {
			if c.name == args[0]+" "+args[1] {
				return c, args[2:], nil
			}
		}
	}
	for _, c := range table {
		if c.name == args[0] {
			return c, args[1:], nil
		}
	}
	if subs := subcommands(args[0]); len(subs) > 0 {
		if len(args) == 1 || strings.HasPrefix(args[1], "-") {
			return command{}, nil, &usageError{cmd: args[0], msg: fmt.Sprintf("missing subcommand: one of %s", strings.Join(subs, ", "))}
		}
		return command{}, nil, &usageError{cmd: args[0], msg: fmt.Sprintf("unknown subcommand %q: one of %s", args[1], strings.Join(subs, ", "))}
	}
	return command{}, nil, usageErrorf("unknown command %q (run 'pressroom help' for the list)", args[0])
}

// subcommands lists the second words of the commands in group.
func subcommands(group string) []string {
	var subs []string
	for _, c := range commands() {
		if g, sub, ok := strings.Cut(c.name, " "); ok && g == group {
			subs = append(subs, sub)
		}
	}
	sort.Strings(subs)
	return subs
}

// help implements "pressroom help [COMMAND]".
func (e *env) help(ctx context.Context, args []string) error {
	if len(args) == 0 {
		e.printHelp(e.stdout)
		return errHelpShown
	}
	if len(args) == 1 && len(subcommands(args[0])) > 0 {
		e.printGroupHelp(args[0])
		return errHelpShown
	}
	cmd, _, err := lookup(args)
	if err != nil {
		return err
	}
	return cmd.run(ctx, e, []string{"-h"})
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" || s == "--h" }

// printGroupHelp lists the commands of a group ("pressroom sections -h").
func (e *env) printGroupHelp(group string) {
	fmt.Fprintf(e.stdout, "Usage: pressroom %s SUBCOMMAND [flags] [arguments]\n\nSubcommands:\n", group)
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(e.stdout, "  %-*s  %s\n", width, c.name, c.summary)
		}
	}
	fmt.Fprintf(e.stdout, "\nRun 'pressroom %s SUBCOMMAND -h' for one's flags and arguments.\n", group)
}

// printHelp writes the overview: every command and the global flags.
func (e *env) printHelp(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage: pressroom [global flags] COMMAND [flags] [arguments]\n\nCommands:\n", toolIntro)
	table := commands()
	width := 0
	for _, c := range table {
		width = max(width, len(c.name))
	}
	for _, c := range table {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, "help", "show this help, or a command's: pressroom help COMMAND")
	fmt.Fprintln(w, "\nGlobal flags (before or after the command):")
	printGlobalFlags(w)
	fmt.Fprintln(w, "\nRun 'pressroom COMMAND -h' for a command's flags and arguments.")
}

func printGlobalFlags(w io.Writer) {
	for _, f := range globalFlags() {
		def := ""
		if f.def != "" {
			def = fmt.Sprintf(", default %q", f.def)
		}
		_, usage := flag.UnquoteUsage(&flag.Flag{Usage: f.usage})
		fmt.Fprintf(w, "  --%s %s\n      %s (env %s%s)\n", f.name, f.value, usage, f.env, def)
	}
}

// cmdFlags is a command's flag set with what its help shows.
type cmdFlags struct {
	*flag.FlagSet
	name     string // "sections add"
	synopsis string // what follows the name in the usage line: "[flags] FILE|-"
	help     string // a paragraph or two on what the command does
}

// newFlags starts the flag set of command name; the global flags are in
// it too, so they may follow the command name.
func (e *env) newFlags(name, synopsis, help string) *cmdFlags {
	fs := flag.NewFlagSet("pressroom "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.g.register(fs)
	return &cmdFlags{FlagSet: fs, name: name, synopsis: synopsis, help: help}
}

// usageErrorf reports a mistake in the command's arguments.
func (cf *cmdFlags) usageErrorf(format string, args ...any) error {
	return &usageError{cmd: cf.name, msg: fmt.Sprintf(format, args...)}
}

// printUsage writes the command's help: usage line, description, its own
// flags, then the global flags.
func (cf *cmdFlags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: pressroom %s %s\n\n%s\n", cf.name, cf.synopsis, strings.TrimSpace(cf.help))
	global := make(map[string]bool)
	for _, f := range globalFlags() {
		global[f.name] = true
	}
	var own []*flag.Flag
	cf.VisitAll(func(f *flag.Flag) {
		if !global[f.Name] {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintln(w, "\nFlags:")
		for _, f := range own {
			value, usage := flag.UnquoteUsage(f)
			line := "  --" + f.Name
			if value != "" {
				line += " " + value
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				def = " (default " + shownDefault(f) + ")"
			}
			fmt.Fprintf(w, "%s\n      %s%s\n", line, usage, def)
		}
	}
	fmt.Fprintln(w, "\nGlobal flags:")
	printGlobalFlags(w)
}

// shownDefault is a flag's default as help shows it: quoted for text
// flags (so an empty or spaced value is visible), plain for numbers,
// durations and the like.
func shownDefault(f *flag.Flag) string {
	if g, ok := f.Value.(flag.Getter); ok {
		if _, text := g.Get().(string); !text {
			return f.DefValue
		}
	}
	return strconv.Quote(f.DefValue)
}

// parse parses a command's arguments. Flags may come before, between or
// after positional arguments; "--" ends the flags. On -h it prints the
// command's help and returns errHelpShown. It then resolves the global
// configuration and sets up the logger, and returns the positional
// arguments.
func (e *env) parse(cf *cmdFlags, args []string) ([]string, error) {
	var positional []string
	rest := args
	for {
		if err := cf.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cf.printUsage(e.stdout)
				return nil, errHelpShown
			}
			return nil, cf.usageErrorf("%v", err)
		}
		consumed := len(rest) - cf.NArg()
		if cf.NArg() == 0 {
			break
		}
		if consumed > 0 && rest[consumed-1] == "--" {
			positional = append(positional, cf.Args()...)
			break
		}
		positional = append(positional, cf.Arg(0))
		rest = cf.Args()[1:]
	}
	e.g.noteSet(cf.FlagSet)
	file, err := e.loadConfig()
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			ue.cmd = cf.name
		}
		return nil, err
	}
	cfg, err := e.g.resolve(e.lookupEnv, file)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			ue.cmd = cf.name
		}
		return nil, err
	}
	e.cfg = cfg
	if err := e.applySettings(cf, file); err != nil {
		return nil, err
	}
	e.logger = newLogger(cfg, cf.name, e.stderr)
	return positional, nil
}
