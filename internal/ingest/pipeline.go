package ingest

import (
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/pressroom/pressroom/internal/news"
)

// parsed is the outcome of one non-blank line.
type parsed[T any] struct {
	line int // 1-based line number
	v    T
	err  error
}

// lineBatch carries consecutive lines from the reader to a parse worker
// and, in order, to the consumer.
type lineBatch[T any] struct {
	buf  []byte // the lines' bytes, back to back
	ends []int  // end offset in buf of each line
	out  []parsed[T]
	done chan struct{} // closed when out is filled
}

const (
	batchLines = 256
	batchBytes = 1 << 20
)

// parseLines reads r line by line and parses the non-blank lines with
// parse on GOMAXPROCS goroutines, while the calling goroutine gets the
// results through each, in line order. JSON decoding is the costliest part
// of an import, so it overlaps with the caller's database writes. Memory
// stays bounded: at most a few batches of about 1 MiB are in flight.
// parse must not keep the slice it is given. When each returns false,
// reading stops (the rest of the input is not read). It returns the
// number of non-blank lines handed to each.
func parseLines[T any](r io.Reader, parse func([]byte) (T, error), each func(parsed[T]) bool) int {
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *lineBatch[T], workers)
	order := make(chan *lineBatch[T], 2*workers+1)
	free := make(chan *lineBatch[T], 3*workers+2)
	quit := make(chan struct{})

	go func() { // reader
		defer close(work)
		defer close(order)
		lr := newLineReader(r)
		var b *lineBatch[T]
		send := func() {
			if b != nil && len(b.out) > 0 {
				order <- b
				work <- b
			}
			b = nil
		}
		for {
			select {
			case <-quit:
				return
			default:
			}
			if b == nil {
				select {
				case b = <-free:
					b.buf, b.ends, b.out = b.buf[:0], b.ends[:0], b.out[:0]
				default:
					b = &lineBatch[T]{}
				}
				b.done = make(chan struct{})
			}
			line, err := lr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.ends = append(b.ends, len(b.buf))
				b.out = append(b.out, parsed[T]{line: lr.n + 1, err: &news.FieldError{Msg: fmt.Sprintf("read: %v", err)}})
				break
			}
			switch {
			case lr.tooLong:
				b.ends = append(b.ends, len(b.buf))
				b.out = append(b.out, parsed[T]{line: lr.n, err: &news.FieldError{Msg: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}})
			case isBlank(line):
				continue
			default:
				b.buf = append(b.buf, line...)
				b.ends = append(b.ends, len(b.buf))
				b.out = append(b.out, parsed[T]{line: lr.n})
			}
			if len(b.out) >= batchLines || len(b.buf) >= batchBytes {
				send()
			}
		}
		send()
	}()

	for range workers {
		go func() {
			for b := range work {
				start := 0
				for i, end := range b.ends {
					if b.out[i].err == nil {
						b.out[i].v, b.out[i].err = parse(b.buf[start:end])
					}
					start = end
				}
				close(b.done)
			}
		}()
	}

	n := 0
	stopped := false
	for b := range order {
		<-b.done
		for _, p := range b.out {
			if stopped {
				break
			}
			n++
			if !each(p) {
				stopped = true
				close(quit) // the reader stops; the loop drains what is in flight
			}
		}
		clear(b.out) // drop references to parsed values
		select {
		case free <- b:
		default:
		}
	}
	return n
}

func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
