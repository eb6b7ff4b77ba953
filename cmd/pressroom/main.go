// Command pressroom is Pressroom's one binary: it imports articles and
// view counts from the CMS, manages sections, and runs the service (web
// server with feeds and subscription pages, plus the scheduled digest
// delivery). "pressroom help" lists the commands; "pressroom demo" runs a
// demo newsroom without any setup.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // time zones work on machines without a zoneinfo database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// env is what a command runs with: its streams, the environment, the
// clock, and (after env.parse) the resolved configuration and logger.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	now            func() time.Time

	g      *globals
	cfg    Config
	logger *slog.Logger

	file    *configFile       // the configuration file, once read (config_file.go)
	sources map[string]string // where each command flag's value came from
}

// run runs pressroom with args (without the program name) and returns the
// exit status: 0 success, 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{
		stdin:     stdin,
		stdout:    stdout,
		stderr:    stderr,
		lookupEnv: os.LookupEnv,
		now:       time.Now,
		g:         newGlobals(),
		logger:    slog.New(slog.DiscardHandler),
	}
	err := e.dispatch(ctx, args)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return 0
	case errors.As(err, &ue):
		prefix, hint := "pressroom", "pressroom help"
		if ue.cmd != "" {
			prefix += " " + ue.cmd
			hint += " " + ue.cmd
		}
		fmt.Fprintf(stderr, "%s: %s\nRun '%s' for usage.\n", prefix, ue.msg, hint)
		return 2
	default:
		fmt.Fprintf(stderr, "pressroom: %v\n", err)
		return 1
	}
}
