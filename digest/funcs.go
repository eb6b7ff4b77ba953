package digest

import (
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"
)

// msoOpen and msoClose wrap the email in a fixed-width table for Outlook
// on Windows, which ignores max-width. html/template strips comments from
// template text, so these conditional comments come from a function.
const (
	msoOpen  = `<!--[if mso]><table role="presentation" width="640" align="center" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->`
	msoClose = `<!--[if mso]></td></tr></table><![endif]-->`
)

func htmlFuncs() htmltemplate.FuncMap {
	return htmltemplate.FuncMap{
		"msoOpen":  func() htmltemplate.HTML { return msoOpen },
		"msoClose": func() htmltemplate.HTML { return msoClose },
		"join":     strings.Join,
	}
}

func textFuncs() texttemplate.FuncMap {
	return texttemplate.FuncMap{
		// wrap wraps text at TextWidth columns.
		"wrap": func(s string) string { return wrap(s, TextWidth, 0) },
		// hang wraps text at TextWidth columns, continuation lines
		// indented by n spaces (for list items).
		"hang":  func(n int, s string) string { return wrap(s, TextWidth, n) },
		"upper": strings.ToUpper,
		// rule is a line of ch as long as s, to underline a heading.
		"rule": func(ch, s string) string { return strings.Repeat(ch, utf8.RuneCountInString(s)) },
		"join": strings.Join,
		"inc":  func(i int) int { return i + 1 },
	}
}
