package digest

import (
	"strings"
	"unicode/utf8"
)

// TextWidth is the column the plain-text part is wrapped at.
const TextWidth = 72

// wrap breaks every line of s longer than width runes at spaces.
// Continuation lines start with hang spaces, so list items line up under
// their text. A word longer than the room left (a URL, say) is never
// broken: it goes on a line of its own, even past width, so it stays
// clickable.
func wrap(s string, width, hang int) string {
	if !needsWrap(s, width) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/width*(hang+1))
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		wrapLine(&b, line, width, hang)
	}
	return b.String()
}

// needsWrap reports whether some line of s is longer than width runes.
func needsWrap(s string, width int) bool {
	n := 0
	for _, r := range s {
		if r == '\n' {
			n = 0
			continue
		}
		n++
		if n > width {
			return true
		}
	}
	return false
}

func wrapLine(b *strings.Builder, line string, width, hang int) {
	line = strings.TrimRight(line, " ")
	if utf8.RuneCountInString(line) <= width {
		b.WriteString(line)
		return
	}
	// Keep the line's own indentation on its first line.
	indent := len(line) - len(strings.TrimLeft(line, " "))
	b.WriteString(line[:indent])
	col := indent
	first := true
	for _, w := range strings.Fields(line[indent:]) {
		n := utf8.RuneCountInString(w)
		switch {
		case first:
			first = false
		case col+1+n <= width:
			b.WriteByte(' ')
			col++
		default:
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(" ", hang))
			col = hang
		}
		b.WriteString(w)
		col += n
	}
}
