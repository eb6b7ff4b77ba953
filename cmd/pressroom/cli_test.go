package main

import (
	"strings"
	"testing"
)

func TestHelpListsEveryCommandAndGlobalFlag(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := pressroom(t, "", args...)
		r.want(t, 0)
		for _, c := range commands() {
			if !strings.Contains(r.stdout, "  "+c.name+" ") || !strings.Contains(r.stdout, c.summary) {
				t.Errorf("%v: help lacks command %q with its summary", args, c.name)
			}
		}
		for _, f := range globalFlags() {
			if !strings.Contains(r.stdout, "--"+f.name+" "+f.value) || !strings.Contains(r.stdout, f.env) {
				t.Errorf("%v: help lacks global flag --%s and %s", args, f.name, f.env)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{nil, []string{"pressroom: no command given", "Run 'pressroom help' for usage."}},
		{[]string{"frobnicate"}, []string{`pressroom: unknown command "frobnicate" (run 'pressroom help' for the list)`}},
		{[]string{"--nope", "help"}, []string{"pressroom: flag provided but not defined: -nope"}},
		{[]string{"help", "frobnicate"}, []string{`unknown command "frobnicate"`}},
	}
	for _, tt := range tests {
		r := pressroom(t, "", tt.args...)
		r.want(t, 2, tt.want...)
	}
}
