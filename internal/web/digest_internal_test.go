package web

import (
	"testing"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

func init() {
	pageSamples["digest_list.html"] = digestListData{Editions: []news.EditionSummary{
		{ID: 2, Date: "2017-01-30", Cutoff: time.Date(2017, 1, 30, 5, 0, 0, 0, time.UTC), Articles: 1, TopStory: "Большой театр"},
		{ID: 1, Date: "2017-01-29", Cutoff: time.Date(2017, 1, 29, 5, 0, 0, 0, time.UTC), Articles: 12},
	}}
}

func TestEtagMatches(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`"x", "abc"`, true},
		{`*`, true},
		{`"abcd"`, false},
		{``, false},
	} {
		if got := etagMatches(tc.header, `"abc"`); got != tc.want {
			t.Errorf("etagMatches(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
