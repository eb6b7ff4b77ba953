package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pressroom/pressroom/internal/schedule"
	"github.com/pressroom/pressroom/internal/store"
	"github.com/pressroom/pressroom/internal/web"
)

// serveOptions are serve's own settings (demo shares them). Features add
// their fields here and their flags in register.
type serveOptions struct {
	addr            string
	shutdownTimeout time.Duration
	mail            *mailFlags     // outgoing mail (cmd_mail.go)
	subs            subscribeFlags // subscription pages (cmd_subscribers.go)
	feeds           serveFeedFlags // feeds, static export, WebSub (cmd_feeds.go)
	delivery        *deliveryFlags // digest delivery (cmd_delivery.go)
	digestCatchUp   time.Duration
	ops             opsOptions // admin API, retention (cmd_ops.go)

	// ready, when set, is called once the server listens, with the site's
	// base URL (demo prints its URLs; tests learn the port).
	ready func(baseURL string)
}

// register adds serve's flags to cf.
func (o *serveOptions) register(cf *cmdFlags) {
	cf.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT` (port 0 picks a free one)")
	cf.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long to let requests and running jobs finish (`DURATION`)")
	o.mail = addMailFlags(cf)
	o.subs.register(cf)
	o.feeds.register(cf)
	o.delivery = addDeliveryFlags(cf)
	// --digest-cron is among the digest flags (o.delivery.digest.cron):
	// the digest commands run by hand share it.
	cf.DurationVar(&o.digestCatchUp, "digest-catchup", 3*time.Hour, "at start-up, send a missed digest slot if it is at most this late; later ones are recorded as missed")
	o.ops.register(cf)
}

func cmdServe(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("serve", "[flags]", `
Run the service: the web server (section index, feeds, subscription
pages, digest archive, admin API, /healthz) and the scheduled jobs, in
the newsroom's time zone (--tz).

SIGINT or SIGTERM shuts it down gracefully: it stops accepting
connections, lets running requests and jobs finish (up to
--shutdown-timeout), then closes the database.`)
	var o serveOptions
	o.register(cf)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	if o.shutdownTimeout <= 0 {
		return cf.usageErrorf("--shutdown-timeout must be positive, got %v", o.shutdownTimeout)
	}
	if err := o.feeds.check(cf); err != nil {
		return err
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	o.ready = func(baseURL string) {
		fmt.Fprintf(e.stdout, "Pressroom is serving %s (database %s). Stop with Ctrl-C.\n", baseURL, e.cfg.DB)
	}
	return serve(ctx, e, db, o)
}

// serve runs the web server and the scheduler over db until ctx ends,
// then shuts both down within o.shutdownTimeout. The caller closes db.
func serve(ctx context.Context, e *env, db *store.DB, o serveOptions) error {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w (choose another address with --addr)", err)
	}
	baseURL := e.cfg.BaseURL
	if baseURL == "" {
		baseURL = baseURLFor(ln.Addr(), e.logger)
	}

	mailer, err := o.mail.open(e)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if err := mailer.close(); err != nil {
			e.logger.Warn("Closing the mail sender failed", "error", err)
		}
	}()
	// Features that send mail (subscriptions, digest) take mailer from here.

	metrics := web.NewMetrics(db, e.logger)
	if o.mail.smtpURL != "" {
		mailer.sender = metrics.InstrumentSender(mailer.sender) // SMTP reply latency
	}
	mailer.sender = logFailures(mailer.sender, e.logger) // one line per digest not sent
	sched := schedule.New(e.cfg.Location, e.logger, observeJobs(metrics))
	catchUp, err := scheduleDigest(e, db, o, mailer, baseURL, sched)
	if err != nil {
		ln.Close()
		return err
	}
	wopts := web.Options{
		Store:    db,
		Logger:   e.logger,
		BaseURL:  baseURL,
		Location: e.cfg.Location,
		Metrics:  metrics,
	}
	if err := o.ops.wire(e, db, sched, &wopts); err != nil {
		ln.Close()
		return err
	}
	// Features register their scheduled jobs (sched.Add) and set their
	// web options (wopts) here.
	if wopts.Digest, err = digestArchive(e, o.delivery, baseURL); err != nil {
		ln.Close()
		return err
	}
	if wopts.Subscriptions, err = o.subs.options(ctx, e, db, mailer); err != nil {
		ln.Close()
		return err
	}

	wopts.Feeds = o.feeds.webOptions(e, baseURL)

	handler, err := web.New(wopts)
	if err != nil {
		ln.Close()
		return err
	}
	if o.feeds.out != "" {
		if err := sched.Add("feeds-export", o.feeds.cron, o.feeds.exportJob(e, handler)); err != nil {
			ln.Close()
			return err
		}
	}
	// The feed refresher rebuilds the in-memory feeds when the data
	// changes; it stops with ctx, before the database closes.
	feedsCtx, stopFeeds := context.WithCancel(ctx)
	feedsDone := make(chan struct{})
	go func() { handler.RunFeeds(feedsCtx); close(feedsDone) }()
	defer func() { stopFeeds(); <-feedsDone }()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // bounds slow request bodies (API uploads, forms)
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(e.logger.Handler(), slog.LevelWarn),
	}
	sched.Start()
	var jobs sync.WaitGroup
	if catchUp != nil {
		jobs.Go(func() { catchUp(ctx) })
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	e.logger.Info("Serving", "addr", ln.Addr().String(), "base_url", baseURL, "time_zone", e.cfg.TimeZone)
	if o.ready != nil {
		o.ready(baseURL)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		e.logger.Info("Shutting down", "timeout", o.shutdownTimeout)
	case serveErr = <-served:
		serveErr = fmt.Errorf("serve: %w", serveErr)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var httpErr, schedErr error
	wg.Go(func() {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			httpErr = fmt.Errorf("serve: shut down HTTP server: %w", err)
		}
		// Sign-up emails still on their way (sent in the background).
		if err := handler.FlushMail(shutdownCtx); err != nil && httpErr == nil {
			httpErr = err
		}
	})
	wg.Go(func() { schedErr = sched.Stop(shutdownCtx); jobs.Wait() })
	wg.Wait()
	if err := errors.Join(serveErr, httpErr, schedErr); err != nil {
		return err
	}
	e.logger.Info("Stopped")
	return nil
}

// baseURLFor derives the site's URL from the listening address when
// --base-url is not set. A wildcard address gives localhost, with a
// warning: links in feeds and emails need the public URL.
func baseURLFor(addr net.Addr, logger *slog.Logger) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
		logger.Warn("No --base-url set and listening on all interfaces: links will point to localhost", "addr", addr.String())
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
