package feeds

import (
	"testing"

	"github.com/pressroom/pressroom/internal/news"
)

// TestSectionsCannotTakeFeedNames: the names of the feeds across sections
// are exactly the slugs news refuses for a section, so /feeds/all.rss can
// never mean two things.
func TestSectionsCannotTakeFeedNames(t *testing.T) {
	for _, name := range []string{FeedAll, FeedTop, FeedMostRead} {
		if !news.ReservedSlug(name) {
			t.Errorf("news.ReservedSlug(%q) = false: a section could take the feed's name", name)
		}
		if fe := news.ValidateSection(news.Section{Slug: name, Title: "T"}); fe == nil {
			t.Errorf("a section named %q is accepted", name)
		}
	}
}
