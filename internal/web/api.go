package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/ingest"
	"github.com/pressroom/pressroom/internal/news"
)

// The admin API (issue 7): the CMS pushes articles, view counts and
// sections, retracts articles, and reads delivery counts, with a bearer
// token created by `pressroom tokens create`. Every answer is JSON; input
// errors list the line, field and message of every bad line, and a
// rejected request writes nothing.

// ErrNotFound and ErrExists are what APIStore methods wrap for a missing
// row and for a row that is already there; cmd/pressroom's adapter maps
// the store's own sentinels to these.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// ImportCounts says what an article import did.
type ImportCounts struct {
	Inserted, Updated, Unchanged int
}

// APIStore is what the admin API needs from the database.
type APIStore interface {
	Sections(ctx context.Context) ([]news.Section, error)
	// AddSection wraps ErrExists when the slug is taken.
	AddSection(ctx context.Context, s news.Section) error
	// ImportArticles and ImportViews run fill in one transaction and
	// write nothing when fill fails.
	ImportArticles(ctx context.Context, now time.Time, fill func(put func(news.Article) error) error) (ImportCounts, error)
	ImportViews(ctx context.Context, fill func(put func(news.ViewCount) error) error) (int, error)
	// DeleteArticle wraps ErrNotFound for an unknown id.
	DeleteArticle(ctx context.Context, id string) error
	// APITokens lists every token ever created, revoked ones included.
	APITokens(ctx context.Context) ([]news.APIToken, error)
	// EditionByDate wraps news.ErrNoEdition when the date has none.
	EditionByDate(ctx context.Context, date string) (news.Edition, error)
	// DeliveryCounts returns an edition's deliveries per state.
	DeliveryCounts(ctx context.Context, editionID int64) (map[news.DeliveryState]int, error)
}

// APIOptions configures the admin API. Without Options.API the /api/
// routes answer 404.
type APIOptions struct {
	// Store is the API's store; nil means Options.Store, which must then
	// implement APIStore.
	Store APIStore
	// MaxBody caps a request body in bytes; default 32 MiB. Larger
	// bodies get 413.
	MaxBody int64
	// Changed is called after every accepted change, before the answer
	// is sent. Default: rebuild the feeds (RefreshFeeds), so a client that
	// got 200 finds its article in the feeds at once.
	Changed func(ctx context.Context) error
}

// DefaultAPIMaxBody is the default cap on an admin API request body.
const DefaultAPIMaxBody = 32 << 20

// api is the state of the admin API.
type api struct {
	opts  APIOptions
	store APIStore
}

// initAPI validates Options.API.
func (s *Server) initAPI() error {
	ao := s.opts.API
	if ao == nil {
		return nil
	}
	o := *ao
	if o.Store == nil {
		st, ok := s.opts.Store.(APIStore)
		if !ok {
			return errors.New("web: api: Store does not implement APIStore; set APIOptions.Store")
		}
		o.Store = st
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultAPIMaxBody
	}
	if o.Changed == nil {
		o.Changed = s.RefreshFeeds
	}
	s.api = &api{opts: o, store: o.Store}
	return nil
}

// apiError is the JSON body of every API error.
type apiError struct {
	Error  string      `json:"error"`
	Errors []lineError `json:"errors,omitempty"`
}

// lineError is one bad line of an API request body.
type lineError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // only our own plain structs are encoded
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) apiFail(w http.ResponseWriter, kind, reason string, status int, msg string, lines []lineError) {
	s.metrics.ingestRejected.WithLabelValues(kind, reason).Inc()
	writeJSON(w, status, apiError{Error: msg, Errors: lines})
}

// authorized wraps an API handler: the API must be enabled, the request
// must carry a valid bearer token (401 without one or with an unknown one,
// 403 with a revoked one), and the body is capped at MaxBody (413).
// kind labels the rejection metrics.
func (s *Server) authorized(kind string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.api == nil {
			writeJSON(w, http.StatusNotFound, apiError{Error: "the admin API is not enabled on this server"})
			return
		}
		token, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pressroom"`)
			s.apiFail(w, kind, "unauthorized", http.StatusUnauthorized,
				"missing bearer token: send Authorization: Bearer TOKEN (create one with `pressroom tokens create NAME`)", nil)
			return
		}
		tok, found, err := s.api.lookupToken(r.Context(), token)
		if err != nil {
			s.apiServerError(w, r, fmt.Errorf("web: api: check token: %w", err))
			return
		}
		if !found {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pressroom", error="invalid_token"`)
			s.apiFail(w, kind, "unauthorized", http.StatusUnauthorized, "unknown bearer token", nil)
			return
		}
		if !tok.RevokedAt.IsZero() {
			s.logger.Warn("API request with a revoked token", "request_id", RequestID(r.Context()), "token", tok.Name)
			s.apiFail(w, kind, "forbidden", http.StatusForbidden,
				fmt.Sprintf("token %q was revoked on %s", tok.Name, tok.RevokedAt.UTC().Format(time.RFC3339)), nil)
			return
		}
		if r.ContentLength > s.api.opts.MaxBody {
			s.tooLarge(w, kind)
			return
		}
		r.Body = &cappedBody{ReadCloser: http.MaxBytesReader(w, r.Body, s.api.opts.MaxBody)}
		s.logger.Debug("API request authorized", "request_id", RequestID(r.Context()), "token", tok.Name)
		h(w, r)
	}
}

func (s *Server) tooLarge(w http.ResponseWriter, kind string) {
	s.apiFail(w, kind, "too_large", http.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body larger than %d bytes; split the batch (nothing was written)", s.api.opts.MaxBody), nil)
}

// cappedBody remembers that the body hit the cap: ingest reports read
// errors as line errors in its own words, and the answer must still be
// 413, not a list of bad lines.
type cappedBody struct {
	io.ReadCloser
	hit bool
}

func (c *cappedBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		c.hit = true
	}
	return n, err
}

// apiServerError logs err and answers 500 in JSON, without details.
func (s *Server) apiServerError(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.Error("API request failed", "request_id", RequestID(r.Context()), "path", r.URL.Path, "error", err)
	writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal server error; the problem has been logged"})
}

// bearerToken returns the token of an "Authorization: Bearer TOKEN"
// header (scheme case-insensitive, RFC 6750).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// lookupToken finds the stored token whose hash matches token's SHA-256.
// Every stored hash is compared, in constant time, whatever matches: the
// time taken says nothing about which token, or how much of one, was
// right.
func (a *api) lookupToken(ctx context.Context, token string) (news.APIToken, bool, error) {
	sum := sha256.Sum256([]byte(token))
	toks, err := a.store.APITokens(ctx)
	if err != nil {
		return news.APIToken{}, false, err
	}
	match := -1
	for i, t := range toks {
		if subtle.ConstantTimeCompare(sum[:], t.Hash) == 1 {
			match = i
		}
	}
	if match < 0 {
		return news.APIToken{}, false, nil
	}
	return toks[match], true, nil
}

// requestBody returns a reader of the request body as JSON Lines. A body
// sent as application/json may be one JSON object, possibly spread over
// several lines; it becomes a one-line batch. JSON Lines types
// (application/x-ndjson, application/jsonl, ...) are streamed as they are.
func requestBody(r *http.Request) (io.Reader, error) {
	ct := r.Header.Get("Content-Type")
	mt := "application/json"
	if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, errUnsupportedType
		}
	}
	switch mt {
	case "application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines", "application/ndjson":
		return r.Body, nil
	case "application/json":
	default:
		return nil, errUnsupportedType
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		var one bytes.Buffer
		if err := json.Compact(&one, trimmed); err == nil {
			return &one, nil
		}
	}
	return bytes.NewReader(body), nil
}

var errUnsupportedType = errors.New("unsupported content type")

// inputError answers a request whose body could not be used: 413 when it
// was cut off at MaxBody, 415 for a wrong content type, else 400 with
// every bad line.
func (s *Server) inputError(w http.ResponseWriter, r *http.Request, kind string, err error) {
	var tooBig *http.MaxBytesError
	var lines ingest.Errors
	cb, _ := r.Body.(*cappedBody)
	switch {
	case errors.As(err, &tooBig), cb != nil && cb.hit:
		s.tooLarge(w, kind)
	case errors.Is(err, errUnsupportedType):
		s.apiFail(w, kind, "invalid", http.StatusUnsupportedMediaType,
			"send application/json (one object) or application/x-ndjson (JSON Lines)", nil)
	case errors.As(err, &lines):
		out := make([]lineError, 0, len(lines))
		for _, le := range lines {
			e := lineError{Line: le.Line, Message: le.Err.Error()}
			var fe *news.FieldError
			if errors.As(le.Err, &fe) {
				e.Field, e.Message = fe.Field, fe.Msg
			}
			out = append(out, e)
		}
		s.apiFail(w, kind, "invalid", http.StatusBadRequest,
			fmt.Sprintf("%d bad lines; nothing was written", len(out)), out)
	default:
		s.apiServerError(w, r, err)
	}
}

// postArticles imports one article or a JSON Lines batch, all or nothing,
// with the same validation as `pressroom import`.
func (s *Server) postArticles(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := requestBody(r)
	if err != nil {
		s.inputError(w, r, "articles", err)
		return
	}
	sections, err := s.api.store.Sections(ctx)
	if err != nil {
		s.apiServerError(w, r, fmt.Errorf("web: api: articles: %w", err))
		return
	}
	var lines int
	counts, err := s.api.store.ImportArticles(ctx, s.now(), func(put func(news.Article) error) error {
		n, err := ingest.Articles(body, "request", sections, put)
		lines = n
		return err
	})
	if err != nil {
		s.inputError(w, r, "articles", err)
		return
	}
	if lines == 0 {
		s.apiFail(w, "articles", "invalid", http.StatusBadRequest, "the request body holds no article", nil)
		return
	}
	for outcome, n := range map[string]int{"inserted": counts.Inserted, "updated": counts.Updated, "unchanged": counts.Unchanged} {
		s.metrics.ingestItems.WithLabelValues("articles", outcome).Add(float64(n))
	}
	if counts.Inserted+counts.Updated > 0 {
		s.changed(r)
	}
	s.logger.Info("API articles imported", "request_id", RequestID(ctx),
		"inserted", counts.Inserted, "updated", counts.Updated, "unchanged", counts.Unchanged)
	writeJSON(w, http.StatusOK, map[string]int{
		"inserted": counts.Inserted, "updated": counts.Updated, "unchanged": counts.Unchanged,
	})
}

// deleteArticle retracts an article: it leaves the database, and so every
// feed and every edition planned from now on.
func (s *Server) deleteArticle(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.api.store.DeleteArticle(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: fmt.Sprintf("no article with id %q", id)})
		return
	case err != nil:
		s.apiServerError(w, r, fmt.Errorf("web: api: delete article: %w", err))
		return
	}
	s.metrics.ingestItems.WithLabelValues("articles", "deleted").Inc()
	s.changed(r)
	s.logger.Info("API article retracted", "request_id", RequestID(r.Context()), "article_id", id)
	w.WriteHeader(http.StatusNoContent)
}

// postViews imports hourly view counts in the views-import format, all or
// nothing.
func (s *Server) postViews(w http.ResponseWriter, r *http.Request) {
	body, err := requestBody(r)
	if err != nil {
		s.inputError(w, r, "views", err)
		return
	}
	var lines int
	n, err := s.api.store.ImportViews(r.Context(), func(put func(news.ViewCount) error) error {
		l, err := ingest.Views(body, "request", put)
		lines = l
		return err
	})
	if err != nil {
		s.inputError(w, r, "views", err)
		return
	}
	if lines == 0 {
		s.apiFail(w, "views", "invalid", http.StatusBadRequest, "the request body holds no view count", nil)
		return
	}
	s.metrics.ingestItems.WithLabelValues("views", "imported").Add(float64(n))
	if n > 0 {
		// The most-read feeds depend on views.
		s.changed(r)
	}
	writeJSON(w, http.StatusOK, map[string]int{"imported": n})
}

// wireSection is a section as the API and sections.jsonl spell it.
type wireSection struct {
	Slug        string `json:"slug"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Position    int    `json:"position"`
}

// postSections adds one section.
func (s *Server) postSections(w http.ResponseWriter, r *http.Request) {
	body, err := requestBody(r)
	if err != nil {
		s.inputError(w, r, "sections", err)
		return
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		s.inputError(w, r, "sections", err)
		return
	}
	var ws wireSection
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ws); err != nil {
		s.apiFail(w, "sections", "invalid", http.StatusBadRequest, "invalid section",
			[]lineError{{Line: 1, Message: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}})
		return
	}
	if dec.More() {
		s.apiFail(w, "sections", "invalid", http.StatusBadRequest, "invalid section",
			[]lineError{{Line: 1, Message: "send one section per request"}})
		return
	}
	sec := news.Section{Slug: ws.Slug, Title: ws.Title, Description: ws.Description, Position: ws.Position}
	if fe := news.ValidateSection(sec); fe != nil {
		s.apiFail(w, "sections", "invalid", http.StatusBadRequest, "invalid section",
			[]lineError{{Line: 1, Field: fe.Field, Message: fe.Msg}})
		return
	}
	err = s.api.store.AddSection(r.Context(), sec)
	switch {
	case errors.Is(err, ErrExists):
		s.apiFail(w, "sections", "invalid", http.StatusConflict, fmt.Sprintf("section %q already exists", sec.Slug), nil)
		return
	case err != nil:
		s.apiServerError(w, r, fmt.Errorf("web: api: add section: %w", err))
		return
	}
	s.metrics.ingestItems.WithLabelValues("sections", "inserted").Inc()
	s.changed(r)
	w.Header().Set("Location", "/feeds/"+sec.Slug+".rss")
	writeJSON(w, http.StatusCreated, ws)
}

// changed runs the Changed hook after an accepted write. The write is
// committed whatever happens here: a failure is logged, and the feeds'
// own refresher catches up within a second.
func (s *Server) changed(r *http.Request) {
	if err := s.api.opts.Changed(r.Context()); err != nil {
		s.logger.Error("Refresh after an API change failed", "request_id", RequestID(r.Context()), "error", err)
	}
}

// editionStatus is the answer of GET /api/editions/{date}.
type editionStatus struct {
	Date       string         `json:"date"`
	PlannedAt  time.Time      `json:"planned_at"`
	From       time.Time      `json:"window_from"`
	Cutoff     time.Time      `json:"cutoff"`
	Articles   int            `json:"articles"`
	Deliveries map[string]int `json:"deliveries"` // every state, zeros included
	Total      int            `json:"total"`
}

// deliveryStates lists every state, so that a dashboard sees zeros
// instead of missing keys.
var deliveryStates = []news.DeliveryState{
	news.DeliveryQueued, news.DeliverySending, news.DeliverySent, news.DeliveryDeferred,
	news.DeliveryFailed, news.DeliverySkipped, news.DeliveryUnknown,
}

// getEdition reports an edition and how many of its deliveries are in
// each state (queued, sending, sent, deferred, failed, skipped, unknown).
func (s *Server) getEdition(w http.ResponseWriter, r *http.Request) {
	date := r.PathValue("date")
	if _, err := news.ParseEditionDate(date, s.opts.Location); err != nil {
		s.apiFail(w, "editions", "invalid", http.StatusBadRequest,
			fmt.Sprintf("%q is not an edition date (YYYY-MM-DD)", date), nil)
		return
	}
	ed, err := s.api.store.EditionByDate(r.Context(), date)
	switch {
	case errors.Is(err, news.ErrNoEdition):
		writeJSON(w, http.StatusNotFound, apiError{Error: fmt.Sprintf("no edition for %s", date)})
		return
	case err != nil:
		s.apiServerError(w, r, fmt.Errorf("web: api: edition %s: %w", date, err))
		return
	}
	counts, err := s.api.store.DeliveryCounts(r.Context(), ed.ID)
	if err != nil {
		s.apiServerError(w, r, fmt.Errorf("web: api: edition %s: %w", date, err))
		return
	}
	st := editionStatus{
		Date: ed.Date, PlannedAt: ed.PlannedAt.UTC(), From: ed.From.UTC(), Cutoff: ed.Cutoff.UTC(),
		Articles: ed.ArticleCount(), Deliveries: map[string]int{},
	}
	for _, state := range deliveryStates {
		st.Deliveries[string(state)] = 0
	}
	for state, n := range counts {
		st.Deliveries[string(state)] = n
		st.Total += n
	}
	writeJSON(w, http.StatusOK, st)
}
