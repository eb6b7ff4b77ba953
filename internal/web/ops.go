package web

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// SchemaStore reports the database's schema version, for /readyz.
type SchemaStore interface {
	SchemaVersion(ctx context.Context) (int, error)
}

// readyz answers 200 when the service can do its work: the database has
// every migration this binary knows applied (Options.SchemaVersion) and
// the page templates are parsed. A load balancer keeps traffic away until
// then; /healthz only says the process and database are alive.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	problem := ""
	switch st, ok := s.store.(SchemaStore); {
	case len(s.pages.tmpl) == 0:
		problem = "page templates not parsed"
	case s.opts.SchemaVersion > 0 && !ok:
		problem = "store cannot report its schema version"
	case s.opts.SchemaVersion > 0:
		v, err := st.SchemaVersion(ctx)
		if err != nil {
			s.logger.Error("Readiness check failed", "request_id", RequestID(r.Context()), "error", err)
			problem = "database unavailable"
		} else if v != s.opts.SchemaVersion {
			problem = fmt.Sprintf("database schema version %d, this binary needs %d: run pressroom migrate", v, s.opts.SchemaVersion)
		}
	}
	if problem != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:", problem)
		return
	}
	fmt.Fprintln(w, "ready")
}

// Metrics returns the Server's metrics, for the hooks other parts call
// (scheduler observer, mail sender, feed cache).
func (s *Server) Metrics() *Metrics { return s.metrics }

// serveMetrics serves /metrics in the Prometheus text format.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s.metricsHandler.ServeHTTP(w, r)
}
