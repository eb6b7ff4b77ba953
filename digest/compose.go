package digest

import (
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	"time"

	"github.com/pressroom/pressroom/internal/news"
)

// The layout of an email is the same for every reader of an edition
// except in a few places: the subject (in <title>), the preheader, the
// reader's section blocks, their "Most read" block and the footer with
// their links. Prepare renders the layout templates once with a marker in
// each of those places and cuts the output into static text and slots;
// Compose fills the slots. The subject, preheader and footer are rendered
// once per distinct section choice (the footer with markers for the
// reader's address and links) and cached. A reader then costs no template
// execution at all: picking the cached choice, escaping four values and
// copying the parts.

// slot names a per-reader part of the layout or footer.
type slot int

const (
	slotNone slot = iota
	slotSubject
	slotPreheader
	slotBlocks
	slotMostRead
	slotFooter
	slotEmail
	slotName
	slotPreferencesURL
	slotUnsubscribeURL
	numSlots
)

// field names the slot's view field, for errors.
func (s slot) field() string {
	switch s {
	case slotSubject:
		return ".Subject"
	case slotPreheader:
		return ".Preheader"
	case slotBlocks:
		return ".BlocksHTML/.BlocksText"
	case slotMostRead:
		return ".MostReadHTML/.MostReadText"
	case slotFooter:
		return ".FooterHTML/.FooterText"
	case slotEmail:
		return ".Email"
	case slotName:
		return ".Name"
	case slotPreferencesURL:
		return ".PreferencesURL"
	case slotUnsubscribeURL:
		return ".UnsubscribeURL"
	}
	return "?"
}

// A slot marker is plain ASCII letters and digits, so no escaper changes
// it wherever a template puts it (text, attribute, URL); cutLayout checks
// that every marker it finds is well formed.
const (
	markPrefix = "zzPRSLOT"
	markSuffix = "zz"
)

func mark(s slot) string { return fmt.Sprintf("%s%d%s", markPrefix, int(s), markSuffix) }

// layout is rendered output cut at its slots.
type layout struct {
	parts []layoutPart
	size  int // bytes of static text
}

// layoutPart is static text or a slot.
type layoutPart struct {
	text string
	slot slot
}

// cutLayout splits rendered output at the slot markers and checks that
// each required slot appears exactly once.
func cutLayout(out, file string, required ...slot) (layout, error) {
	var l layout
	seen := make([]int, numSlots)
	for {
		i := strings.Index(out, markPrefix)
		if i < 0 {
			break
		}
		rest := out[i+len(markPrefix):]
		j := strings.Index(rest, markSuffix)
		n, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil || n <= int(slotNone) || n >= int(numSlots) {
			return layout{}, fmt.Errorf("%s: the output holds %q, which looks like a damaged slot marker (a personal field transformed by a function?)", file, out[i:min(len(out), i+len(markPrefix)+4)])
		}
		l.parts = append(l.parts, layoutPart{text: out[:i]}, layoutPart{slot: slot(n)})
		l.size += i
		seen[n]++
		out = rest[j+len(markSuffix):]
	}
	l.parts = append(l.parts, layoutPart{text: out})
	l.size += len(out)
	for _, s := range required {
		if seen[s] != 1 {
			return layout{}, fmt.Errorf("%s: must show %s exactly once, shows it %d times", file, s.field(), seen[s])
		}
	}
	return l, nil
}

// renderLayout renders both layouts of an edition with slot markers.
func (r *Renderer) renderLayout(p *Prepared) (h, t layout, err error) {
	o := &r.opts
	v := layoutView{
		Lang: o.Lang, Newsroom: o.Newsroom, Date: p.dateLong, DateISO: p.ed.Date, ArchiveURL: p.archiveURL,
		Subject:      mark(slotSubject),
		Preheader:    mark(slotPreheader),
		BlocksHTML:   htmltemplate.HTML(mark(slotBlocks)),
		MostReadHTML: htmltemplate.HTML(mark(slotMostRead)),
		FooterHTML:   htmltemplate.HTML(mark(slotFooter)),
		BlocksText:   mark(slotBlocks),
		MostReadText: mark(slotMostRead),
		FooterText:   mark(slotFooter),
	}
	var sb strings.Builder
	if err := r.html.ExecuteTemplate(&sb, fileHTML, &v); err != nil {
		return h, t, r.templateError(err)
	}
	if h, err = cutLayout(sb.String(), r.opts.TemplateDir+"/"+fileHTML, slotBlocks, slotMostRead, slotFooter); err != nil {
		return h, t, err
	}
	sb.Reset()
	if err := r.text.ExecuteTemplate(&sb, fileText, &v); err != nil {
		return h, t, r.templateError(err)
	}
	if t, err = cutLayout(sb.String(), r.opts.TemplateDir+"/"+fileText, slotBlocks, slotMostRead, slotFooter); err != nil {
		return h, t, err
	}
	return h, t, nil
}

// Compose renders one reader's email: it picks the blocks, "Most read"
// variant, subject and preheader for the reader's section choice (made
// once per distinct choice) and fills the edition's layout and the footer
// with the reader's address and personal links. now is the send time;
// what the email shows depends only on the edition and the delivery, so
// it is accepted for the API's sake and unused. It returns ErrNoArticles
// (wrapped) when none of the reader's sections has an article, and an
// error when a personal link is not an absolute http(s) URL.
func (p *Prepared) Compose(d *news.Delivery, now time.Time) (Message, error) {
	m, err := p.compose(d)
	if err != nil {
		return Message{}, fmt.Errorf("digest: compose edition %s for delivery %d: %w", p.ed.Date, d.ID, err)
	}
	return m, nil
}

// Archive renders the all-sections HTML of the edition for the web
// archive: no reader, no personal links.
func (p *Prepared) Archive() (string, error) {
	m, err := p.ArchiveMessage()
	return m.HTML, err
}

// ArchiveMessage is the all-sections version of the edition in all three
// parts, without a reader: the web archive and previews use it.
func (p *Prepared) ArchiveMessage() (Message, error) {
	m, err := p.compose(nil)
	if err != nil {
		return Message{}, fmt.Errorf("digest: archive edition %s: %w", p.ed.Date, err)
	}
	return m, nil
}

// choice is what every reader with the same section choice shares: the
// blocks, the "Most read" variant, the subject and the preheader. Readers
// differ only in their footer (address and personal links).
type choice struct {
	blocks     []*preparedSection
	most       block
	count      int
	topStory   string
	all        bool
	titles     []string // the chosen sections' titles, in section order
	subject    string
	preheader  string
	subjectH   string // HTML-escaped
	preheaderH string
	htmlSize   int // bytes of the static layout, blocks and "Most read"
	textSize   int
	// The footer for a reader with this choice, cut at the reader's
	// personal fields.
	footerHTML, footerText layout
}

// choiceKey identifies a section choice: bit i is set when the reader
// wants the edition's i-th section; all marks "no choice, all sections".
type choiceKey struct {
	mask uint64
	all  bool
}

// choiceFor returns the shared part of the reader's email, from the cache
// when another reader made the same choice. A reader who chose a section
// the edition does not know (removed since planning), or an edition with
// more than 64 sections, is computed without the cache.
func (p *Prepared) choiceFor(d *news.Delivery) (*choice, error) {
	key := choiceKey{all: d == nil || len(d.Sections) == 0}
	cacheable := len(p.order) <= 64
	if !key.all {
		known := 0
		for i, slug := range p.order {
			if d.WantsSection(slug) {
				known++
				if i < 64 {
					key.mask |= 1 << i
				}
			}
		}
		if known != len(d.Sections) {
			cacheable = false
		}
	}
	if cacheable {
		if c, ok := p.choices.Load(key); ok {
			return c.(*choice), nil
		}
	}
	c, err := p.makeChoice(d, key.all)
	if err != nil {
		return nil, err
	}
	if cacheable {
		p.choices.Store(key, c)
	}
	return c, nil
}

// makeChoice computes the shared part for the reader's choice (d == nil:
// the archive, all sections).
func (p *Prepared) makeChoice(d *news.Delivery, all bool) (*choice, error) {
	r := p.r
	wants := func(string) bool { return true }
	if !all {
		wants = d.WantsSection
	}
	c := &choice{all: all, htmlSize: p.layoutHTML.size, textSize: p.layoutText.size}
	if !all {
		for _, slug := range p.order {
			if wants(slug) {
				c.titles = append(c.titles, p.titles[slug])
			}
		}
		// Chosen sections the edition does not know (removed since) are
		// named by slug rather than silently dropped.
		for _, slug := range d.Sections {
			if _, ok := p.titles[slug]; !ok {
				c.titles = append(c.titles, slug)
			}
		}
	}
	topFound := false
	for i := range p.sections {
		s := &p.sections[i]
		if !wants(s.slug) {
			continue
		}
		c.blocks = append(c.blocks, s)
		c.htmlSize += len(s.html)
		c.textSize += len(s.text)
		c.count += s.count
		if c.topStory == "" || (!topFound && s.hasTop) {
			c.topStory, topFound = s.topTitle, s.hasTop
		}
	}
	if c.count == 0 {
		return c, nil
	}
	mask := 0
	for i, slug := range p.mostReadSlugs {
		if wants(slug) {
			mask |= 1 << i
		}
	}
	c.most = p.mostRead[mask]
	c.htmlSize += len(c.most.html)
	c.textSize += len(c.most.text)

	v := p.readerView(c)
	var sb strings.Builder
	if err := r.subject.ExecuteTemplate(&sb, fileSubject, &v); err != nil {
		return nil, r.templateError(err)
	}
	c.subject = clean(sb.String())
	sb.Reset()
	if err := r.subject.ExecuteTemplate(&sb, filePreheader, &v); err != nil {
		return nil, r.templateError(err)
	}
	c.preheader = clean(sb.String())
	c.subjectH = htmltemplate.HTMLEscapeString(c.subject)
	c.preheaderH = htmltemplate.HTMLEscapeString(c.preheader)

	v.Personal = true
	v.Email, v.Name = mark(slotEmail), mark(slotName)
	v.PreferencesURL, v.UnsubscribeURL = mark(slotPreferencesURL), mark(slotUnsubscribeURL)
	sb.Reset()
	if err := r.html.ExecuteTemplate(&sb, "footer", &v); err != nil {
		return nil, r.templateError(err)
	}
	dir := r.opts.TemplateDir + "/"
	var err error
	if c.footerHTML, err = cutLayout(sb.String(), dir+fileHTMLBlocks+` "footer"`, slotPreferencesURL, slotUnsubscribeURL); err != nil {
		return nil, err
	}
	sb.Reset()
	if err := r.text.ExecuteTemplate(&sb, "footer", &v); err != nil {
		return nil, r.templateError(err)
	}
	if c.footerText, err = cutLayout(sb.String(), dir+fileTextBlocks+` "footer"`, slotPreferencesURL, slotUnsubscribeURL); err != nil {
		return nil, err
	}
	return c, nil
}

// readerView is the view of a choice without a reader.
func (p *Prepared) readerView(c *choice) readerView {
	return readerView{
		Newsroom:      p.r.opts.Newsroom,
		Date:          p.dateLong,
		DateISO:       p.ed.Date,
		ArchiveURL:    p.archiveURL,
		PostalAddress: p.r.opts.PostalAddress,
		TopStory:      c.topStory,
		Count:         c.count,
		AllSections:   c.all,
		SectionTitles: c.titles,
	}
}

// compose assembles a message; d == nil means the archive.
func (p *Prepared) compose(d *news.Delivery) (Message, error) {
	c, err := p.choiceFor(d)
	if err != nil {
		return Message{}, err
	}
	if c.count == 0 {
		return Message{}, ErrNoArticles
	}
	var footerHTML, footerText string
	if d == nil {
		footerHTML, footerText, err = p.archiveFooter(c)
		if err != nil {
			return Message{}, err
		}
	} else {
		for _, u := range []struct{ field, url string }{{"preferences_url", d.PreferencesURL}, {"unsubscribe_url", d.UnsubscribeURL}} {
			if fe := news.CheckAbsoluteURL(u.field, u.url); fe != nil {
				return Message{}, fe
			}
		}
		name := clean(d.Name)
		footerHTML = fillFooter(&c.footerHTML, [numSlots]string{
			slotEmail:          htmltemplate.HTMLEscapeString(d.Email),
			slotName:           htmltemplate.HTMLEscapeString(name),
			slotPreferencesURL: htmltemplate.HTMLEscapeString(d.PreferencesURL),
			slotUnsubscribeURL: htmltemplate.HTMLEscapeString(d.UnsubscribeURL),
		})
		// The text footer is wrapped after the reader's details are in,
		// so their length is counted.
		footerText = wrap(fillFooter(&c.footerText, [numSlots]string{
			slotEmail:          d.Email,
			slotName:           name,
			slotPreferencesURL: d.PreferencesURL,
			slotUnsubscribeURL: d.UnsubscribeURL,
		}), TextWidth, 0)
	}
	return Message{
		Subject: c.subject,
		HTML:    fill(&p.layoutHTML, c, footerHTML, true),
		Text:    fill(&p.layoutText, c, footerText, false),
	}, nil
}

// archiveFooter executes the footer templates for the archive, which has
// no reader.
func (p *Prepared) archiveFooter(c *choice) (string, string, error) {
	r := p.r
	v := p.readerView(c)
	var fh, ft strings.Builder
	if err := r.html.ExecuteTemplate(&fh, "footer", &v); err != nil {
		return "", "", r.templateError(err)
	}
	if err := r.text.ExecuteTemplate(&ft, "footer", &v); err != nil {
		return "", "", r.templateError(err)
	}
	return fh.String(), wrap(ft.String(), TextWidth, 0), nil
}

// fillFooter writes a footer with the reader's values in its slots.
func fillFooter(l *layout, vals [numSlots]string) string {
	n := l.size
	for _, part := range l.parts {
		n += len(vals[part.slot])
	}
	var b strings.Builder
	b.Grow(n)
	for _, part := range l.parts {
		if part.slot == slotNone {
			b.WriteString(part.text)
		} else {
			b.WriteString(vals[part.slot])
		}
	}
	return b.String()
}

// fill writes a layout with the slots filled for one reader.
func fill(l *layout, c *choice, footer string, isHTML bool) string {
	var b strings.Builder
	if isHTML {
		b.Grow(c.htmlSize + 2*len(c.subjectH) + len(c.preheaderH) + len(footer))
	} else {
		b.Grow(c.textSize + 2*len(c.subject) + len(c.preheader) + len(footer))
	}
	for _, part := range l.parts {
		switch part.slot {
		case slotNone:
			b.WriteString(part.text)
		case slotSubject:
			if isHTML {
				b.WriteString(c.subjectH)
			} else {
				b.WriteString(c.subject)
			}
		case slotPreheader:
			if isHTML {
				b.WriteString(c.preheaderH)
			} else {
				b.WriteString(c.preheader)
			}
		case slotBlocks:
			for _, s := range c.blocks {
				if isHTML {
					b.WriteString(string(s.html))
				} else {
					b.WriteString(s.text)
				}
			}
		case slotMostRead:
			if isHTML {
				b.WriteString(string(c.most.html))
			} else {
				b.WriteString(c.most.text)
			}
		case slotFooter:
			b.WriteString(footer)
		}
	}
	return b.String()
}
