//go:build profile

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $PRESSROOM_CPUPROFILE when the
// binary is built with -tags profile (scripts/bench-delivery.sh PROFILE=1).
func startProfile() (stop func()) {
	path := os.Getenv("PRESSROOM_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pressroom: cpu profile:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
