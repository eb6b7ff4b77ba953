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
