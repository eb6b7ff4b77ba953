package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/pressroom/pressroom/internal/store"
)

// openStore opens the configured database. Only migrate (and demo) create
// a new file: everything else refuses a missing one, so that a mistyped
// --db does not silently start an empty newsroom.
func (e *env) openStore(ctx context.Context) (*store.DB, error) {
	if _, err := os.Stat(e.cfg.DB); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database %s does not exist: create it with 'pressroom migrate --db %s'", e.cfg.DB, e.cfg.DB)
	}
	db, err := store.Open(ctx, e.cfg.DB, store.Options{Logger: e.logger, Now: e.now})
	if err != nil {
		return nil, err
	}
	return db, nil
}

// closeStore closes db and folds a close error into err.
func closeStore(db *store.DB, err *error) {
	if cerr := db.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}
