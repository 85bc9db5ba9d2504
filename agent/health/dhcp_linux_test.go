package health

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// TestDHCPReadsLeaseFiles runs dhcp-lease on a root holding a networkd
// lease written two hours ago with a one-hour lifetime.
func TestDHCPReadsLeaseFiles(t *testing.T) {
	root := t.TempDir()
	write := func(p, content string) {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/class/net/enp1s0/flags", "0x1003\n")
	write("sys/class/net/enp1s0/carrier", "1\n")
	write("sys/class/net/enp1s0/ifindex", "2\n")
	b, err := os.ReadFile("testdata/dhcp/networkd-lease")
	if err != nil {
		t.Fatal(err)
	}
	write("run/systemd/netif/leases/2", string(b))
	now := time.Now()
	lease := filepath.Join(root, "run/systemd/netif/leases/2")
	if err := os.Chtimes(lease, now.Add(-2*time.Hour), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := defaults(t)
	c.Root = root
	got := checkDHCP(context.Background(), c, newLinkReader(c.Root), now)
	if got.Status != diag.StatusFailing || got.Fix != catalog.RenewDHCP || !hasEvidence(got, "enp1s0", "192.168.1.50 from 192.168.1.1, ran out 1h0m0s ago (/run/systemd/netif/leases/2)") {
		t.Fatalf("%+v", got)
	}
	if err := os.Chtimes(lease, now, now); err != nil {
		t.Fatal(err)
	}
	if got := checkDHCP(context.Background(), c, newLinkReader(c.Root), now); got.Status != diag.StatusOK || !hasEvidence(got, "enp1s0", "valid for 1h0m0s more") {
		t.Fatalf("fresh lease: %+v", got)
	}
}
