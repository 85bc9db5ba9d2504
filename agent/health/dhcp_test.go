package health

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func TestDHCPLeases(t *testing.T) {
	b, err := os.ReadFile("testdata/dhcp/dhclient.leases")
	if err != nil {
		t.Fatal(err)
	}
	leases := parseDhclientLeases(b)
	if len(leases) != 2 || leases[0].Iface != "eth0" || !leases[0].Expires.Equal(time.Date(2026, 12, 6, 3, 35, 0, 0, time.UTC)) ||
		leases[1].Iface != "wlan0" || leases[1].Server != "192.168.7.1" || leases[1].Expires.Unix() != 1796536800 {
		t.Fatalf("dhclient leases: %+v", leases)
	}
	nb, err := os.ReadFile("testdata/dhcp/networkd-lease")
	if err != nil {
		t.Fatal(err)
	}
	written := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	nl, ok := parseNetworkdLease(nb, written)
	if !ok || nl.Address != "192.168.1.50" || !nl.Expires.Equal(written.Add(time.Hour)) || !nl.Renew.Equal(written.Add(30*time.Minute)) {
		t.Fatalf("networkd lease: %+v", nl)
	}
	nl.Iface = "enp1s0"
	up := func(names ...string) []netstate.Link {
		var out []netstate.Link
		for _, n := range names {
			out = append(out, netstate.Link{Name: n, AdminUp: true, Carrier: true})
		}
		return out
	}
	tests := []struct {
		name    string
		leases  []dhcpLease
		links   []netstate.Link
		now     time.Time
		status  diag.Status
		fix     string
		summary string
	}{
		{"current", []dhcpLease{nl}, up("enp1s0"), written.Add(10 * time.Minute), diag.StatusOK, "", "current"},
		{"renewal overdue", []dhcpLease{nl}, up("enp1s0"), written.Add(45 * time.Minute), diag.StatusWarning, catalog.RenewDHCP, "was not renewed"},
		{"ran out", []dhcpLease{nl}, up("enp1s0"), written.Add(2 * time.Hour), diag.StatusFailing, catalog.RenewDHCP, "has run out"},
		{"ran out on an interface now off", leases, []netstate.Link{{Name: "eth0"}, {Name: "wlan0", AdminUp: true}},
			time.Date(2026, 12, 6, 4, 5, 0, 0, time.UTC), diag.StatusOK, "", "current"},
		{"dhclient ran out", leases, up("eth0", "wlan0"), time.Date(2026, 12, 6, 4, 5, 0, 0, time.UTC), diag.StatusFailing, catalog.RenewDHCP, "on eth0 has run out"},
		{"no leases", nil, up("eth0"), written, diag.StatusOK, "", "No DHCP lease"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gradeDHCP(tt.leases, tt.links, tt.now)
			if got.Status != tt.status || got.Fix != tt.fix || !strings.Contains(got.Summary, tt.summary) {
				t.Errorf("got %s %q %q %+v", got.Status, got.Fix, got.Summary, got.Evidence)
			}
		})
	}
}

// TestLeasePathOnMachine: the lease file in the evidence is the path on
// the machine, with its leading slash, whatever root the check reads
// under (with "/" it was shown as "run/systemd/netif/leases/5").
func TestLeasePathOnMachine(t *testing.T) {
	for _, c := range []struct{ root, file, want string }{
		{"/", "/run/systemd/netif/leases/5", "/run/systemd/netif/leases/5"},
		{"", "/var/lib/dhcp/dhclient.leases", "/var/lib/dhcp/dhclient.leases"},
		{"/tmp/fx", "/tmp/fx/run/systemd/netif/leases/2", "/run/systemd/netif/leases/2"},
		{"/tmp/fx/", "/tmp/fx/var/lib/NetworkManager/internal-x-eth0.lease", "/var/lib/NetworkManager/internal-x-eth0.lease"},
	} {
		if got := pathOnMachine(c.root, c.file); got != c.want {
			t.Errorf("pathOnMachine(%q, %q) = %q, want %q", c.root, c.file, got, c.want)
		}
	}
}
