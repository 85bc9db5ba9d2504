package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAgentDependencies keeps the agent free of hub code, SQL drivers and
// console assets (design brief: the agent never links them).
func TestAgentDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not available")
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		cmd := exec.Command(goBin, "list", "-deps", "github.com/tierline/tierline/agent/cmd/tierline-agent")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list (%s): %v", goos, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			switch {
			case strings.HasPrefix(pkg, "github.com/tierline/tierline/hub"),
				pkg == "database/sql",
				strings.HasPrefix(pkg, "modernc.org/sqlite"),
				strings.HasPrefix(pkg, "github.com/jackc/pgx"),
				strings.Contains(pkg, "/console"):
				t.Errorf("GOOS=%s: tierline-agent depends on %s", goos, pkg)
			}
		}
	}
}
