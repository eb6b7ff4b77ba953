package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/pressroom/pressroom/internal/news"
)

func cmdSectionsAdd(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("sections add", "[flags] SLUG TITLE", `
Add a section. SLUG names it in article files and feed URLs: 1-64
lower-case letters, digits or hyphens, starting with a letter or digit;
all, top and most-read are taken by the feeds across sections. TITLE is
shown to readers (quote it when it has spaces). A slug that exists
already is an error.`)
	desc := cf.String("description", "", "`TEXT`: a sentence on what the section covers")
	position := cf.String("position", "", "display order `N`, ascending (default: after the last section)")
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return cf.usageErrorf("want SLUG and TITLE, got %d arguments", len(pos))
	}
	s := news.Section{Slug: pos[0], Title: pos[1], Description: *desc}
	if fe := news.ValidateSection(s); fe != nil {
		return cf.usageErrorf("%v", fe)
	}
	posSet := *position != ""
	if posSet {
		n, perr := strconv.Atoi(*position)
		if perr != nil {
			return cf.usageErrorf("--position: %q is not a whole number", *position)
		}
		s.Position = n
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	if !posSet {
		existing, err := db.Sections(ctx)
		if err != nil {
			return err
		}
		for _, x := range existing {
			s.Position = max(s.Position, x.Position+1)
		}
	}
	if err := db.AddSection(ctx, s); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added section %s %q at position %d\n", s.Slug, s.Title, s.Position)
	return nil
}

func cmdSectionsList(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("sections list", "[flags]", `
List the sections in display order: position, slug, title, description.`)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	sections, err := db.Sections(ctx)
	if err != nil {
		return err
	}
	if len(sections) == 0 {
		fmt.Fprintln(e.stdout, "no sections yet: add one with 'pressroom sections add SLUG TITLE'")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POSITION\tSLUG\tTITLE\tDESCRIPTION")
	for _, s := range sections {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Position, s.Slug, s.Title, s.Description)
	}
	return tw.Flush()
}
