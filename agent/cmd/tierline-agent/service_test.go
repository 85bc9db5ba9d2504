package main

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

// TestInstallWithoutSystemd: on a machine without a supported service
// manager, install, uninstall, start and status fail with a clear error
// and change nothing.
func TestInstallWithoutSystemd(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd detection is Linux only")
	}
	old := serviceRoot
	serviceRoot = t.TempDir()
	defer func() { serviceRoot = old }()
	_, e := capture(t)
	state := t.TempDir()
	for _, args := range [][]string{
		{"install", "--state", state, "--token", "tl1.x"},
		{"uninstall", "--state", state},
		{"start"},
	} {
		e.Reset()
		if code := dispatch(context.Background(), args); code != exitError {
			t.Errorf("%v: exit %d", args, code)
		}
		if !strings.Contains(e.String(), "systemd is not running on this machine") {
			t.Errorf("%v: stderr %q", args, e.String())
		}
	}
}
