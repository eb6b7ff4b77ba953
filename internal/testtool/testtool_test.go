package testtool

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRequireFindsProgramOnPath(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "pressroom-fake-tool")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got := Require(t, "fake", "missing-first", "pressroom-fake-tool"); got != prog {
		t.Errorf("Require = %q, want %q", got, prog)
	}
}

func TestRequired(t *testing.T) {
	t.Setenv("PRESSROOM_REQUIRE_TOOLS", "1")
	if !Required() {
		t.Error("Required() = false with PRESSROOM_REQUIRE_TOOLS=1")
	}
	t.Setenv("PRESSROOM_REQUIRE_TOOLS", "")
	if Required() {
		t.Error("Required() = true without PRESSROOM_REQUIRE_TOOLS")
	}
}
