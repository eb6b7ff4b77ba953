package news

import (
	"testing"
	"time"
)

func TestParseEditionDate(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2017-01-29", time.Date(2017, 1, 29, 0, 0, 0, 0, loc), true},
		{"2016-02-29", time.Date(2016, 2, 29, 0, 0, 0, 0, loc), true},
		{"2017-02-29", time.Time{}, false},
		{"2017-1-29", time.Time{}, false},
		{"29.01.2017", time.Time{}, false},
		{"2017-01-29T00:00:00Z", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, err := ParseEditionDate(tc.in, loc)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("ParseEditionDate(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil {
			if fe, isFE := err.(*FieldError); !isFE || fe.Field != "date" {
				t.Errorf("ParseEditionDate(%q) error = %#v, want a FieldError for field date", tc.in, err)
			}
		}
	}
}

func TestDeliveryWantsSection(t *testing.T) {
	all := Delivery{}
	some := Delivery{Sections: []string{"politics", "world"}}
	if !all.WantsSection("sport") {
		t.Errorf("a delivery with no chosen sections should want every section")
	}
	if !some.WantsSection("world") || some.WantsSection("sport") {
		t.Errorf("WantsSection on %v: world=%v sport=%v, want true, false", some.Sections, some.WantsSection("world"), some.WantsSection("sport"))
	}
}
