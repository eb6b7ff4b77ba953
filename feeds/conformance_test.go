package feeds

// Conformance tests: the rules of the RSS 2.0 specification and the RSS
// Advisory Board's Best Practices Profile, RFC 4287 (Atom) and JSON Feed
// 1.1 that the W3C Feed Validation Service reports as errors or warnings,
// checked on a namespace-aware tree decoded independently of the structs
// that produced the XML. Each check names the validator message it
// guards against.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"
)

// xnode is a namespace-resolved XML element.
type xnode struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*xnode
	text     string
}

func parseTree(t *testing.T, doc []byte) (*xnode, map[string]string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	prefixes := map[string]string{} // prefix -> namespace, as declared on the root
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: tok.Name, attrs: tok.Attr}
			if root == nil {
				root = n
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	// BadCharacters: the validator flags C1 controls in text and
	// attribute values.
	for _, r := range string(doc) {
		if r >= 0x80 && r <= 0x9F {
			t.Errorf("document contains C1 control U+%04X (BadCharacters)", r)
			break
		}
	}
	// Raw prefix declarations, for the preferred-prefix check.
	raw := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := raw.RawToken()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Space == "xmlns" {
					prefixes[a.Name.Local] = a.Value
				}
			}
			break
		}
	}
	return root, prefixes
}

func (n *xnode) attr(space, local string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

func (n *xnode) all(space, local string) []*xnode {
	var out []*xnode
	for _, c := range n.children {
		if c.name.Space == space && c.name.Local == local {
			out = append(out, c)
		}
	}
	return out
}

func (n *xnode) one(t *testing.T, where, space, local string) *xnode {
	t.Helper()
	c := n.all(space, local)
	if len(c) != 1 {
		t.Errorf("%s: %d %s elements, want exactly 1", where, len(c), local)
		if len(c) == 0 {
			return &xnode{}
		}
	}
	return c[0]
}

const nsXML = "http://www.w3.org/XML/1998/namespace"

// rfc822RE is RFC 822 as the RSS profile wants it: day name, four-digit
// year, seconds, numeric zone ("GMT" and military zones are
// ProblematicalRFC822Date territory).
var rfc822RE = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$`)

func checkRFC822(t *testing.T, where, v string) {
	t.Helper()
	if !rfc822RE.MatchString(v) {
		t.Errorf("%s: %q is not an RFC 822 date with a four-digit year and numeric zone (InvalidRFC2822Date)", where, v)
		return
	}
	tm, err := time.Parse(time.RFC1123Z, v)
	if err != nil {
		t.Errorf("%s: %q: %v", where, v, err)
		return
	}
	if tm.Weekday().String()[:3] != v[:3] {
		t.Errorf("%s: %q names the wrong day (IncorrectDOW)", where, v)
	}
	if tm.Year() < 1970 {
		t.Errorf("%s: %q before 1970 (ImplausibleDate)", where, v)
	}
}

// rfc3339RE demands the explicit offset or Z that RFC 3339 requires.
var rfc3339RE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

func checkRFC3339(t *testing.T, where, v string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, v)
	if err != nil || !rfc3339RE.MatchString(v) {
		t.Errorf("%s: %q is not an RFC 3339 date-time (InvalidRFC3339Date)", where, v)
	}
	return tm
}

func checkFullURL(t *testing.T, where, v string) {
	t.Helper()
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Errorf("%s: %q is not a full http(s) URL (InvalidFullLink)", where, v)
		return
	}
	if strings.ToLower(u.Host) != u.Host {
		t.Errorf("%s: %q host not lower-case (NonCanonicalURI)", where, v)
	}
}

var langTagRE = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$`)

var mimeRE = regexp.MustCompile(`^[a-z]+/[a-zA-Z0-9.+-]+$`)

// checkSafeHTML parses an HTML payload and reports what the validator
// flags: relative URLs (ContainsRelRef), script-capable elements and
// attributes (SecurityRisk, SecurityRiskAttr, DangerousStyleAttr).
func checkSafeHTML(t *testing.T, where, payload string) {
	t.Helper()
	doc, err := xhtml.Parse(strings.NewReader(payload))
	if err != nil {
		t.Errorf("%s: HTML: %v", where, err)
		return
	}
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode {
			switch n.Data {
			case "script", "style", "iframe", "object", "embed", "applet", "form", "meta", "link", "frame", "frameset", "base":
				t.Errorf("%s: contains a %s element (SecurityRisk)", where, n.Data)
			}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(k, "on"):
					t.Errorf("%s: %s has an %s attribute (SecurityRiskAttr)", where, n.Data, k)
				case k == "style":
					t.Errorf("%s: %s has a style attribute (DangerousStyleAttr)", where, n.Data)
				case k == "href" || k == "src" || k == "cite":
					u, err := url.Parse(a.Val)
					if err != nil || !u.IsAbs() {
						t.Errorf("%s: %s %s=%q is relative (ContainsRelRef)", where, n.Data, k, a.Val)
					} else if s := strings.ToLower(u.Scheme); s != "http" && s != "https" && s != "mailto" {
						t.Errorf("%s: %s %s=%q has scheme %s (SecurityRisk)", where, n.Data, k, a.Val, s)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

// conformanceSets builds the fixture with and without a WebSub hub and
// with an empty section, so every optional element appears somewhere.
func conformanceSets(t *testing.T) map[string]*Set {
	t.Helper()
	sets := map[string]*Set{"fixture": buildFixture(t)}
	opts := fixtureOptions()
	opts.Hub = "https://hub.example.net/"
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	src := newFixtureSource()
	src.sections = append(src.sections, src.sections[0])
	src.sections[len(src.sections)-1].Slug = "empty"
	set, err := b.Build(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	sets["hub+empty"] = set
	return sets
}

func TestRSSConformance(t *testing.T) {
	for setName, set := range conformanceSets(t) {
		for _, f := range set.Files {
			if f.Format != RSS {
				continue
			}
			t.Run(setName+"/"+f.Name, func(t *testing.T) { checkRSS(t, f) })
		}
	}
}

func checkRSS(t *testing.T, f File) {
	root, prefixes := parseTree(t, f.Data)
	if root.name.Local != "rss" || root.name.Space != "" {
		t.Fatalf("root = %v, want rss", root.name)
	}
	if v, _ := root.attr("", "version"); v != "2.0" {
		t.Errorf("rss version = %q, want 2.0", v)
	}
	// NonstdPrefix / MediaRssNamespace: the preferred prefixes, exact URIs.
	for prefix, ns := range map[string]string{"content": nsContent, "dc": nsDC, "atom": nsAtom, "media": nsMedia} {
		if got := prefixes[prefix]; got != ns {
			t.Errorf("xmlns:%s = %q, want %q", prefix, got, ns)
		}
	}
	ch := root.one(t, "rss", "", "channel")
	for _, el := range []string{"title", "link", "description"} {
		if strings.TrimSpace(ch.one(t, "channel", "", el).text) == "" {
			t.Errorf("channel %s is blank (MissingElement/NotBlank)", el)
		}
	}
	checkFullURL(t, "channel link", ch.one(t, "channel", "", "link").text)
	if l := ch.one(t, "channel", "", "language").text; !langTagRE.MatchString(l) {
		t.Errorf("channel language %q (InvalidLanguage)", l)
	}
	checkRFC822(t, "channel lastBuildDate", ch.one(t, "channel", "", "lastBuildDate").text)
	for _, p := range ch.all("", "pubDate") {
		checkRFC822(t, "channel pubDate", p.text)
	}
	if ttl, err := strconv.Atoi(ch.one(t, "channel", "", "ttl").text); err != nil || ttl <= 0 {
		t.Errorf("ttl %q is not a positive integer (InvalidInteger)", ch.one(t, "channel", "", "ttl").text)
	}
	// MissingAtomSelfLink, SelfNotAtom, SelfDoesntMatchLocation.
	var self int
	for _, l := range ch.all(nsAtom, "link") {
		rel, _ := l.attr("", "rel")
		href, _ := l.attr("", "href")
		checkFullURL(t, "atom:link href", href)
		if rel == "self" {
			self++
			if typ, _ := l.attr("", "type"); typ != "application/rss+xml" {
				t.Errorf("atom:link rel=self type = %q, want application/rss+xml (SelfNotAtom)", typ)
			}
			if want := "https://news.example.com/feeds/" + f.Name; href != want {
				t.Errorf("atom:link rel=self href = %q, want %q (SelfDoesntMatchLocation)", href, want)
			}
		}
		if strings.TrimSpace(l.text) != "" {
			t.Errorf("atom:link has text (AtomLinkNotEmpty)")
		}
	}
	if self != 1 {
		t.Errorf("%d atom:link rel=self, want 1 (MissingAtomSelfLink)", self)
	}
	for _, img := range ch.all("", "image") {
		u := img.one(t, "image", "", "url").text
		if !regexp.MustCompile(`(?i)\.(png|gif|jpe?g)$`).MatchString(u) {
			t.Errorf("channel image %q not GIF, JPEG or PNG (ImageUrlFormat)", u)
		}
		if img.one(t, "image", "", "link").text != ch.one(t, "channel", "", "link").text {
			t.Errorf("image link differs from channel link (ImageLinkDoesntMatch)")
		}
		if img.one(t, "image", "", "title").text != ch.one(t, "channel", "", "title").text {
			t.Errorf("image title differs from channel title (profile 4.1.7)")
		}
	}
	guids := map[string]bool{}
	for i, it := range ch.all("", "item") {
		where := fmt.Sprintf("item %d", i)
		if len(it.all("", "title")) == 0 && len(it.all("", "description")) == 0 {
			t.Errorf("%s: neither title nor description (ItemMustContainTitleOrDescription)", where)
		}
		for _, title := range it.all("", "title") {
			if regexp.MustCompile(`<[a-zA-Z/]`).MatchString(title.text) {
				t.Errorf("%s: title %q contains HTML (ContainsHTML)", where, title.text)
			}
		}
		g := it.one(t, where, "", "guid") // MissingGuid
		perma, has := g.attr("", "isPermaLink")
		if has && perma != "true" && perma != "false" {
			t.Errorf("%s: isPermaLink=%q (InvalidBooleanAttribute)", where, perma)
		}
		if perma != "false" {
			checkFullURL(t, where+" guid", g.text) // InvalidHttpGUID
			if lg := strings.ToLower(g.text); strings.HasPrefix(lg, "tag:") || strings.HasPrefix(lg, "urn:uuid:") {
				t.Errorf("%s: permalink guid %q (InvalidPermalink)", where, g.text)
			}
		}
		if guids[g.text] {
			t.Errorf("%s: duplicate guid %q (DuplicateValue)", where, g.text)
		}
		guids[g.text] = true
		checkFullURL(t, where+" link", it.one(t, where, "", "link").text)
		checkRFC822(t, where+" pubDate", it.one(t, where, "", "pubDate").text)
		for _, u := range it.all(nsAtom, "updated") {
			checkRFC3339(t, where+" atom:updated", u.text)
		}
		// DuplicateItemSemantics.
		for _, pair := range [][4]string{
			{"", "author", nsDC, "creator"},
			{"", "pubDate", nsDC, "date"},
			{"", "pubDate", nsAtom, "published"},
			{"", "guid", nsAtom, "id"},
			{"", "category", nsDC, "subject"},
		} {
			if len(it.all(pair[0], pair[1])) > 0 && len(it.all(pair[2], pair[3])) > 0 {
				t.Errorf("%s: both %s and %s:%s (DuplicateItemSemantics)", where, pair[1], pair[2], pair[3])
			}
		}
		desc := it.all("", "description")
		enc := it.all(nsContent, "encoded")
		if len(enc) > 0 && len(desc) == 0 {
			t.Errorf("%s: content:encoded without description (NeedDescriptionBeforeContent)", where)
		}
		for _, d := range append(desc, enc...) {
			checkSafeHTML(t, where+" "+d.name.Local, d.text)
		}
		encl := it.all("", "enclosure")
		if len(encl) > 1 {
			t.Errorf("%s: %d enclosures (DuplicateEnclosure)", where, len(encl))
		}
		for _, e := range encl {
			u, _ := e.attr("", "url")
			checkFullURL(t, where+" enclosure url", u)
			if l, ok := e.attr("", "length"); !ok {
				t.Errorf("%s: enclosure without length (MissingAttribute)", where)
			} else if n, err := strconv.ParseInt(l, 10, 64); err != nil || n < 0 {
				t.Errorf("%s: enclosure length %q (InvalidIntegerAttribute)", where, l)
			}
			if typ, _ := e.attr("", "type"); !mimeRE.MatchString(typ) {
				t.Errorf("%s: enclosure type %q (InvalidMIMEAttribute)", where, typ)
			}
		}
		for _, c := range it.all("", "category") {
			if strings.TrimSpace(c.text) == "" {
				t.Errorf("%s: blank category (NotBlank)", where)
			}
			for _, a := range c.attrs {
				if a.Name.Local != "domain" || a.Name.Space != "" {
					t.Errorf("%s: category attribute %v (UseOfExtensionAttr/UnexpectedAttribute)", where, a.Name)
				}
			}
		}
		for _, m := range it.all(nsMedia, "content") {
			u, _ := m.attr("", "url")
			checkFullURL(t, where+" media:content url", u)
			if med, _ := m.attr("", "medium"); med != "image" {
				t.Errorf("%s: media:content medium %q (InvalidMediaMedium)", where, med)
			}
			for _, d := range m.all(nsMedia, "description") {
				if typ, _ := d.attr("", "type"); typ != "plain" && typ != "html" {
					t.Errorf("%s: media:description type %q (InvalidMediaTextType)", where, typ)
				}
				checkSafeHTML(t, where+" media:description", d.text)
			}
			for _, c := range m.all(nsMedia, "credit") {
				if role, ok := c.attr("", "role"); ok && role == "" {
					t.Errorf("%s: empty media:credit role (InvalidCreditRole)", where)
				}
			}
		}
	}
}

func TestAtomConformance(t *testing.T) {
	for setName, set := range conformanceSets(t) {
		for _, f := range set.Files {
			if f.Format != Atom {
				continue
			}
			t.Run(setName+"/"+f.Name, func(t *testing.T) { checkAtom(t, f) })
		}
	}
}

func checkAtom(t *testing.T, f File) {
	root, _ := parseTree(t, f.Data)
	if root.name != (xml.Name{Space: nsAtom, Local: "feed"}) {
		t.Fatalf("root = %v, want atom:feed", root.name)
	}
	if l, ok := root.attr(nsXML, "lang"); !ok || !langTagRE.MatchString(l) {
		t.Errorf("feed xml:lang = %q (InvalidLanguage)", l)
	}
	// RFC 4287 4.1.1: exactly one id, title, updated.
	id := root.one(t, "feed", nsAtom, "id").text
	checkFullURL(t, "feed id", id)
	if strings.TrimSpace(root.one(t, "feed", nsAtom, "title").text) == "" {
		t.Error("feed title blank")
	}
	feedUpdated := checkRFC3339(t, "feed updated", root.one(t, "feed", nsAtom, "updated").text)
	feedAuthor := len(root.all(nsAtom, "author")) > 0
	for _, a := range root.all(nsAtom, "author") {
		if strings.TrimSpace(a.one(t, "feed author", nsAtom, "name").text) == "" {
			t.Error("feed author without a name (MissingElement)")
		}
	}
	checkAtomLinks(t, "feed", root, "https://news.example.com/feeds/"+f.Name)
	for _, icon := range append(root.all(nsAtom, "icon"), root.all(nsAtom, "logo")...) {
		checkFullURL(t, "feed "+icon.name.Local, icon.text)
	}
	ids := map[string]bool{}
	var newestEntry time.Time
	for i, e := range root.all(nsAtom, "entry") {
		where := fmt.Sprintf("entry %d", i)
		eid := e.one(t, where, nsAtom, "id").text
		checkFullURL(t, where+" id", eid)
		if ids[eid] {
			t.Errorf("%s: duplicate id %q (DuplicateEntries)", where, eid)
		}
		ids[eid] = true
		e.one(t, where, nsAtom, "title")
		upd := checkRFC3339(t, where+" updated", e.one(t, where, nsAtom, "updated").text)
		if upd.After(newestEntry) {
			newestEntry = upd
		}
		for _, p := range e.all(nsAtom, "published") {
			if pub := checkRFC3339(t, where+" published", p.text); pub.After(upd) {
				t.Errorf("%s: published %v after updated %v", where, pub, upd)
			}
		}
		if len(e.all(nsAtom, "published")) != 1 {
			t.Errorf("%s: want one published element", where)
		}
		// 4.1.1: entries need an author unless the feed has one.
		if !feedAuthor && len(e.all(nsAtom, "author")) == 0 {
			t.Errorf("%s: no author and none on the feed (MissingElement author)", where)
		}
		for _, a := range e.all(nsAtom, "author") {
			if strings.TrimSpace(a.one(t, where+" author", nsAtom, "name").text) == "" {
				t.Errorf("%s: author without a name", where)
			}
		}
		alt := checkAtomLinks(t, where, e, "")
		content := e.all(nsAtom, "content")
		if len(content) == 0 && alt == 0 {
			t.Errorf("%s: neither content nor an alternate link (MissingContentOrAlternate)", where)
		}
		for _, c := range content {
			typ, _ := c.attr("", "type")
			if typ != "html" {
				t.Errorf("%s: content type %q, want html", where, typ)
			}
			checkSafeHTML(t, where+" content", c.text)
		}
		for _, s := range e.all(nsAtom, "summary") {
			if typ, _ := s.attr("", "type"); typ != "text" {
				t.Errorf("%s: summary type %q, want text", where, typ)
			}
		}
		for _, c := range e.all(nsAtom, "category") {
			if term, _ := c.attr("", "term"); strings.TrimSpace(term) == "" {
				t.Errorf("%s: category without term (MissingAttribute)", where)
			}
			if scheme, ok := c.attr("", "scheme"); ok {
				checkFullURL(t, where+" category scheme", scheme)
			}
		}
	}
	if !newestEntry.IsZero() && !feedUpdated.Equal(newestEntry) {
		t.Errorf("feed updated %v, want the newest entry's %v", feedUpdated, newestEntry)
	}
}

// checkAtomLinks applies the atom:link rules and returns the number of
// alternate links. self, when not "", is the required self URL.
func checkAtomLinks(t *testing.T, where string, n *xnode, self string) int {
	t.Helper()
	alternates := map[string]int{}
	var selfs int
	for _, l := range n.all(nsAtom, "link") {
		href, ok := l.attr("", "href")
		if !ok {
			t.Errorf("%s: link without href (MissingHref)", where)
		}
		checkFullURL(t, where+" link href", href)
		rel, ok := l.attr("", "rel")
		if !ok {
			rel = "alternate"
		}
		switch rel {
		case "alternate", "self", "enclosure", "hub", "related", "via":
		default:
			t.Errorf("%s: link rel %q (UnregisteredAtomLinkRel)", where, rel)
		}
		typ, hasType := l.attr("", "type")
		if hasType && !mimeRE.MatchString(typ) {
			t.Errorf("%s: link type %q (InvalidMIMEType)", where, typ)
		}
		if length, ok := l.attr("", "length"); ok {
			if n, err := strconv.ParseInt(length, 10, 64); err != nil || n < 0 {
				t.Errorf("%s: link length %q (InvalidNonNegativeInteger)", where, length)
			}
		}
		if title, ok := l.attr("", "title"); ok && strings.TrimSpace(title) == "" {
			t.Errorf("%s: blank link title (AttrNotBlank)", where)
		}
		switch rel {
		case "alternate":
			hreflang, _ := l.attr("", "hreflang")
			alternates[typ+"|"+hreflang]++
			if alternates[typ+"|"+hreflang] > 1 {
				t.Errorf("%s: two alternate links with type %q (DuplicateAtomLink)", where, typ)
			}
		case "self":
			selfs++
			if typ != "application/atom+xml" {
				t.Errorf("%s: self link type %q (SelfNotAtom)", where, typ)
			}
			if self != "" && href != self {
				t.Errorf("%s: self %q, want %q (SelfDoesntMatchLocation)", where, href, self)
			}
		}
	}
	if self != "" && selfs != 1 {
		t.Errorf("%s: %d self links, want 1 (MissingSelf)", where, selfs)
	}
	n2 := 0
	for _, c := range alternates {
		n2 += c
	}
	return n2
}

// JSON Feed 1.1 top-level and item keys; anything else (such as
// gorilla/feeds' misspelt "banner_") is an error unless it starts with "_".
var (
	jsonFeedKeys = map[string]bool{"version": true, "title": true, "home_page_url": true, "feed_url": true, "description": true,
		"user_comment": true, "next_url": true, "icon": true, "favicon": true, "authors": true, "language": true, "expired": true, "hubs": true, "items": true}
	jsonItemKeys = map[string]bool{"id": true, "url": true, "external_url": true, "title": true, "content_html": true, "content_text": true,
		"summary": true, "image": true, "banner_image": true, "date_published": true, "date_modified": true, "authors": true,
		"tags": true, "language": true, "attachments": true}
)

func TestJSONFeedConformance(t *testing.T) {
	for setName, set := range conformanceSets(t) {
		for _, f := range set.Files {
			if f.Format != JSON {
				continue
			}
			t.Run(setName+"/"+f.Name, func(t *testing.T) { checkJSONFeed(t, f) })
		}
	}
}

func checkJSONFeed(t *testing.T, f File) {
	if f.ContentType != "application/feed+json; charset=utf-8" {
		t.Errorf("Content-Type %q, want application/feed+json", f.ContentType)
	}
	if bytes.Contains(f.Data, []byte(`\u003c`)) || bytes.Contains(f.Data, []byte(`\u0026`)) {
		t.Error("HTML characters escaped as \\u003c/\\u0026: the encoder escapes HTML")
	}
	var feed map[string]any
	if err := json.Unmarshal(f.Data, &feed); err != nil {
		t.Fatal(err)
	}
	for k := range feed {
		if !jsonFeedKeys[k] && !strings.HasPrefix(k, "_") {
			t.Errorf("unknown top-level key %q", k)
		}
	}
	if feed["version"] != "https://jsonfeed.org/version/1.1" {
		t.Errorf("version = %v", feed["version"])
	}
	if s, _ := feed["title"].(string); s == "" {
		t.Error("title missing (required)")
	}
	for _, k := range []string{"home_page_url", "feed_url", "icon", "favicon"} {
		s, _ := feed[k].(string)
		checkFullURL(t, k, s)
	}
	if feed["feed_url"] != "https://news.example.com/feeds/"+f.Name {
		t.Errorf("feed_url = %v", feed["feed_url"])
	}
	if l, _ := feed["language"].(string); !langTagRE.MatchString(l) {
		t.Errorf("language = %q", l)
	}
	checkJSONAuthors(t, "feed", feed["authors"])
	if hubs, ok := feed["hubs"].([]any); ok {
		for _, h := range hubs {
			h := h.(map[string]any)
			if h["type"] == "" || h["url"] == "" {
				t.Errorf("hub %v lacks type or url", h)
			}
		}
	}
	items, ok := feed["items"].([]any)
	if !ok {
		t.Fatalf("items = %#v, want an array (required, even when empty)", feed["items"])
	}
	ids := map[string]bool{}
	for i, raw := range items {
		where := fmt.Sprintf("item %d", i)
		it := raw.(map[string]any)
		for k := range it {
			if !jsonItemKeys[k] && !strings.HasPrefix(k, "_") {
				t.Errorf("%s: unknown key %q", where, k)
			}
		}
		id, ok := it["id"].(string)
		if !ok || id == "" {
			t.Errorf("%s: id %v, want a non-empty string", where, it["id"])
		}
		if ids[id] {
			t.Errorf("%s: duplicate id %q", where, id)
		}
		ids[id] = true
		_, html := it["content_html"].(string)
		_, text := it["content_text"].(string)
		if !html && !text {
			t.Errorf("%s: neither content_html nor content_text", where)
		}
		if html {
			checkSafeHTML(t, where+" content_html", it["content_html"].(string))
		}
		for _, k := range []string{"url", "image"} {
			if s, ok := it[k].(string); ok {
				checkFullURL(t, where+" "+k, s)
			}
		}
		pub := checkRFC3339(t, where+" date_published", fmt.Sprint(it["date_published"]))
		if mod := checkRFC3339(t, where+" date_modified", fmt.Sprint(it["date_modified"])); mod.Before(pub) {
			t.Errorf("%s: modified before published", where)
		}
		if a, ok := it["authors"]; ok {
			checkJSONAuthors(t, where, a)
		}
		if _, ok := it["author"]; ok {
			t.Errorf("%s: deprecated author key (JSON Feed 1.1 uses authors)", where)
		}
		tags, _ := it["tags"].([]any)
		for _, tag := range tags {
			if s, _ := tag.(string); s == "" {
				t.Errorf("%s: empty tag", where)
			}
		}
		if atts, ok := it["attachments"].([]any); ok {
			for _, a := range atts {
				a := a.(map[string]any)
				u, _ := a["url"].(string)
				checkFullURL(t, where+" attachment url", u)
				if m, _ := a["mime_type"].(string); !mimeRE.MatchString(m) {
					t.Errorf("%s: attachment mime_type %q", where, m)
				}
				if _, bad := a["size"]; bad {
					t.Errorf("%s: attachment key size, want size_in_bytes", where)
				}
			}
		}
	}
}

func checkJSONAuthors(t *testing.T, where string, v any) {
	t.Helper()
	authors, ok := v.([]any)
	if !ok || len(authors) == 0 {
		t.Errorf("%s: authors %v, want a non-empty array", where, v)
		return
	}
	for _, a := range authors {
		m, _ := a.(map[string]any)
		name, _ := m["name"].(string)
		u, _ := m["url"].(string)
		if name == "" && u == "" {
			t.Errorf("%s: author %v has neither name nor url", where, a)
		}
	}
}

func TestOPMLConformance(t *testing.T) {
	set := buildFixture(t)
	f := mustFile(t, set, OPMLName)
	root, _ := parseTree(t, f.Data)
	if root.name.Local != "opml" {
		t.Fatalf("root %v", root.name)
	}
	if v, _ := root.attr("", "version"); v != "2.0" {
		t.Errorf("opml version %q, want 2.0", v)
	}
	head := root.one(t, "opml", "", "head")
	if head.one(t, "head", "", "title").text == "" {
		t.Error("head title blank")
	}
	checkRFC822(t, "dateModified", head.one(t, "head", "", "dateModified").text)
	var feeds []string
	var walk func(n *xnode)
	walk = func(n *xnode) {
		for _, o := range n.all("", "outline") {
			if txt, _ := o.attr("", "text"); txt == "" {
				t.Error("outline without text (OPML 2.0 requires it)")
			}
			if typ, _ := o.attr("", "type"); typ == "rss" {
				u, ok := o.attr("", "xmlUrl")
				if !ok {
					t.Error("rss outline without xmlUrl (MissingXmlURL)")
				}
				feeds = append(feeds, u)
				if v, ok := o.attr("", "version"); ok && v != "RSS" && v != "RSS1" && v != "RSS2" && v != "scriptingNews" {
					t.Errorf("outline version %q (InvalidOutlineVersion)", v)
				}
			} else if len(o.attrs) > 2 {
				t.Errorf("outline with attributes but no type (MissingOutlineType): %v", o.attrs)
			}
			walk(o)
		}
	}
	walk(root.one(t, "opml", "", "body"))
	var want []string
	for _, file := range set.Files {
		if file.Format != "" {
			want = append(want, "https://news.example.com/feeds/"+file.Name)
		}
	}
	if len(feeds) != len(want) {
		t.Errorf("OPML lists %d feeds, want %d", len(feeds), len(want))
	}
	listed := map[string]bool{}
	for _, u := range feeds {
		listed[u] = true
	}
	for _, u := range want {
		if !listed[u] {
			t.Errorf("OPML does not list %s", u)
		}
	}
}
