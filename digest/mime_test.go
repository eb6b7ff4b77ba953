package digest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	pmail "github.com/pressroom/pressroom/internal/mail"
	"github.com/pressroom/pressroom/internal/news"
)

// buildMIME builds the whole message with internal/mail's builder, as
// delivery does, so the test reads back with an independent parser what
// readers receive.
func buildMIME(t *testing.T, m Message, d *news.Delivery) []byte {
	t.Helper()
	msg := &pmail.Message{
		From:               &netmail.Address{Name: "Пресс-служба", Address: "digest@press.example.com"},
		To:                 &netmail.Address{Name: d.Name, Address: d.Email},
		Subject:            m.Subject,
		Text:               m.Text,
		HTML:               m.HTML,
		MessageID:          fmt.Sprintf("digest.%s.%d@press.example.com", d.EditionDate, d.SubscriberID),
		ListUnsubscribeURL: d.UnsubscribeURL,
		ListArchive:        "https://press.example.com/digest/" + d.EditionDate,
	}
	var b bytes.Buffer
	if _, err := msg.Render(&b, time.Date(2017, 1, 29, 5, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("render MIME: %v", err)
	}
	for i, line := range strings.Split(b.String(), "\r\n") {
		if len(line) > pmail.MaxLineOctets {
			t.Errorf("MIME line %d is %d octets, over %d", i+1, len(line), pmail.MaxLineOctets)
		}
	}
	return b.Bytes()
}

// htmlLinks returns the href of every <a> and the attributes of every
// <img> in an HTML document, parsed by golang.org/x/net/html.
func htmlLinks(t *testing.T, doc string) (links []string, imgs []map[string]string) {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			switch n.Data {
			case "a":
				links = append(links, attrs["href"])
			case "img":
				imgs = append(imgs, attrs)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return links, imgs
}

func TestMIMEParts(t *testing.T) {
	r := newFixtureRenderer(t)
	ed := fixtureEdition(t)
	for _, d := range []*struct {
		name  string
		links []string
	}{
		{"anna", []string{"https://press.example.com/politics/p1", "https://press.example.com/politics/p2?ref=home", "https://press.example.com/culture/c1"}},
		{"bob", []string{"https://press.example.com/world/w1"}},
	} {
		t.Run(d.name, func(t *testing.T) {
			dl := readerAnna()
			if d.name == "bob" {
				dl = readerBob()
			}
			m, err := r.Compose(ed, dl, time.Date(2017, 1, 29, 5, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			raw := buildMIME(t, m, dl)
			msg, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("net/mail: %v", err)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatalf("decode Subject: %v", err)
			}
			if subject != m.Subject || !strings.HasPrefix(subject, "Press Review, 29 January 2017: ") {
				t.Errorf("Subject = %q, want %q", subject, m.Subject)
			}
			if lu := msg.Header.Get("List-Unsubscribe"); !strings.Contains(lu, "<"+dl.UnsubscribeURL+">") {
				t.Errorf("List-Unsubscribe = %q, want the reader's link", lu)
			}
			mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/alternative" {
				t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
			}
			mr := multipart.NewReader(msg.Body, params["boundary"])
			var types []string
			bodies := map[string]string{}
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("next part: %v", err)
				}
				pt, pp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.EqualFold(pp["charset"], "utf-8") {
					t.Errorf("part %s charset = %q, want utf-8", pt, pp["charset"])
				}
				var r io.Reader = p // multipart.Reader undoes quoted-printable itself
				if p.Header.Get("Content-Transfer-Encoding") == "base64" {
					r = base64.NewDecoder(base64.StdEncoding, p)
				}
				b, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("part %s: %v", pt, err)
				}
				types = append(types, pt)
				// Text in MIME is canonically CRLF; compare with LF.
				bodies[pt] = strings.ReplaceAll(string(b), "\r\n", "\n")
			}
			if strings.Join(types, ",") != "text/plain,text/html" {
				t.Fatalf("parts = %v, want text/plain then text/html", types)
			}
			links, imgs := htmlLinks(t, bodies["text/html"])
			want := append([]string{"https://press.example.com/digest/2017-01-29"}, d.links...)
			want = append(want, dl.PreferencesURL, dl.UnsubscribeURL)
			for _, w := range want {
				found := false
				for _, l := range links {
					found = found || l == w
				}
				if !found {
					t.Errorf("HTML part has no link to %s; links: %v", w, links)
				}
				if !strings.Contains(bodies["text/plain"], "\n"+w+"\n") {
					t.Errorf("text part has no line of its own with %s", w)
				}
			}
			for _, img := range imgs {
				if strings.TrimSpace(img["alt"]) == "" {
					t.Errorf("image %s has no alt text", img["src"])
				}
				if img["width"] == "" {
					t.Errorf("image %s has no width", img["src"])
				}
			}
			if d.name == "anna" && !strings.Contains(bodies["text/plain"], "Большой театр") {
				t.Errorf("text part lost the Cyrillic title")
			}
		})
	}
}
