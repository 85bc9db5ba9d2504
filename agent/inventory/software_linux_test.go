package inventory

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func TestParseRPMQuery(t *testing.T) {
	got := ParseRPMQuery(fixture(t, "rpm/qa-fedora"))
	want := []diag.Software{
		{Name: "bash", Version: "5.2.26-3.fc40", Publisher: "Fedora Project", Source: "rpm"},
		{Name: "kernel-core", Version: "6.8.5-301.fc40", Publisher: "Fedora Project", Source: "rpm"},
		{Name: "perl-Time-Local", Version: "2:1.350-5.fc40", Publisher: "Fedora Project", Source: "rpm"},
		{Name: "local-tool", Version: "1.0-1", Source: "rpm"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := ParseRPMQuery(""); got != nil {
		t.Errorf("empty output: %+v", got)
	}
}

func FuzzParseRPMQuery(f *testing.F) {
	f.Add(fixture(f, "rpm/qa-fedora"))
	f.Fuzz(func(t *testing.T, s string) {
		for _, sw := range ParseRPMQuery(s) {
			if sw.Name == "" || strings.ContainsAny(sw.Name, "\t\n") {
				t.Errorf("bad package %+v", sw)
			}
		}
	})
}

// TestRPMDatabaseReal builds an RPM database in a temporary root with the
// recorded package (testdata/rpm, built from tierline-fixture.spec), using
// the real rpm program, and reads it back the way the agent does.
func TestRPMDatabaseReal(t *testing.T) {
	rpm, err := find("rpm")
	if err != nil {
		t.Skip("rpm is not installed")
	}
	root := t.TempDir()
	db := filepath.Join(root, "var/lib/rpm")
	os.MkdirAll(db, 0o755)
	pkg, _ := filepath.Abs("testdata/rpm/tierline-fixture-1.2.3-4.noarch.rpm")
	for _, args := range [][]string{
		{"--initdb", "--dbpath", db},
		{"-i", "--justdb", "--nodeps", "--noscripts", "--nosignature", "--dbpath", db, pkg},
	} {
		if out, err := exec.Command(rpm, args...).CombinedOutput(); err != nil {
			t.Skipf("rpm %v: %v\n%s", args, err, out)
		}
	}
	cfg := &Config{Root: root, fakeCommands: true}
	var inv diag.Inventory
	if err := fillSoftware(context.Background(), cfg, &inv); err != nil {
		t.Fatal(err)
	}
	want := []diag.Software{{Name: "tierline-fixture", Version: "2:1.2.3-4", Publisher: "Tierline Test", Source: "rpm"}}
	if diff := cmp.Diff(want, inv.Software); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// dpkg and rpm side by side: both listed.
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755)
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), []byte(fixture(t, "dpkg/status")), 0o644)
	inv = diag.Inventory{}
	if err := fillSoftware(context.Background(), cfg, &inv); err != nil || len(inv.Software) != 3 {
		t.Errorf("dpkg+rpm: %v %+v", err, inv.Software)
	}

	// From a fixture root without fakeCommands nothing runs: unavailable.
	inv = diag.Inventory{}
	os.Remove(filepath.Join(root, "var/lib/dpkg/status"))
	if err := fillSoftware(context.Background(), &Config{Root: root}, &inv); err == nil || !strings.Contains(err.Error(), "fixture root") {
		t.Errorf("fixture root: %v", err)
	}
}
