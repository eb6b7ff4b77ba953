package web

import (
	"fmt"
	"net/http"

	"github.com/pressroom/pressroom/internal/news"
)

// indexSection is one section block of the index page.
type indexSection struct {
	Section   news.Section
	Headlines []news.Article
}

// index lists every section with its latest headlines (embargoed articles
// held back).
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sections, err := s.store.Sections(ctx)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("web: index: %w", err))
		return
	}
	now := s.now()
	blocks := make([]indexSection, 0, len(sections))
	for _, sec := range sections {
		arts, err := s.store.LatestArticles(ctx, sec.Slug, s.opts.IndexHeadlines, now)
		if err != nil {
			s.serverError(w, r, fmt.Errorf("web: index: section %q: %w", sec.Slug, err))
			return
		}
		blocks = append(blocks, indexSection{Section: sec, Headlines: arts})
	}
	s.render(w, r, http.StatusOK, "index.html", s.page(r, "", blocks))
}
