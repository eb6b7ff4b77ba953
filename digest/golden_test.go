package digest

import (
	"testing"
	"time"
)

func TestComposeGolden(t *testing.T) {
	r := newFixtureRenderer(t)
	ed := fixtureEdition(t)
	now := time.Date(2017, 1, 29, 5, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		msg  func() (Message, error)
	}{
		{"anna", func() (Message, error) { return r.Compose(ed, readerAnna(), now) }},
		{"bob", func() (Message, error) { return r.Compose(ed, readerBob(), now) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.msg()
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			golden(t, tc.name+".html", m.HTML)
			golden(t, tc.name+".txt", "Subject: "+m.Subject+"\n\n"+m.Text)
		})
	}
}

// TestArchiveGolden pins the all-sections version (the web archive and
// previews without a reader).
func TestArchiveGolden(t *testing.T) {
	p, err := newFixtureRenderer(t).Prepare(fixtureEdition(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.ArchiveMessage()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "archive.html", m.HTML)
	golden(t, "archive.txt", "Subject: "+m.Subject+"\n\n"+m.Text)
	checkTextWidth(t, "archive", m.Text)
}

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"  two  spaces\nand\tlines ", "two spaces and lines"},
		{"bell\x07 and \u0085next", "bell and next"},
		{"", ""},
		{"Большой  театр", "Большой театр"},
	} {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"The <em>Kremlin</em> &amp; Red Square", "The  Kremlin  & Red Square"},
		{"no tags", "no tags"},
	} {
		if got := stripTags(tc.in); got != tc.want {
			t.Errorf("stripTags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
