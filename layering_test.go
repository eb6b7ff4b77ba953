package pressroom_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/pressroom/pressroom"

// rule is the dependency rule of PROTOCOL.md (and STYLE.md), exactly: for
// each area, the other project areas it may import; nil means none. A
// package below an area's directory belongs to the deepest area naming it.
// Tests follow the same rule, and may also import the testOnly areas.
var rule = map[string][]string{
	"internal/news":              nil,
	"templates":                  nil,
	"internal/mail":              nil,
	"internal/schedule":          nil,
	"internal/testtool":          nil,
	"internal/testtool/smtptest": nil,
	"feeds":                      {"internal/news"},
	"internal/ingest":            {"internal/news"},
	"internal/store":             {"internal/news"},
	"digest":                     {"internal/news", "templates", "internal/mail"},
	"internal/web":               {"internal/news", "feeds", "digest", "internal/ingest", "internal/mail", "templates"},
	"cmd/pressroom":              nil, // may import anything: see unrestricted
	"deploy":                     nil, // tests only: they run the nginx and systemd files with the built binary
}

// unrestricted areas may import any project package.
var unrestricted = map[string]bool{"cmd/pressroom": true}

// testOnly areas may be imported by any package's tests and by no shipped
// code, not even an unrestricted area's.
var testOnly = map[string]bool{"internal/testtool": true, "internal/testtool/smtptest": true}

// enforceTestImports makes test files obey the rule too. It is off: the
// rule is checked on what `go list -deps` follows (the code that ships),
// while some tests reach across areas on purpose (web's external tests run
// the handlers over a real store; store's import tests read through
// ingest). Those crossings are logged by TestDependencyRule.
const enforceTestImports = false

// area returns the area of the rule a project package belongs to, or "".
func area(rel string) string {
	best := ""
	for a := range rule {
		if (rel == a || strings.HasPrefix(rel, a+"/")) && len(a) > len(best) {
			best = a
		}
	}
	return best
}

// listedPackage is the part of `go list -json` output the check reads.
type listedPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// violations returns one message per import that breaks the rule: in
// shipped code (prod), and in tests (tests).
func violations(pkgs []listedPackage) (prod, tests []string) {
	for _, p := range pkgs {
		rel, ok := projectRel(p.ImportPath)
		if !ok || rel == "" {
			continue // the standard library, other modules, this test's package
		}
		own := area(rel)
		if own == "" {
			prod = append(prod, fmt.Sprintf("%s belongs to no area of the dependency rule: add it to PROTOCOL.md and to this test", rel))
			continue
		}
		check := func(imports []string, inTests bool) {
			for _, imp := range imports {
				irel, ok := projectRel(imp)
				if !ok {
					continue
				}
				to := area(irel)
				if to == own || slices.Contains(rule[own], to) || inTests && testOnly[to] {
					continue
				}
				if testOnly[to] && !testOnly[own] {
					prod = append(prod, fmt.Sprintf("%s imports %s, which only tests may import", rel, irel))
					continue
				}
				if unrestricted[own] {
					continue
				}
				where := rel
				if inTests {
					where += " (tests)"
				}
				allowed := "no project package"
				if len(rule[own]) > 0 {
					allowed = strings.Join(rule[own], ", ") + " only"
				}
				msg := fmt.Sprintf("%s imports %s; the dependency rule allows %s", where, irel, allowed)
				if inTests {
					tests = append(tests, msg)
				} else {
					prod = append(prod, msg)
				}
			}
		}
		check(p.Imports, false)
		check(append(slices.Clone(p.TestImports), p.XTestImports...), true)
	}
	return prod, tests
}

// projectRel returns the path of a project package relative to the module.
func projectRel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	return strings.CutPrefix(path, module+"/")
}

// TestDependencyRule runs `go list -deps -json ./...` and fails, naming
// each offending import, when a package (or its tests) imports a project
// package the rule does not allow.
func TestDependencyRule(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	project := 0
	for _, p := range pkgs {
		if rel, ok := projectRel(p.ImportPath); ok && rel != "" {
			project++
		}
	}
	if project < 5 {
		t.Fatalf("go list found only %d project packages", project)
	}
	prod, tests := violations(pkgs)
	for _, v := range prod {
		t.Error(v)
	}
	for _, v := range tests {
		if enforceTestImports {
			t.Error(v)
		} else {
			t.Log("allowed in tests only:", v)
		}
	}
}

// TestViolationsCatchesBreaches feeds the checker made-up packages that
// break the rule in each way it knows.
func TestViolationsCatchesBreaches(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	pkgs := []listedPackage{
		{ImportPath: m("internal/web"), Imports: []string{"net/http", m("internal/news"), m("feeds"), m("internal/store")}},
		{ImportPath: m("internal/store"), Imports: []string{m("internal/news")}, TestImports: []string{m("internal/testtool"), m("internal/ingest")}},
		{ImportPath: m("internal/news"), XTestImports: []string{m("internal/news"), m("templates")}},
		{ImportPath: m("feeds/opml"), Imports: []string{m("feeds"), m("internal/news"), m("digest")}},
		{ImportPath: m("internal/metrics"), Imports: []string{"fmt"}},
		{ImportPath: m("cmd/pressroom"), Imports: []string{m("internal/store"), m("internal/web"), m("internal/testtool/smtptest")}, TestImports: []string{m("internal/testtool/smtptest")}},
		{ImportPath: m("internal/mail"), Imports: []string{m("internal/testtool/smtptest")}, XTestImports: []string{m("internal/testtool/smtptest"), m("internal/testtool")}},
		{ImportPath: m("internal/testtool/smtptest"), Imports: []string{m("internal/mail")}, XTestImports: []string{m("internal/testtool/smtptest")}},
		{ImportPath: "github.com/robfig/cron/v3", Imports: []string{m("internal/store")}},
	}
	wantProd := []string{
		"internal/web imports internal/store; the dependency rule allows internal/news, feeds, digest, internal/ingest, internal/mail, templates only",
		"feeds/opml imports digest; the dependency rule allows internal/news only",
		"internal/metrics belongs to no area of the dependency rule: add it to PROTOCOL.md and to this test",
		"cmd/pressroom imports internal/testtool/smtptest, which only tests may import",
		"internal/mail imports internal/testtool/smtptest, which only tests may import",
		"internal/testtool/smtptest imports internal/mail; the dependency rule allows no project package",
	}
	wantTests := []string{
		"internal/store (tests) imports internal/ingest; the dependency rule allows internal/news only",
		"internal/news (tests) imports templates; the dependency rule allows no project package",
	}
	prod, tests := violations(pkgs)
	if diff := cmp.Diff(wantProd, prod); diff != "" {
		t.Errorf("violations in shipped code (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantTests, tests); diff != "" {
		t.Errorf("violations in tests (-want +got):\n%s", diff)
	}
}
