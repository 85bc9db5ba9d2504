// Package agent_test keeps tierline-agent and tierline-tray free of hub
// code, SQL drivers and console assets, and the tierline-agent service free
// of the tray's GUI and the Get help page, on every OS they ship for.
package agent_test

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are import path prefixes the agent binary must never link.
var forbidden = []string{
	"github.com/tierline/tierline/hub", // hub code, including the console and its assets
	"database/sql",
	"modernc.org/sqlite",
	"github.com/jackc/pgx",
	"github.com/mattn/go-sqlite3",
	"github.com/lib/pq",
}

func deps(t *testing.T, goos, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %s for %s: %v\n%s", pkg, goos, err, ee.Stderr)
		}
		t.Fatalf("go list %s for %s: %v", pkg, goos, err)
	}
	return strings.Fields(string(out))
}

// userSession are what only tierline-tray, the program in the user's
// session, links: the tray icon and its D-Bus/Win32/Cocoa library, its PNG
// icons, and the Get help page's web server. The service stays without them:
// on Linux its resident memory is about the size of its binary
// (docs/benchmarks.md, "where the memory goes").
var userSession = []string{
	"fyne.io/systray",
	"github.com/tierline/tierline/agent/tray",
	"github.com/tierline/tierline/agent/selfhelp",
	"image",
}

func violations(paths []string, forbidden ...string) []string {
	var bad []string
	for _, p := range paths {
		for _, f := range forbidden {
			if p == f || strings.HasPrefix(p, f+"/") {
				bad = append(bad, p)
			}
		}
	}
	return bad
}

func TestAgentLinksNoHubCodeOrSQL(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			agent := deps(t, goos, "github.com/tierline/tierline/agent/cmd/tierline-agent")
			if bad := violations(agent, forbidden...); len(bad) > 0 {
				t.Errorf("tierline-agent for %s links forbidden packages: %v", goos, bad)
			}
			if bad := violations(agent, userSession...); len(bad) > 0 {
				t.Errorf("the tierline-agent service for %s links the user session's packages: %v (they belong in tierline-tray)", goos, bad)
			}
			if bad := violations(deps(t, goos, "github.com/tierline/tierline/agent/cmd/tierline-tray"), forbidden...); len(bad) > 0 {
				t.Errorf("tierline-tray for %s links forbidden packages: %v", goos, bad)
			}
		})
	}
}

// TestCheckCatchesHub proves the check can fail: the hub links all of it.
func TestCheckCatchesHub(t *testing.T) {
	bad := violations(deps(t, "linux", "github.com/tierline/tierline/hub/cmd/tierline-hub"), forbidden...)
	for _, want := range []string{"github.com/tierline/tierline/hub/store", "database/sql", "modernc.org/sqlite"} {
		found := false
		for _, b := range bad {
			found = found || b == want
		}
		if !found {
			t.Errorf("dependency check missed %s in the hub's dependencies", want)
		}
	}
}

// TestCheckCatchesTray proves the user-session check can fail: tierline-tray
// links all of it.
func TestCheckCatchesTray(t *testing.T) {
	bad := violations(deps(t, "linux", "github.com/tierline/tierline/agent/cmd/tierline-tray"), userSession...)
	for _, want := range []string{"fyne.io/systray", "github.com/tierline/tierline/agent/tray", "github.com/tierline/tierline/agent/selfhelp", "image/png"} {
		found := false
		for _, b := range bad {
			found = found || b == want
		}
		if !found {
			t.Errorf("user-session check missed %s in tierline-tray's dependencies (found %v)", want, bad)
		}
	}
}
