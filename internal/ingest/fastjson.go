package ingest

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// fastArticle decodes the common shape of an article line without
// encoding/json, which spends most of an import's parsing time scanning
// each byte twice. It handles exactly what encoding/json would accept the
// same way: known keys spelled exactly, each at most once, strings with
// the usual escapes, integers, booleans. On anything else (null, unknown
// or differently cased keys, surrogate escapes, invalid UTF-8, bad syntax)
// it returns false and the caller decodes with encoding/json, which also
// words the error. TestFastArticleMatchesEncodingJSON holds the two equal.
func fastArticle(line []byte, w *wireArticle) bool {
	s := scanner{b: line}
	var seen uint32
	ok := s.object(func(key string) bool {
		bit, known := articleKeys[key]
		if !known || seen&bit != 0 {
			return false
		}
		seen |= bit
		switch key {
		case "id":
			return s.str(&w.ID)
		case "url":
			return s.str(&w.URL)
		case "section":
			return s.str(&w.Section)
		case "title":
			return s.str(&w.Title)
		case "lead":
			return s.str(&w.Lead)
		case "body_html":
			return s.str(&w.BodyHTML)
		case "dateline":
			return s.str(&w.Dateline)
		case "published_at":
			return s.str(&w.PublishedAt)
		case "updated_at":
			return s.str(&w.UpdatedAt)
		case "authors":
			return s.strs(&w.Authors)
		case "tags":
			return s.strs(&w.Tags)
		case "top_story":
			return s.boolean(&w.TopStory)
		case "image":
			w.Image = &wireImage{}
			return s.image(w.Image)
		case "related":
			return s.links(&w.Related)
		}
		return false
	})
	s.ws()
	return ok && s.i == len(s.b)
}

var articleKeys = map[string]uint32{
	"id": 1 << 0, "url": 1 << 1, "section": 1 << 2, "title": 1 << 3, "lead": 1 << 4,
	"body_html": 1 << 5, "dateline": 1 << 6, "authors": 1 << 7, "published_at": 1 << 8,
	"updated_at": 1 << 9, "image": 1 << 10, "related": 1 << 11, "tags": 1 << 12, "top_story": 1 << 13,
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, reporting whether c was there.
func (s *scanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads {"key": value, ...}, calling member for each key with the
// scanner before the value.
func (s *scanner) object(member func(key string) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	for {
		var key string
		s.ws()
		if !s.str(&key) || !s.consume(':') {
			return false
		}
		s.ws()
		if !member(key) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// array reads [elem, ...], calling elem before each element.
func (s *scanner) array(elem func() bool) bool {
	if !s.consume('[') {
		return false
	}
	if s.consume(']') {
		return true
	}
	for {
		s.ws()
		if !elem() {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}

func (s *scanner) str(dst *string) bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			raw := s.b[start:j]
			if !utf8.Valid(raw) {
				return false
			}
			*dst = string(raw)
			s.i = j + 1
			return true
		case c == '\\':
			return s.escaped(dst, start)
		case c < 0x20:
			return false
		}
	}
	return false
}

// escaped decodes a string that contains escapes, from start (just after
// the opening quote).
func (s *scanner) escaped(dst *string, start int) bool {
	out := make([]byte, 0, 64)
	for j := start; j < len(s.b); {
		c := s.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return false
			}
			*dst = string(out)
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(s.b) {
			return false
		}
		switch e := s.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if j+6 > len(s.b) {
				return false
			}
			r, err := strconv.ParseUint(string(s.b[j+2:j+6]), 16, 32)
			if err != nil || utf16.IsSurrogate(rune(r)) {
				return false // surrogate pairs: leave to encoding/json
			}
			out = utf8.AppendRune(out, rune(r))
			j += 6
			continue
		default:
			return false
		}
		j += 2
	}
	return false
}

func (s *scanner) strs(dst *[]string) bool {
	out := []string{}
	ok := s.array(func() bool {
		var v string
		if !s.str(&v) {
			return false
		}
		out = append(out, v)
		return true
	})
	*dst = out
	return ok
}

func (s *scanner) boolean(dst *bool) bool {
	switch {
	case len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "true":
		*dst, s.i = true, s.i+4
	case len(s.b)-s.i >= 5 && string(s.b[s.i:s.i+5]) == "false":
		*dst, s.i = false, s.i+5
	default:
		return false
	}
	return true
}

// integer reads a JSON integer (no fraction or exponent) that fits in 53
// bits, which every int field here does when valid.
func (s *scanner) integer(dst *int64) bool {
	j := s.i
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	digits := j
	for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
		j++
	}
	n := j - digits
	if n == 0 || n > 15 || (n > 1 && s.b[digits] == '0') {
		return false
	}
	if j < len(s.b) && (s.b[j] == '.' || s.b[j] == 'e' || s.b[j] == 'E') {
		return false
	}
	v, err := strconv.ParseInt(string(s.b[s.i:j]), 10, 64)
	if err != nil {
		return false
	}
	*dst, s.i = v, j
	return true
}

func (s *scanner) image(im *wireImage) bool {
	var seen uint32
	return s.object(func(key string) bool {
		var bit uint32
		switch key {
		case "url":
			bit = 1
		case "caption":
			bit = 2
		case "credit":
			bit = 4
		case "width":
			bit = 8
		case "height":
			bit = 16
		case "type":
			bit = 32
		case "length":
			bit = 64
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		var n int64
		switch key {
		case "url":
			return s.str(&im.URL)
		case "caption":
			return s.str(&im.Caption)
		case "credit":
			return s.str(&im.Credit)
		case "type":
			return s.str(&im.Type)
		case "width":
			ok := s.integer(&n)
			im.Width = int(n)
			return ok
		case "height":
			ok := s.integer(&n)
			im.Height = int(n)
			return ok
		default: // length
			ok := s.integer(&n)
			im.Length = n
			return ok
		}
	})
}

func (s *scanner) links(dst *[]wireLink) bool {
	out := []wireLink{}
	ok := s.array(func() bool {
		var l wireLink
		var seen uint32
		if !s.object(func(key string) bool {
			switch {
			case key == "title" && seen&1 == 0:
				seen |= 1
				return s.str(&l.Title)
			case key == "url" && seen&2 == 0:
				seen |= 2
				return s.str(&l.URL)
			}
			return false
		}) {
			return false
		}
		out = append(out, l)
		return true
	})
	*dst = out
	return ok
}
