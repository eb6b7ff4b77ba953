package feeds

import (
	"github.com/google/go-cmp/cmp"
)

// lineDiff shows how got differs from want.
func lineDiff(want, got string) string { return cmp.Diff(want, got) }
