package inventory_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestInventoryDoesNotImportHealth keeps the inventory apart from the
// health checks, on every OS the agent ships for: both read the machine
// through the same packages (netstate, svcmgr, execx), and neither reaches
// into the other.
func TestInventoryDoesNotImportHealth(t *testing.T) {
	const (
		inventory = "github.com/tierline/tierline/agent/inventory"
		health    = "github.com/tierline/tierline/agent/health"
	)
	for _, goos := range []string{"linux", "windows", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", inventory)
			cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("go list %s for %s: %v\n%s", inventory, goos, err, stderr)
			}
			deps := strings.Fields(string(out))
			if !slices.Contains(deps, inventory) {
				t.Fatalf("go list printed no dependencies of %s: %q", inventory, out)
			}
			if slices.Contains(deps, health) {
				t.Errorf("%s for %s imports %s", inventory, goos, health)
			}
		})
	}
}
