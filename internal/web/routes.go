package web

import "net/http"

// routes registers every endpoint, one line each. Feature areas add their
// lines here and their handlers in their own files.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /static/style.css", s.stylesheet)
}
