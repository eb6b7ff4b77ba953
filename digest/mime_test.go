package digest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// buildMIME writes m as a multipart/alternative message (text first, then
// HTML; UTF-8; base64 bodies). It stands in for internal/mail's message
// builder until that lands; the test's point is that an independent
// parser reads back what Compose produced.
func buildMIME(t *testing.T, m Message, to string) []byte {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct{ ctype, content string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", part.ctype)
		h.Set("Content-Transfer-Encoding", "base64")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		enc := base64.StdEncoding.EncodeToString([]byte(part.content))
		for len(enc) > 76 {
			io.WriteString(w, enc[:76]+"\r\n")
			enc = enc[76:]
		}
		io.WriteString(w, enc+"\r\n")
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	var msg bytes.Buffer
	msg.WriteString("From: Pressroom <digest@press.example.com>\r\n")
	msg.WriteString("To: " + to + "\r\n")
	msg.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", m.Subject) + "\r\n")
	msg.WriteString("MIME-Version: 1.0\r\n")
	msg.WriteString("Content-Type: multipart/alternative; boundary=" + mw.Boundary() + "\r\n\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes()
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
			raw := buildMIME(t, m, dl.Email)
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
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
				if pp["charset"] != "utf-8" {
					t.Errorf("part %s charset = %q, want utf-8", pt, pp["charset"])
				}
				b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
				if err != nil {
					t.Fatalf("part %s: base64: %v", pt, err)
				}
				types = append(types, pt)
				bodies[pt] = string(b)
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
