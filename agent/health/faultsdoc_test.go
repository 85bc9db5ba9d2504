package health

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/diag"
)

// TestFaultsDocIsTrue keeps docs/faults.md true: every check the agent
// has has a row there, and every test a row names as its proof exists.
func TestFaultsDocIsTrue(t *testing.T) {
	top, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	root := strings.TrimSpace(string(top))
	doc, err := os.ReadFile(filepath.Join(root, "docs", "faults.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range diag.CheckNames {
		if !strings.Contains(string(doc), "| "+name+" |") && !strings.Contains(string(doc), "`"+name+"`") &&
			!strings.Contains(string(doc), "| "+name+":") {
			t.Errorf("check %s has no row in docs/faults.md", name)
		}
	}
	// Test functions anywhere in the repository.
	have := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllSubmatch(b, -1) {
			have[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`\bTest[A-Z]\w*`)
	inDoc := map[string]bool{}
	for _, n := range named.FindAllString(string(doc), -1) {
		inDoc[n] = true
		if !have[n] {
			t.Errorf("docs/faults.md names %s, which no test declares", n)
		}
	}
	// The other way round: every real-fault test has its row. Those are
	// every test on the booted machine and the checks' tests that inject a
	// fault on this one (named …Real… by convention).
	for _, n := range realFaultTests(t, root) {
		if !inDoc[n] {
			t.Errorf("%s injects a real fault but docs/faults.md has no row naming it", n)
		}
	}
}

// notFaultTests are tests named like real-fault tests that prove something
// else.
var notFaultTests = map[string]bool{
	"TestCatalogVerifiesWithRealChecks": true, // the catalog's verify lists name real checks
	"TestMain":                          true,
	"TestPackagedTrayApart":             true, // the .deb ships the tray as its own program
}

func realFaultTests(t *testing.T, root string) []string {
	t.Helper()
	decl := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	var out []string
	for _, dir := range []string{"hub/e2e/machine", "agent/health"} {
		files, err := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range decl.FindAllSubmatch(b, -1) {
				n := string(m[1])
				if notFaultTests[n] || (dir == "agent/health" && !strings.Contains(n, "Real")) {
					continue
				}
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("found no real-fault tests: has hub/e2e/machine moved?")
	}
	return out
}
