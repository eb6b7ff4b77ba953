package mail

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// BenchmarkRender renders a digest-sized message (a Cyrillic HTML part
// of about 21 KB, so base64, and an ASCII text part of about 7 KB, so
// quoted-printable) the way SMTP.SendBatch does: into a reused buffer.
func BenchmarkRender(b *testing.B) {
	m := readerMessage(1)
	m.Text = strings.Repeat("Preparations for a Russia-ASEAN summit in Kazan are going to plan, a\nsenior adviser said.\n", 80)
	m.HTML = strings.Repeat("<p>Подготовка к саммиту идёт по плану, сообщил советник.</p>\n", 200)
	date := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	s := &SMTP{opts: SMTPOptions{Now: func() time.Time { return date }}}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.render(m, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
