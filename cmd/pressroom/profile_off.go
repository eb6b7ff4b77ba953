//go:build !profile

package main

// startProfile does nothing unless the binary is built with -tags profile.
func startProfile() (stop func()) { return func() {} }
