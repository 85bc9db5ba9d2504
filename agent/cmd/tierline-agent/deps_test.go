package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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

// The main only declares subcommands and flags and wires packages; the
// agent's logic lives in agent/... packages. Its size keeps that honest.
func TestMainStaysWiring(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines += bytes.Count(b, []byte("\n"))
	}
	if lines >= 600 {
		t.Errorf("package main has %d lines outside tests; move logic into a package under agent/ (limit 600)", lines)
	}
}
