package testtool

import (
	"os"
	"testing"
)

// DirNames returns the names in dir, sorted, failing the test if dir
// cannot be read: for tests that check which files a command left.
func DirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
