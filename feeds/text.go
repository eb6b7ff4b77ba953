package feeds

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// cleanText returns s without the characters XML 1.0 forbids (C0 controls
// other than tab, newline and carriage return; U+FFFE, U+FFFF; surrogate
// code points, which in Go strings can only appear as invalid UTF-8) and
// without the C1 controls and DEL, which XML 1.0 discourages, the W3C
// Feed Validation Service flags (BadCharacters), and which in wire copy
// are always encoding debris. Invalid UTF-8 is dropped. Every
// other character, in any script, is kept.
func cleanText(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !allowedRune(r, n) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if allowedRune(r, n) {
			sb.WriteString(s[i : i+n])
		}
		i += n
	}
	return sb.String()
}

// allowedRune reports whether the rune r, decoded from n bytes, may appear
// in feed text.
func allowedRune(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n <= 1: // invalid UTF-8, including encoded surrogates
		return false
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r >= 0x7F && r <= 0x9F:
		return false
	case r >= 0xD800 && r <= 0xDFFF:
		return false
	case r == 0xFFFE || r == 0xFFFF:
		return false
	}
	return r <= unicode.MaxRune
}

var spaceRE = regexp.MustCompile(`\s+`)

// sanitizer holds the HTML policies. bluemonday policies are safe for
// concurrent use once built.
type sanitizer struct {
	body    *bluemonday.Policy
	caption *bluemonday.Policy
	strict  *bluemonday.Policy
}

func newSanitizer() *sanitizer {
	// The user-generated-content policy drops script, style, iframe,
	// object, forms, event handlers and style attributes, and allows only
	// http, https and mailto URLs. Links in a newsroom's own copy are not
	// user spam, so no rel="nofollow"; relative URLs were made absolute
	// beforehand, so any left are refused.
	body := bluemonday.UGCPolicy()
	body.RequireNoFollowOnLinks(false)
	body.AllowRelativeURLs(false)

	caption := bluemonday.NewPolicy()
	caption.AllowStandardURLs()
	caption.RequireNoFollowOnLinks(false)
	caption.AllowRelativeURLs(false)
	caption.AllowElements("b", "i", "em", "strong", "br", "span", "small", "sub", "sup")
	caption.AllowAttrs("href").OnElements("a")

	return &sanitizer{body: body, caption: caption, strict: bluemonday.StrictPolicy()}
}

// plain turns possibly marked-up text into plain text: tags removed
// (script and style with their content), entities decoded exactly once,
// whitespace collapsed. The encoders escape the result exactly once.
func (s *sanitizer) plain(in string) string {
	in = cleanText(in)
	if strings.ContainsAny(in, "<&") {
		// The strict policy parses in as HTML, drops every tag and
		// re-escapes the text; unescaping that once leaves the text with
		// its entities decoded once.
		in = html.UnescapeString(s.strict.Sanitize(in))
		in = cleanText(in) // entities may have decoded to forbidden characters
	}
	return strings.TrimSpace(spaceRE.ReplaceAllString(in, " "))
}

// html sanitises a fragment of HTML with policy p after making its URLs
// absolute against base.
func (s *sanitizer) html(p *bluemonday.Policy, in string, base *url.URL) string {
	in = cleanText(in)
	if strings.TrimSpace(in) == "" {
		return ""
	}
	in = absolutize(in, base)
	out := cleanText(p.Sanitize(in))
	return strings.TrimSpace(out)
}

// isURLAttr reports whether an HTML attribute holds one URL.
func isURLAttr(key string) bool {
	switch key {
	case "href", "src", "cite", "longdesc", "poster", "action":
		return true
	}
	return false
}

// absolutize parses an HTML fragment and rewrites relative URLs in it
// against base. With no base, or on a parse failure, in is returned
// unchanged and the sanitiser then drops relative URLs.
func absolutize(in string, base *url.URL) string {
	if base == nil {
		return in
	}
	ctx := &xhtml.Node{Type: xhtml.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := xhtml.ParseFragment(strings.NewReader(in), ctx)
	if err != nil {
		return in
	}
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode {
			for i, a := range n.Attr {
				switch {
				case isURLAttr(a.Key):
					n.Attr[i].Val = resolve(base, a.Val)
				case a.Key == "srcset":
					n.Attr[i].Val = resolveSrcset(base, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	var sb strings.Builder
	for _, n := range nodes {
		walk(n)
		if err := xhtml.Render(&sb, n); err != nil {
			return in
		}
	}
	return sb.String()
}

// resolve returns ref resolved against base, or ref unchanged when it does
// not parse (the sanitiser then refuses it).
func resolve(base *url.URL, ref string) string {
	u, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return ref
	}
	return base.ResolveReference(u).String()
}

func resolveSrcset(base *url.URL, v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		f := strings.Fields(p)
		if len(f) == 0 {
			continue
		}
		f[0] = resolve(base, f[0])
		parts[i] = strings.Join(f, " ")
	}
	return strings.Join(parts, ", ")
}

// absURL returns raw cleaned and resolved against base when it is (or
// resolves to) an absolute http(s) URL, and "" otherwise.
func absURL(base *url.URL, raw string) string {
	raw = strings.TrimSpace(cleanText(raw))
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	// The canonical form validators expect of ids (NonCanonicalURI):
	// lower-case host, no default port.
	u.Host = strings.ToLower(u.Host)
	if (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443") {
		u.Host = u.Hostname()
		if strings.Contains(u.Host, ":") { // IPv6 literal
			u.Host = "[" + u.Host + "]"
		}
	}
	return u.String()
}

// fragment renders HTML nodes built in code (dateline, "Read also") so
// that no markup is assembled from strings.
func fragment(nodes ...*xhtml.Node) string {
	var sb strings.Builder
	for _, n := range nodes {
		_ = xhtml.Render(&sb, n) // writing to a strings.Builder cannot fail
	}
	return sb.String()
}

func elem(tag atom.Atom, attrs []xhtml.Attribute, children ...*xhtml.Node) *xhtml.Node {
	n := &xhtml.Node{Type: xhtml.ElementNode, Data: tag.String(), DataAtom: tag, Attr: attrs}
	for _, c := range children {
		n.AppendChild(c)
	}
	return n
}

func textNode(s string) *xhtml.Node { return &xhtml.Node{Type: xhtml.TextNode, Data: s} }
