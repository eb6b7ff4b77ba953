// Package templates embeds every email and web template Pressroom renders.
// Packages that render parse them once at start-up from these file systems.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed all:email all:web
var files embed.FS

// Email returns the email templates (templates/email).
func Email() fs.FS { return sub("email") }

// Web returns the web page templates and static assets (templates/web).
func Web() fs.FS { return sub("web") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded at build time; cannot fail
	}
	return f
}
