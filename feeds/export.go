package feeds

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteDir writes every file of set into dir (created if missing), each
// through a temporary file renamed into place, so a reader never sees a
// partial feed. A file whose bytes are already there is not touched, so a
// web server's ETag and modification time stay stable. It returns the
// names of the files it wrote, in set order.
func WriteDir(dir string, set *Set) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("feeds: export: %w", err)
	}
	var changed []string
	for _, f := range set.Files {
		path := filepath.Join(dir, f.Name)
		old, err := os.ReadFile(path)
		switch {
		case err == nil && bytes.Equal(old, f.Data):
			continue
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return changed, fmt.Errorf("feeds: export %s: %w", f.Name, err)
		}
		if err := writeAtomic(dir, f.Name, f.Data); err != nil {
			return changed, fmt.Errorf("feeds: export %s: %w", f.Name, err)
		}
		changed = append(changed, f.Name)
	}
	return changed, nil
}

func writeAtomic(dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}
