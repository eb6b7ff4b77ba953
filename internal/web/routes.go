package web

import "net/http"

// routes registers every endpoint, one line each. Feature areas add their
// lines here and their handlers in their own files.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /static/style.css", s.stylesheet)
	mux.HandleFunc("GET /subscribe", s.subscribeForm)
	mux.HandleFunc("POST /subscribe", s.subscribe)
	mux.HandleFunc("GET /confirm", s.confirm)
	mux.HandleFunc("POST /confirm", s.confirm)
	mux.HandleFunc("GET /preferences", s.preferences)
	mux.HandleFunc("POST /preferences", s.preferences)
	mux.HandleFunc("GET /unsubscribe", s.unsubscribe)
	mux.HandleFunc("POST /unsubscribe", s.unsubscribe)
	mux.HandleFunc("GET /digest/{$}", s.digestList)
	mux.HandleFunc("GET /digest/{date}", s.digestEdition)
	mux.HandleFunc("GET /feeds/{file}", s.serveFeed)
	mux.HandleFunc("GET /feeds.opml", s.serveFeed)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("POST /api/articles", s.authorized("articles", s.postArticles))
	mux.HandleFunc("DELETE /api/articles/{id}", s.authorized("articles", s.deleteArticle))
	mux.HandleFunc("POST /api/views", s.authorized("views", s.postViews))
	mux.HandleFunc("POST /api/sections", s.authorized("sections", s.postSections))
	mux.HandleFunc("GET /api/editions/{date}", s.authorized("editions", s.getEdition))
}
