package feeds

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ManifestName is the file WriteDir keeps in the export folder, listing
// (one name a line, after "#" comment lines) the files its last export
// wrote. The next export deletes the listed files it no longer writes (a
// section removed or renamed, a format dropped), so a static host stops
// serving dead feeds; a file the manifest does not list is never touched.
const ManifestName = ".pressroom-feeds"

const manifestHeader = "# Files the last Pressroom feeds export wrote into this folder, one a line.\n" +
	"# The next export deletes those it no longer writes; files not listed are never touched.\n"

// Export is what WriteDir did to the folder.
type Export struct {
	// Written names the files whose bytes changed, in set order.
	Written []string
	// Removed names the files of an earlier export that are no longer in
	// the set and were deleted, sorted.
	Removed []string
	// Warnings are problems that did not stop the export: an unreadable
	// manifest (nothing is deleted), a manifest line ignored (naming the
	// manifest and line), a stale file that could not be deleted (kept in
	// the manifest, to try again next time).
	Warnings []error
}

// WriteDir writes every file of set into dir (created if missing), each
// through a temporary file renamed into place, so a reader never sees a
// partial feed. A file whose bytes are already there is not touched, so a
// web server's ETag and modification time stay stable.
//
// Files of an earlier export that set no longer holds are then deleted,
// as listed in dir's ManifestName file; files the manifest does not list
// (an operator's index.html, another tool's files) are never touched. A
// missing or unreadable manifest deletes nothing and is rewritten. The
// order makes a crash harmless: the new files first, then a manifest
// listing them and the stale ones, then the deletions, then the final
// manifest; a live feed is never deleted, and a stale one is deleted by
// the next export if a crash interrupted this one.
func WriteDir(dir string, set *Set) (Export, error) {
	var ex Export
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ex, fmt.Errorf("feeds: export: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return ex, fmt.Errorf("feeds: export: %w", err)
	}
	defer root.Close()
	previous, warnings := readManifest(root, filepath.Join(dir, ManifestName))
	ex.Warnings = warnings

	current := make([]string, 0, len(set.Files))
	for _, f := range set.Files {
		current = append(current, f.Name)
		changed, err := writeIfChanged(dir, f.Name, f.Data)
		if err != nil {
			return ex, fmt.Errorf("feeds: export %s: %w", f.Name, err)
		}
		if changed {
			ex.Written = append(ex.Written, f.Name)
		}
	}
	slices.Sort(current)
	var stale []string
	for _, name := range previous {
		if _, found := slices.BinarySearch(current, name); !found {
			stale = append(stale, name)
		}
	}
	// Record the stale files along with the new ones before deleting:
	// a crash from here on leaves them listed for the next export.
	if err := writeManifest(dir, current, stale); err != nil {
		return ex, err
	}
	if len(stale) == 0 {
		return ex, nil
	}
	var kept []string
	for _, name := range stale {
		info, err := root.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // gone already (deleted by hand, or before a crash)
		case err == nil && info.IsDir():
			ex.Warnings = append(ex.Warnings, fmt.Errorf("feeds: export: %s: stale %q is now a folder, not ours: left alone", filepath.Join(dir, ManifestName), name))
			continue
		case err == nil:
			err = root.Remove(name)
		}
		if err != nil {
			ex.Warnings = append(ex.Warnings, fmt.Errorf("feeds: export: remove stale %s: %w", name, err))
			kept = append(kept, name)
			continue
		}
		ex.Removed = append(ex.Removed, name)
	}
	if err := writeManifest(dir, current, kept); err != nil {
		return ex, err
	}
	return ex, nil
}

// readManifest returns the valid, distinct names in the manifest at path
// (read through root, so a symbolic link cannot lead it out of the
// folder), sorted, and a warning for every line it ignores. A missing
// manifest is no warning; an unreadable one is, and yields no names.
func readManifest(root *os.Root, path string) ([]string, []error) {
	data, err := root.ReadFile(ManifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{fmt.Errorf("feeds: export: %s: unreadable, nothing deleted: %w", path, err)}
	}
	var (
		names    []string
		warnings []error
	)
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if reason := checkManifestEntry(line); reason != "" {
			warnings = append(warnings, fmt.Errorf("feeds: export: %s:%d: entry %q: %s: ignored", path, i+1, line, reason))
			continue
		}
		names = append(names, line)
	}
	slices.Sort(names)
	return slices.Compact(names), warnings
}

// checkManifestEntry says why name cannot be a file an export wrote, or
// returns "". Exports write plain names into the folder itself, never
// hidden ones (those are the manifest and temporary files).
func checkManifestEntry(name string) string {
	switch {
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "not a file name"
	case filepath.IsAbs(name) || strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`):
		return "an absolute path, outside the folder"
	case !filepath.IsLocal(name) || slices.Contains(strings.FieldsFunc(name, isSeparator), ".."):
		return "leads outside the folder"
	case strings.ContainsFunc(name, isSeparator):
		return "in a subfolder, where exports never write"
	case strings.HasPrefix(name, "."):
		return "a hidden file, which exports never write"
	}
	return ""
}

func isSeparator(r rune) bool { return r == '/' || r == '\\' }

// writeManifest writes the manifest listing the files of current and
// pending (stale files not deleted yet), unless it already says so.
func writeManifest(dir string, current, pending []string) error {
	names := slices.Concat(current, pending)
	slices.Sort(names)
	var b strings.Builder
	b.WriteString(manifestHeader)
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte('\n')
	}
	if _, err := writeIfChanged(dir, ManifestName, []byte(b.String())); err != nil {
		return fmt.Errorf("feeds: export: manifest: %w", err)
	}
	return nil
}

// writeIfChanged writes data to dir/name through writeAtomic unless the
// file already holds exactly those bytes, and says whether it wrote.
func writeIfChanged(dir, name string, data []byte) (bool, error) {
	old, err := os.ReadFile(filepath.Join(dir, name))
	switch {
	case err == nil && bytes.Equal(old, data):
		return false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	return true, writeAtomic(dir, name, data)
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
