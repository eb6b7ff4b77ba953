package feeds

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden compares every file of the fixture build with its golden
// copy. Run `go test ./feeds -update` to rewrite them after an intended
// change, and review the diff.
func TestGolden(t *testing.T) {
	set := buildFixture(t)
	dir := filepath.Join("testdata", "golden")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range set.Files {
		t.Run(f.Name, func(t *testing.T) {
			path := filepath.Join(dir, f.Name)
			if *update {
				if err := os.WriteFile(path, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./feeds -update to create it)", err)
			}
			if !bytes.Equal(f.Data, want) {
				t.Errorf("%s differs from %s (run with -update and review the diff):\n%s", f.Name, path, lineDiff(string(want), string(f.Data)))
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := set.File(e.Name()); !ok && !*update {
			t.Errorf("stale golden file %s: the build no longer produces it", e.Name())
		}
	}
}
