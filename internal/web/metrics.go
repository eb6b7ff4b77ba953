package web

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pressroom/pressroom/internal/mail"
)

// MetricsStore is what the metrics collectors read at scrape time.
type MetricsStore interface {
	// DeliveryStateCounts returns how many deliveries are in each state
	// (queued, sent, failed, ...).
	DeliveryStateCounts(ctx context.Context) (map[string]int64, error)
}

// Metrics holds the Server's Prometheus collectors. They live on a
// registry of the Server's own, never the global default one, so two
// Servers in one process (tests) count separately. Every name starts
// with pressroom_. The Observe* methods are the hooks other parts call
// (the scheduler, the mail sender, the feed cache); all are safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpSeriesMu sync.Mutex                              // serialises additions to httpSeries
	httpSeries   atomic.Pointer[map[httpKey]*httpSeries] // read-only once published

	feedRequests *prometheus.CounterVec
	feedBuilds   *prometheus.HistogramVec

	ingestItems    *prometheus.CounterVec
	ingestRejected *prometheus.CounterVec

	smtpReplies *prometheus.HistogramVec

	jobRuns        *prometheus.CounterVec
	jobFailures    *prometheus.CounterVec
	jobLastSuccess *prometheus.GaugeVec
	jobDuration    *prometheus.HistogramVec
}

// NewMetrics registers every collector on a fresh registry of its own.
// store may be nil (no delivery counts); logger nil discards.
// cmd/pressroom creates the Metrics before the scheduler and the mail
// sender, hands it their hooks, and passes it in Options.Metrics.
func NewMetrics(store MetricsStore, logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pressroom_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pressroom_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		feedRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pressroom_feed_requests_total",
			Help: "Feed requests by outcome: hit (served from the rendered cache), not_modified (304), miss (rendered for the request), not_found.",
		}, []string{"result"}),
		feedBuilds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pressroom_feed_build_duration_seconds",
			Help:    "Time to render feeds after a data change, by what was built.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"what"}),
		ingestItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pressroom_ingest_items_total",
			Help: "Items accepted through the admin API, by kind (articles, views, sections) and outcome (inserted, updated, unchanged, deleted).",
		}, []string{"kind", "outcome"}),
		ingestRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pressroom_ingest_rejected_total",
			Help: "Admin API requests rejected, by kind and reason (invalid, too_large, unauthorized, forbidden).",
		}, []string{"kind", "reason"}),
		smtpReplies: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pressroom_smtp_reply_duration_seconds",
			Help:    "Time from handing a message to the SMTP sender to the server's final reply, by outcome (sent, temporary, permanent).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"status"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pressroom_job_runs_total",
			Help: "Scheduled job runs, by job.",
		}, []string{"job"}),
		jobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pressroom_job_failures_total",
			Help: "Scheduled job runs that failed (error or panic), by job.",
		}, []string{"job"}),
		jobLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pressroom_job_last_success_timestamp_seconds",
			Help: "Unix time at which each job last finished without error.",
		}, []string{"job"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pressroom_job_duration_seconds",
			Help:    "Duration of scheduled job runs, by job.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"job"}),
	}
	m.httpSeries.Store(&map[httpKey]*httpSeries{})
	reg.MustRegister(
		m.httpRequests, m.httpDuration, m.feedRequests, m.feedBuilds,
		m.ingestItems, m.ingestRejected, m.smtpReplies,
		m.jobRuns, m.jobFailures, m.jobLastSuccess, m.jobDuration,
	)
	// The runtime and process metrics too carry the prefix
	// (pressroom_go_goroutines, pressroom_process_resident_memory_bytes),
	// so every series of this service is found under one name space.
	prometheus.WrapRegistererWithPrefix("pressroom_", reg).MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if store != nil {
		reg.MustRegister(&deliveryCollector{store: store, logger: logger})
	}
	return m
}

// Registry is the registry /metrics serves; cmd/pressroom may register
// more collectors on it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// handler serves the registry in the Prometheus exposition format.
func (m *Metrics) handler(logger *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// httpKey names one pressroom_http_requests_total series.
type httpKey struct {
	route, method string
	code          int
}

// httpSeries is one route, method and status code's counter and the
// route and method's latency histogram, resolved from the vectors once.
type httpSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// observeHTTP records one answered request. route is the ServeMux
// pattern ("GET /feeds/{file}"), never the raw path, so the label set
// stays small whatever clients ask for. Every request passes here, so
// the series are looked up in a read-only map, replaced whole when a new
// label set first appears, instead of through WithLabelValues (which
// hashes and validates every label and takes a lock each time).
func (m *Metrics) observeHTTP(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	k := httpKey{route, method, status}
	ser, ok := (*m.httpSeries.Load())[k]
	if !ok {
		ser = m.addHTTPSeries(k)
	}
	ser.count.Inc()
	ser.duration.Observe(d.Seconds())
}

// addHTTPSeries resolves k's series and publishes a copy of the map with
// them. The copy is cheap: there are a few series per route.
func (m *Metrics) addHTTPSeries(k httpKey) *httpSeries {
	m.httpSeriesMu.Lock()
	defer m.httpSeriesMu.Unlock()
	old := *m.httpSeries.Load()
	if ser, ok := old[k]; ok {
		return ser
	}
	ser := &httpSeries{
		count:    m.httpRequests.WithLabelValues(k.route, k.method, strconv.Itoa(k.code)),
		duration: m.httpDuration.WithLabelValues(k.route, k.method),
	}
	next := make(map[httpKey]*httpSeries, len(old)+1)
	maps.Copy(next, old)
	next[k] = ser
	m.httpSeries.Store(&next)
	return ser
}

// feedResults are pressroom_feed_requests_total's series, resolved once.
type feedResults struct {
	hit, notModified, miss, notFound prometheus.Counter
}

// feedResults resolves the feed request counters; the feeds resolve
// them when they start, so all four series exist from then on.
func (m *Metrics) feedResults() feedResults {
	return feedResults{
		hit:         m.feedRequests.WithLabelValues("hit"),
		notModified: m.feedRequests.WithLabelValues("not_modified"),
		miss:        m.feedRequests.WithLabelValues("miss"),
		notFound:    m.feedRequests.WithLabelValues("not_found"),
	}
}

// ObserveFeedBuild records how long rendering what ("all feeds", a
// section, an export) took.
func (m *Metrics) ObserveFeedBuild(what string, d time.Duration) {
	m.feedBuilds.WithLabelValues(what).Observe(d.Seconds())
}

// ObserveJob records one scheduled job run; cmd/pressroom passes it to
// the scheduler's observer option.
func (m *Metrics) ObserveJob(job string, start time.Time, d time.Duration, err error) {
	m.jobRuns.WithLabelValues(job).Inc()
	m.jobDuration.WithLabelValues(job).Observe(d.Seconds())
	if err != nil {
		m.jobFailures.WithLabelValues(job).Inc()
		return
	}
	m.jobLastSuccess.WithLabelValues(job).Set(float64(start.Add(d).UnixNano()) / 1e9)
}

// ObserveSMTP records the time an SMTP send took until the server's
// final reply, by its outcome.
func (m *Metrics) ObserveSMTP(d time.Duration, status mail.Status) {
	m.smtpReplies.WithLabelValues(status.String()).Observe(d.Seconds())
}

// InstrumentSender wraps a mail sender so every Send is timed into
// pressroom_smtp_reply_duration_seconds.
func (m *Metrics) InstrumentSender(next mail.Sender) mail.Sender {
	return timedSender{next: next, m: m}
}

type timedSender struct {
	next mail.Sender
	m    *Metrics
}

func (t timedSender) Send(ctx context.Context, msg *mail.Message) mail.Result {
	start := time.Now()
	r := t.next.Send(ctx, msg)
	t.m.ObserveSMTP(time.Since(start), r.Status)
	return r
}

// SendBatch observes each message of a batch with the batch's time per
// message: pipelined messages have no time of their own.
func (t timedSender) SendBatch(ctx context.Context, msgs []*mail.Message) []mail.Result {
	start := time.Now()
	res := t.next.SendBatch(ctx, msgs)
	if len(res) > 0 {
		each := time.Since(start) / time.Duration(len(res))
		for _, r := range res {
			t.m.ObserveSMTP(each, r.Status)
		}
	}
	return res
}

// deliveryCollector reads delivery counts from the database at scrape
// time, so the gauge is always the ledger's truth and nothing has to be
// kept in step by the delivery code.
type deliveryCollector struct {
	store  MetricsStore
	logger *slog.Logger
}

var deliveriesDesc = prometheus.NewDesc(
	"pressroom_deliveries",
	"Digest deliveries in the ledger, by state.",
	[]string{"state"}, nil)

func (c *deliveryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deliveriesDesc }

func (c *deliveryCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.store.DeliveryStateCounts(ctx)
	if err != nil {
		c.logger.Error("Metrics: delivery counts failed", "error", err)
		ch <- prometheus.NewInvalidMetric(deliveriesDesc, err)
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.GaugeValue, float64(n), state)
	}
}
