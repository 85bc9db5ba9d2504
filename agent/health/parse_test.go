package health

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseResolvConf(t *testing.T) {
	tests := []struct {
		file string
		want ResolvConf
	}{
		{"resolv/systemd-resolved.conf", ResolvConf{Nameservers: []string{"127.0.0.53"}, Search: []string{"corp.example.com"}}},
		{"resolv/dhcp.conf", ResolvConf{Nameservers: []string{"192.168.1.1", "fe80::1%wlp2s0", "2001:db8::53"}, Search: []string{"home.arpa"}}},
		{"resolv/empty.conf", ResolvConf{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseResolvConf(read(t, tt.file))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoutesAndGateway(t *testing.T) {
	tests := []struct {
		route, arp, ipv6 string
		wantStatus       diag.Status
		wantFix          string
		wantEvidence     string // value of the first evidence
	}{
		{"route/single", "arp/single-complete", "", diag.StatusOK, "", "via 192.0.2.1 dev eth0 metric 0"},
		// The wired route (metric 100) wins over Wi-Fi (600); its gateway did not answer ARP.
		{"route/laptop-two-defaults", "arp/laptop-gateway-incomplete", "", diag.StatusWarning, catalog.ResetNetwork, "via 10.0.0.1 dev enp0s31f6 metric 100"},
		{"route/single", "arp/empty", "", diag.StatusOK, "", "via 192.0.2.1 dev eth0 metric 0"},
		{"route/no-default", "arp/empty", "", diag.StatusFailing, catalog.RenewDHCP, "1, none default"},
		{"route/container-no-network", "arp/empty", "ipv6_route-reject-only", diag.StatusFailing, catalog.RenewDHCP, "0, none default"},
		{"route/container-no-network", "arp/empty", "ipv6_route-default", diag.StatusOK, "", "::/0 via wlp2s0"},
		{"route/vpn-device-route", "arp/empty", "", diag.StatusOK, "", "dev wg0 (no gateway)"},
	}
	for _, tt := range tests {
		t.Run(tt.route+"+"+tt.arp+"+"+tt.ipv6, func(t *testing.T) {
			routes, err := ParseRoutes(read(t, tt.route))
			if err != nil {
				t.Fatal(err)
			}
			neigh, err := ParseARP(read(t, tt.arp))
			if err != nil {
				t.Fatal(err)
			}
			var v6if string
			var v6 bool
			if tt.ipv6 != "" {
				v6if, v6 = HasIPv6Default(read(t, tt.ipv6))
			}
			got := gradeRoute(routes, neigh, v6if, v6)
			if got.Status != tt.wantStatus || got.Fix != tt.wantFix {
				t.Errorf("status %s fix %q, want %s %q (%+v)", got.Status, got.Fix, tt.wantStatus, tt.wantFix, got)
			}
			if len(got.Evidence) == 0 || got.Evidence[0].Value != tt.wantEvidence {
				t.Errorf("evidence %+v, want first %q", got.Evidence, tt.wantEvidence)
			}
		})
	}
	if _, err := ParseRoutes(read(t, "route/garbage")); err == nil {
		t.Error("garbage route table parsed")
	}
}

func TestParseRoutesValues(t *testing.T) {
	rs, err := ParseRoutes(read(t, "route/laptop-two-defaults"))
	if err != nil {
		t.Fatal(err)
	}
	want := Route{Iface: "enp0s31f6", Dest: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.IPv4Unspecified(), Flags: 1, Metric: 100}
	if diff := cmp.Diff(want, rs[2], cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("route (-want +got):\n%s", diff)
	}
	defs := DefaultRoutes(rs)
	if len(defs) != 2 || defs[0].Iface != "enp0s31f6" {
		t.Errorf("default routes = %+v", defs)
	}
}

func FuzzParseRoutes(f *testing.F) {
	for _, p := range []string{"route/single", "route/laptop-two-defaults", "route/garbage"} {
		b, _ := os.ReadFile(filepath.Join("testdata", p))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseRoutes(b)
		if err == nil {
			gradeRoute(rs, nil, "", false)
		}
		ParseARP(b)
		HasIPv6Default(b)
		ParseResolvConf(b)
	})
}
