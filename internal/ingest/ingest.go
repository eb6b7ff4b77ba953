// Package ingest reads the CMS's JSON Lines files (articles and hourly view
// counts) into validated news values, streaming: a file of any length is
// read one line at a time, never held in memory.
//
// Every bad line is reported with its place, like
//
//	articles.jsonl:17: field "published_at": not an RFC 3339 time
//
// Readers call put for each valid line until the first bad one; after that
// they keep validating to the end, so one run lists every problem, and the
// caller (store.DB.ImportArticles) rolls back what put wrote.
//
// Unknown JSON fields are rejected, naming the field: a CMS developer who
// types "publised_at" learns it at once instead of finding the article
// silently undated. A CMS that adds fields must be met by a Pressroom that
// knows them.
package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// MaxLineBytes is the longest line accepted. Longer lines are reported as
// errors; the line after them is read normally.
const MaxLineBytes = 16 << 20

// maxListed bounds the errors kept in an Errors, so a wholly wrong
// million-line file does not fill memory; the rest are counted.
const maxListed = 1000

// LineError is a problem with one line of an input file.
type LineError struct {
	File string
	Line int // 1-based; 0 for a problem with the file as a whole
	Err  error
}

func (e LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e LineError) Unwrap() error { return e.Err }

// Errors lists every bad line of a file, in line order. When there are
// more than a thousand, the last entry (Line 0) says how many more there were.
type Errors []LineError

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As look at every line's error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// collector gathers line errors up to maxListed.
type collector struct {
	file    string
	errs    Errors
	dropped int
}

func (c *collector) add(line int, err error) {
	if len(c.errs) < maxListed {
		c.errs = append(c.errs, LineError{File: c.file, Line: line, Err: err})
		return
	}
	c.dropped++
}

func (c *collector) failed() bool { return len(c.errs) > 0 }

func (c *collector) err() error {
	if !c.failed() {
		return nil
	}
	if c.dropped > 0 {
		return append(c.errs, LineError{File: c.file, Err: fmt.Errorf("%d more bad lines not listed", c.dropped)})
	}
	return c.errs
}

// lineReader yields the lines of r without their line ending, skipping
// none; it reuses one buffer, so a line is valid until the next call.
type lineReader struct {
	br      *bufio.Reader
	buf     []byte
	n       int // number of the line last returned
	tooLong bool
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 256<<10)}
}

// next returns the next line; io.EOF after the last one. tooLong reports
// that the line exceeded MaxLineBytes (its text is then not returned).
func (lr *lineReader) next() (line []byte, err error) {
	lr.buf = lr.buf[:0]
	lr.tooLong = false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > MaxLineBytes {
			lr.tooLong = true
			lr.buf = lr.buf[:0]
		} else if !lr.tooLong {
			lr.buf = append(lr.buf, chunk...)
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(lr.buf) == 0 && !lr.tooLong {
				return nil, io.EOF
			}
		default:
			return nil, err
		}
		lr.n++
		line = bytes.TrimSuffix(lr.buf, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if lr.n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
		}
		return line, nil
	}
}

// decodeLine decodes one JSON object into v, rejecting unknown fields and
// trailing data, and turns the decoder's errors into field errors.
func decodeLine(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &news.FieldError{Msg: "invalid JSON: more than one value on the line"}
	}
	return nil
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return &news.FieldError{Msg: fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &news.FieldError{Msg: "invalid JSON: unexpected end of line"}
	case errors.As(err, &typ):
		if typ.Field == "" {
			return &news.FieldError{Msg: fmt.Sprintf("invalid JSON: want an object, got %s", typ.Value)}
		}
		return &news.FieldError{Field: typ.Field, Msg: fmt.Sprintf("want %s, got %s", jsonKind(typ.Type.Kind().String()), typ.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f, err := strconv.Unquote(name); err == nil {
			name = f
		}
		return &news.FieldError{Field: name, Msg: "unknown field"}
	}
	return &news.FieldError{Msg: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// jsonKind names a Go kind the way a JSON writer thinks of it.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return k
}

// parseTime parses an RFC 3339 time with an explicit UTC offset.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, &news.FieldError{Field: field, Msg: "required"}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t, nil
	}
	if _, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return time.Time{}, &news.FieldError{Field: field, Msg: "not an RFC 3339 time: no UTC offset (add Z or +03:00)"}
	}
	return time.Time{}, &news.FieldError{Field: field, Msg: "not an RFC 3339 time"}
}

// keySet remembers 128-bit hashes of keys with the line they were first
// seen on, in an open-addressing table of plain integers: a million ids
// cost 20-40 MB instead of the ids themselves, and the garbage collector
// has no pointers to follow. Two keys colliding in 128 bits is not a
// practical concern.
type keySet struct {
	s1, s2 maphash.Seed
	h1, h2 []uint64 // h1 == 0 marks an empty slot
	lines  []uint32
	n      int
}

func newKeySet() *keySet {
	const initial = 1 << 10
	return &keySet{s1: maphash.MakeSeed(), s2: maphash.MakeSeed(),
		h1: make([]uint64, initial), h2: make([]uint64, initial), lines: make([]uint32, initial)}
}

// add records key at line and returns the earlier line holding it, or 0.
func (k *keySet) add(key string, line int) int {
	a, b := maphash.String(k.s1, key)|1, maphash.String(k.s2, key)
	mask := uint64(len(k.h1) - 1)
	for i := a & mask; ; i = (i + 1) & mask {
		switch k.h1[i] {
		case 0:
			k.h1[i], k.h2[i], k.lines[i] = a, b, uint32(line)
			k.n++
			if k.n*8 > len(k.h1)*7 {
				k.grow()
			}
			return 0
		case a:
			if k.h2[i] == b {
				return int(k.lines[i])
			}
		}
	}
}

func (k *keySet) grow() {
	old1, old2, oldLines := k.h1, k.h2, k.lines
	size := 2 * len(old1)
	k.h1, k.h2, k.lines = make([]uint64, size), make([]uint64, size), make([]uint32, size)
	mask := uint64(size - 1)
	for j, a := range old1 {
		if a == 0 {
			continue
		}
		i := a & mask
		for k.h1[i] != 0 {
			i = (i + 1) & mask
		}
		k.h1[i], k.h2[i], k.lines[i] = a, old2[j], oldLines[j]
	}
}

// putError turns an error from put into the error reported for the line:
// a field error inside it is shown as such, without the store's context,
// while errors.Is and errors.As still see the whole chain.
func putError(err error) error {
	var fe *news.FieldError
	if errors.As(err, &fe) {
		return shownAs{shown: fe, err: err}
	}
	return err
}

// shownAs prints as shown but unwraps to err.
type shownAs struct {
	shown error
	err   error
}

func (s shownAs) Error() string { return s.shown.Error() }
func (s shownAs) Unwrap() error { return s.err }
