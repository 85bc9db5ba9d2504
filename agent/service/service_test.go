package service

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestDetectWithoutSystemd(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd detection is Linux only")
	}
	root := t.TempDir()
	err := Detect(root)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "systemd is not running") {
		t.Fatalf("Detect = %v", err)
	}
	for _, op := range []func() error{
		func() error { return Install(Config{StateDir: "/nonexistent", Root: root}) },
		func() error { return Uninstall(Config{Root: root}) },
		func() error { return Control(Config{Root: root}, "start") },
		func() error { _, err := Status(Config{Root: root}); return err },
	} {
		if err := op(); !errors.Is(err, ErrUnsupported) {
			t.Errorf("without systemd: %v", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "run/systemd/system"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Detect(root); err != nil {
		t.Fatalf("with /run/systemd/system: %v", err)
	}
}
