package web

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"
)

type requestIDKey struct{}

// RequestID returns the id the logging middleware gave the request, or ""
// outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validIncomingID accepts a request id set by a reverse proxy in front
// (X-Request-Id) when it is short and harmless to log: 1-64 characters
// from [A-Za-z0-9._-]. (A loop, not a regexp: it runs on every request.)
func validIncomingID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// requestIDs makes request ids: 16 hex digits. Each id is a counter,
// offset by a random seed, passed through a bijective 64-bit mixer
// (SplitMix64's finaliser): no two requests of one process share an id,
// two processes are unlikely to, and no id costs a system call or a lock.
// An id correlates log lines; it is no secret (responses carry it).
type requestIDs struct {
	seed uint64
	n    atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return &requestIDs{seed: binary.LittleEndian.Uint64(b[:])}
}

func (g *requestIDs) next() string {
	x := g.seed + g.n.Add(1)*0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[x&0xf]
		x >>= 4
	}
	return string(b[:])
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// idContext carries the request id. It is context.WithValue's valueCtx
// made part of requestState, so the id costs no allocation of its own.
type idContext struct {
	context.Context
	id string
}

func (c *idContext) Value(key any) any {
	if _, ok := key.(requestIDKey); ok {
		return c.id
	}
	return c.Context.Value(key)
}

// requestState is everything the logging middleware keeps for one
// request, in one allocation: the status-recording writer, the context
// with the id, and the X-Request-Id header value.
type requestState struct {
	sw    statusWriter
	ctx   idContext
	idHdr [1]string
}

// logRequests gives every request an id (X-Request-Id in the response and
// RequestID(ctx) for handlers), counts it in the metrics and logs one line
// per request. Only the path is logged, never the query string: links
// carry tokens there. It runs on every request, feeds included, so it
// avoids what costs: no regexp, no random-number system call, header
// values assigned directly, metric series resolved once per route, and
// the log line's attributes built only when the level is enabled.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{sw: statusWriter{ResponseWriter: w}}
		id := ""
		if v := r.Header["X-Request-Id"]; len(v) > 0 && validIncomingID(v[0]) {
			id = v[0]
		} else {
			id = s.ids.next()
		}
		st.idHdr[0] = id
		w.Header()["X-Request-Id"] = st.idHdr[:]
		st.ctx = idContext{Context: r.Context(), id: id}
		r = r.WithContext(&st.ctx)
		next.ServeHTTP(&st.sw, r)
		status := st.sw.status
		if status == 0 {
			status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.observeHTTP(r.Pattern, r.Method, status, d)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if !s.logger.Enabled(r.Context(), level) {
			return
		}
		s.logger.LogAttrs(r.Context(), level, "HTTP request",
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", r.Pattern),
			slog.Int("status", status),
			slog.Int64("bytes", st.sw.bytes),
			slog.Duration("duration", d),
		)
	})
}

// recoverPanics turns a handler panic into a logged 500 instead of a
// dropped connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.Error("Handler panic", "request_id", RequestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
			http.Error(w, "internal server error", http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}
