package inventory

import (
	"context"
	"os"
	"testing"
)

func TestFixtureRoot(t *testing.T) {
	// Software and services from a fixture root: a Debian machine without
	// a system bus (a container), so service states are unknown.
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg", "lib/systemd/system"} {
		if err := os.MkdirAll(root+"/"+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile("testdata/dpkg/status")
	os.WriteFile(root+"/var/lib/dpkg/status", b, 0o644)
	os.WriteFile(root+"/lib/systemd/system/ssh.service", []byte("[Unit]\n"), 0o644)
	inv, err := CollectWithConfig(context.Background(), Config{Root: root, Disabled: []string{"gpu", "disks", "nics", "firmware", "cpu", "memory"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Software) != 2 || inv.Software[0].Name != "adduser" {
		t.Errorf("software = %+v", inv.Software)
	}
	if len(inv.Services) != 1 || inv.Services[0].Name != "ssh" {
		t.Errorf("services = %+v", inv.Services)
	}
	if _, ok := inv.Collectors["gpu"]; ok {
		t.Error("disabled part ran")
	}
	// An rpm machine: no dpkg database, an rpm one; reported unavailable.
	root2 := t.TempDir()
	os.MkdirAll(root2+"/var/lib/rpm", 0o755)
	inv, _ = CollectWithConfig(context.Background(), Config{Root: root2, Disabled: []string{"gpu", "disks", "nics", "firmware", "cpu", "memory", "services"}})
	if inv.Unavailable["software"] == "" || len(inv.Software) != 0 {
		t.Errorf("rpm machine: software %v, unavailable %q", inv.Software, inv.Unavailable["software"])
	}
}

func TestParseOSRelease(t *testing.T) {
	for _, tt := range []struct{ file, id, version string }{
		{"debian", "debian", "12"},
		{"arch", "arch", "rolling"},
	} {
		root := t.TempDir()
		os.MkdirAll(root+"/etc", 0o755)
		b, _ := os.ReadFile("testdata/os-release/" + tt.file)
		os.WriteFile(root+"/etc/os-release", b, 0o644)
		id, ver, err := platformInfo(context.Background(), &Config{Root: root})
		if err != nil || id != tt.id || ver != tt.version {
			t.Errorf("%s: %q %q %v, want %q %q", tt.file, id, ver, err, tt.id, tt.version)
		}
	}
	if kv := ParseOSRelease([]byte("ANSI_COLOR='0;31'\nX=\"a \\\"b\\\"\"\n")); kv["ANSI_COLOR"] != "0;31" || kv["X"] != `a "b"` {
		t.Errorf("unquoting: %v", kv)
	}
}
