package feeds

import (
	"net/url"
	"strings"
	"testing"
)

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
		{"nul\x00 soh\x01 us\x1f", "nul soh us"},
		{"del\x7f c1\u0085\u009f", "del c1"},
		{"nonchars \uFFFE\uFFFF kept \uFFFD", "nonchars  kept \uFFFD"},
		{"bad utf8 \xff\xfe end", "bad utf8  end"},
		{"surrogate \xed\xa0\x80 end", "surrogate  end"},
		{"Кириллица 🚀 עברית العربية 中文", "Кириллица 🚀 עברית العربية 中文"},
		{"astral \U0001F600 \U0010FFFD", "astral \U0001F600 \U0010FFFD"},
	}
	for _, tt := range tests {
		if got := cleanText(tt.in); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlain(t *testing.T) {
	s := newSanitizer()
	tests := []struct{ in, want string }{
		{"Plain title", "Plain title"},
		{"<b>Bold</b> and <i>italic</i>", "Bold and italic"},
		{"AT&amp;T", "AT&T"},
		{"AT&T", "AT&T"},
		{"&amp;lt;b&amp;gt; decoded once", "&lt;b&gt; decoded once"},
		{"&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"},
		{"a < b > c", "a < b > c"},
		{"I <3 feeds", "I <3 feeds"},
		{"x<script>alert(1)</script>y", "xy"},
		{"  many \n\t spaces  ", "many spaces"},
		{"&mdash; &#8212; &#x2014;", "— — —"},
		{"&#1; control by entity", "control by entity"},
		{"Москва &laquo;сегодня&raquo;", "Москва «сегодня»"},
	}
	for _, tt := range tests {
		if got := s.plain(tt.in); got != tt.want {
			t.Errorf("plain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSanitizeBody(t *testing.T) {
	s := newSanitizer()
	base, _ := url.Parse("https://tass.example/politics/927791")
	tests := []struct {
		name      string
		in        string
		want      []string // substrings the output must contain
		forbidden []string
	}{
		{"script", `<p>a<script>alert(1)</script>b</p>`, []string{"<p>ab</p>"}, []string{"script", "alert"}},
		{"style", `<style>p{color:red}</style><p style="color:red">x</p>`, []string{"<p>x</p>"}, []string{"style", "color"}},
		{"iframe", `<iframe src="https://evil.example/"></iframe><p>x</p>`, []string{"<p>x</p>"}, []string{"iframe", "evil"}},
		{"event handler", `<p onclick="steal()" onmouseover="x()">x</p>`, []string{"<p>x</p>"}, []string{"onclick", "onmouseover", "steal"}},
		{"javascript url", `<a href="javascript:alert(1)">x</a><a href=" JaVaScRiPt:alert(2)">y</a>`, []string{"x", "y"}, []string{"javascript", "alert"}},
		{"data url", `<img src="data:text/html;base64,PHNjcmlwdD4=">`, nil, []string{"data:"}},
		{"relative href", `<a href="/world/1">w</a>`, []string{`<a href="https://tass.example/world/1">w</a>`}, nil},
		{"relative to path", `<img src="img/a.png" alt="a">`, []string{`src="https://tass.example/politics/img/a.png"`}, nil},
		{"protocol relative", `<a href="//cdn.example/x">x</a>`, []string{`href="https://cdn.example/x"`}, nil},
		{"fragment", `<a href="#part2">p</a>`, []string{`href="https://tass.example/politics/927791#part2"`}, nil},
		{"absolute kept", `<a href="https://other.example/a?b=1&amp;c=2">o</a>`, []string{`href="https://other.example/a?b=1&amp;c=2"`}, nil},
		{"form", `<form action="/x"><input name="a"></form>`, nil, []string{"form", "input"}},
		{"object", `<object data="x.swf"></object><embed src="y.swf">`, nil, []string{"object", "embed", "swf"}},
		{"controls", "<p>a\x00b\x0bc</p>", []string{"<p>abc</p>"}, nil},
		{"unicode", "<p>Привет 🌍 שלום</p>", []string{"<p>Привет 🌍 שלום</p>"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.html(s.body, tt.in, base)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("html(%q) = %q, want it to contain %q", tt.in, got, w)
				}
			}
			for _, f := range tt.forbidden {
				if strings.Contains(strings.ToLower(got), f) {
					t.Errorf("html(%q) = %q, must not contain %q", tt.in, got, f)
				}
			}
		})
	}
}

func TestSanitizeCaption(t *testing.T) {
	s := newSanitizer()
	base, _ := url.Parse("https://tass.example/a/1")
	got := s.html(s.caption, `Putin <i>in</i> <a href="/k">Kremlin</a><script>x()</script><img src=x onerror=alert(1)><div>block</div>`, base)
	want := `Putin <i>in</i> <a href="https://tass.example/k">Kremlin</a>block`
	if got != want {
		t.Errorf("caption = %q, want %q", got, want)
	}
}

func TestImageType(t *testing.T) {
	tests := []struct{ given, url, want string }{
		{"image/jpeg", "https://x/a", "image/jpeg"},
		{"IMAGE/PNG", "https://x/a", "image/png"},
		{"", "https://x/a.JPG?w=1", "image/jpeg"},
		{"", "https://x/a.webp", "image/webp"},
		{"text/html", "https://x/a.png", "image/png"},
		{"", "https://x/a", ""},
		{"image/", "https://x/a", ""},
	}
	for _, tt := range tests {
		if got := imageType(tt.given, tt.url); got != tt.want {
			t.Errorf("imageType(%q, %q) = %q, want %q", tt.given, tt.url, got, tt.want)
		}
	}
}

func TestAbsURL(t *testing.T) {
	base, _ := url.Parse("https://tass.example/a/1")
	tests := []struct{ in, want string }{
		{"https://tass.example/x", "https://tass.example/x"},
		{"HTTPS://TASS.Example:443/X?q=1#f", "https://tass.example/X?q=1#f"},
		{"http://tass.example:80/x", "http://tass.example/x"},
		{"http://tass.example:8080/x", "http://tass.example:8080/x"},
		{"http://[::1]:80/x", "http://[::1]/x"},
		{"/rel", "https://tass.example/rel"},
		{"javascript:alert(1)", ""},
		{"mailto:x@example.com", ""},
		{" \x01https://tass.example/y ", "https://tass.example/y"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := absURL(base, tt.in); got != tt.want {
			t.Errorf("absURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
