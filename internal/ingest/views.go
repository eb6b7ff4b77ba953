package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pressroom/pressroom/internal/news"
)

// wireViews is one line of a views file:
//
//	{"article_id":"927791","at":"2017-01-29T10:00:00Z","count":42}
type wireViews struct {
	ArticleID string `json:"article_id"`
	At        string `json:"at"`
	Count     *int64 `json:"count"`
}

// Views reads JSON Lines view counts from r with the same rules as
// Articles: every line is checked (article_id and count required, count
// not negative, at an RFC 3339 time with offset, no article and hour twice
// in the file, since a count is the hour's total), put is called for each
// valid line until the first bad one, and an error from put (such as an
// unknown article) is reported at its line. A count's time is floored to
// its UTC hour.
func Views(r io.Reader, name string, put func(news.ViewCount) error) (int, error) {
	buckets := newKeySet()
	c := &collector{file: name}
	lines := parseLines(r, parseViews, func(p parsed[news.ViewCount]) bool {
		v, err := p.v, p.err
		if err == nil {
			hour := v.At.Unix() - ((v.At.Unix()%3600)+3600)%3600
			key := strconv.FormatInt(hour, 10) + " " + v.ArticleID
			if prev := buckets.add(key, p.line); prev != 0 {
				err = &news.FieldError{Field: "at", Msg: fmt.Sprintf("article %q already has a count for this hour on line %d", v.ArticleID, prev)}
			}
		}
		if err != nil {
			c.add(p.line, err)
			return true
		}
		if !c.failed() {
			if err := put(v); err != nil {
				c.add(p.line, putError(err))
				// A canceled import need not read the rest of the input.
				return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
			}
		}
		return true
	})
	return lines, c.err()
}

func parseViews(line []byte) (news.ViewCount, error) {
	var w wireViews
	if err := decodeLine(line, &w); err != nil {
		return news.ViewCount{}, err
	}
	if strings.TrimSpace(w.ArticleID) == "" {
		return news.ViewCount{}, &news.FieldError{Field: "article_id", Msg: "required"}
	}
	at, err := parseTime("at", w.At)
	if err != nil {
		return news.ViewCount{}, err
	}
	if w.Count == nil {
		return news.ViewCount{}, &news.FieldError{Field: "count", Msg: "required"}
	}
	if *w.Count < 0 {
		return news.ViewCount{}, &news.FieldError{Field: "count", Msg: "negative"}
	}
	return news.ViewCount{ArticleID: w.ArticleID, At: at, Count: *w.Count}, nil
}
