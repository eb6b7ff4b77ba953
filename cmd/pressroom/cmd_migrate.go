package main

import (
	"context"
	"fmt"

	"github.com/pressroom/pressroom/internal/store"
)

func cmdMigrate(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("migrate", "[flags]", `
Create the database file if it does not exist and apply every pending
schema migration, in one transaction. Safe to run on an up-to-date database
(it changes nothing) and while serve runs. A database written by a newer
pressroom is refused.`)
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cf.usageErrorf("takes no arguments, got %q", pos)
	}
	db, err := store.Open(ctx, e.cfg.DB, store.Options{Logger: e.logger, SkipMigrate: true})
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	from, to, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if from == to {
		fmt.Fprintf(e.stdout, "%s: schema version %d, up to date\n", e.cfg.DB, to)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s: migrated schema from version %d to %d\n", e.cfg.DB, from, to)
	return nil
}
