package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrayRunsBesideAgent: `tierline-agent tray` and `tierline-agent
// gethelp` are tierline-tray's, run from beside the agent with the same
// arguments; without tierline-tray beside it the agent says so in words.
func TestTrayRunsBesideAgent(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not available")
	}
	dir := t.TempDir()
	for _, name := range []string{"tierline-agent", "tierline-tray"} {
		out, err := exec.Command(goBin, "build", "-o", filepath.Join(dir, name), "github.com/tierline/tierline/agent/cmd/"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	run := func(agent string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(agent, args...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("%s %v: %v", agent, args, err)
		}
		return o.String(), e.String(), cmd.ProcessState.ExitCode()
	}
	agent := filepath.Join(dir, "tierline-agent")

	out, errOut, code := run(agent, "tray", "-h")
	if code != 0 || !strings.Contains(out, "Usage: tierline-tray tray") || !strings.Contains(out, "--poll") {
		t.Errorf("tray -h: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	_, errOut, code = run(agent, "gethelp", "--state", t.TempDir(), "--socket", "/nonexistent/agent.sock")
	if code != exitUsage || !strings.Contains(errOut, "give --state or --socket, not both") {
		t.Errorf("gethelp --state --socket: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = run(agent, "tray", "--poll", "soon")
	if code != exitUsage || !strings.Contains(errOut, "tierline-tray tray") {
		t.Errorf("tray --poll soon: exit %d, stderr %q", code, errOut)
	}

	// A link to the agent finds the tray beside the real binary.
	linked := filepath.Join(t.TempDir(), "tierline-agent")
	if err := os.Symlink(agent, linked); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(linked, "gethelp", "-h"); code != 0 || !strings.Contains(out, "--no-browser") {
		t.Errorf("gethelp -h through a link: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	alone := filepath.Join(t.TempDir(), "tierline-agent")
	b, err := os.ReadFile(agent)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"tray", "gethelp"} {
		_, errOut, code = run(alone, sub)
		want := "tierline-tray, which is not installed beside this agent (" + filepath.Join(filepath.Dir(alone), "tierline-tray") + ")"
		if code != exitError || !strings.Contains(errOut, want) {
			t.Errorf("%s without tierline-tray: exit %d, stderr %q, want %q", sub, code, errOut, want)
		}
	}
}
