package inventory

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// TestDpkgInstallTimes: a package's install time is its file list's
// modification time, NAME.list or NAME:ARCH.list.
func TestDpkgInstallTimes(t *testing.T) {
	root := t.TempDir()
	info := filepath.Join(root, "var/lib/dpkg/info")
	os.MkdirAll(info, 0o755)
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), []byte(fixture(t, "dpkg/status")), 0o644)
	t1 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 11, 30, 6, 25, 13, 0, time.UTC)
	for name, at := range map[string]time.Time{"adduser.list": t1, "libc6:amd64.list": t2, "libc6:amd64.md5sums": t1} {
		p := filepath.Join(info, name)
		os.WriteFile(p, nil, 0o644)
		os.Chtimes(p, at, at)
	}
	var inv diag.Inventory
	if err := fillSoftware(context.Background(), &Config{Root: root}, &inv); err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	for _, s := range inv.Software {
		got[s.Name] = s.Installed
	}
	if !got["adduser"].Equal(t1) || !got["libc6"].Equal(t2) {
		t.Errorf("install times %v; want adduser %s, libc6 %s", got, t1, t2)
	}
}

// TestAptUpdatesReal asks this machine's apt for its pending updates, the
// way the agent does, when it has apt.
func TestAptUpdatesReal(t *testing.T) {
	if _, err := find("apt-get"); err != nil {
		t.Skip("apt-get is not installed")
	}
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("no dpkg database")
	}
	var inv diag.Inventory
	if err := fillUpdates(context.Background(), &Config{Root: "/"}, &inv); err != nil {
		t.Fatal(err)
	}
	u := inv.Updates
	if u == nil || u.Manager != "apt" || u.Pending < u.Security || u.Automatic == "" || len(u.Packages) > diag.MaxPendingUpdates {
		t.Fatalf("update status %+v", u)
	}
	if u.Pending > 0 && u.OldestPending.IsZero() {
		t.Errorf("%d pending without an age", u.Pending)
	}
	t.Logf("apt: %d pending, %d security, last success %s, last check %s, automatic %s", u.Pending, u.Security, u.LastSuccess, u.LastCheck, u.Automatic)
}

// TestAptPendingCached: apt-get runs again only when dpkg's status or
// apt's lists change.
func TestAptPendingCached(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755)
	os.MkdirAll(filepath.Join(root, "var/lib/apt/lists"), 0o755)
	status := filepath.Join(root, "var/lib/dpkg/status")
	os.WriteFile(status, []byte(fixture(t, "dpkg/status")), 0o644)
	fe := &fakeExec{programs: map[string]string{"apt-get": updatesFixture(t, "apt-simulate-debian12.txt")}}
	fe.install(t)
	cfg := &Config{Root: root, fakeCommands: true}
	for range 2 {
		var inv diag.Inventory
		if err := fillUpdates(context.Background(), cfg, &inv); err != nil {
			t.Fatal(err)
		}
		if inv.Updates == nil || inv.Updates.Pending != 118 || inv.Updates.Security != 78 {
			t.Fatalf("update status %+v", inv.Updates)
		}
	}
	if len(fe.ran) != 1 {
		t.Errorf("apt-get ran %d times for an unchanged database, want once: %v", len(fe.ran), fe.ran)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(status, later, later)
	var inv diag.Inventory
	if err := fillUpdates(context.Background(), cfg, &inv); err != nil {
		t.Fatal(err)
	}
	if len(fe.ran) != 2 {
		t.Errorf("apt-get ran %d times after dpkg's status changed, want twice", len(fe.ran))
	}
}
