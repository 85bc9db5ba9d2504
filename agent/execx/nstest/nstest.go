// Package nstest runs a test again in Linux namespaces of its own
// (unshare), so what it mounts or switches off is never seen by the
// machine running the tests. For tests only.
package nstest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// childEnv marks the copy of the test that runs inside the namespaces.
const childEnv = "TIERLINE_TEST_IN_NAMESPACE"

// Reexec runs t again, alone, under `unshare FLAGS...`, and reports
// whether the caller is that copy, which goes on with the test's body:
//
//	if !nstest.Reexec(t, "--net", "--mount", "--propagation", "private") {
//		return // the copy inside ran the test; its result is this one's
//	}
//
// It skips without root or unshare, or where namespaces cannot be made,
// and fails with the copy's output when the copy did not pass.
func Reexec(t *testing.T, flags ...string) (inside bool) {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to make namespaces")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare here")
	}
	args := append(append([]string{}, flags...), "--", os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	switch {
	case err != nil && strings.Contains(string(out), "unshare failed"):
		t.Skipf("cannot make namespaces here: %s", out)
	case err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()):
		t.Fatalf("in namespaces of its own (unshare %s): %v\n%s", strings.Join(flags, " "), err, out)
	case strings.Contains(string(out), "--- SKIP"):
		t.Skipf("skipped inside: %s", out)
	}
	t.Logf("in namespaces of its own:\n%s", out)
	return false
}
