package netstate

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseProcNet(t *testing.T) {
	tests := []struct {
		route, arp, ipv6 string
		want             string // facts of the table
	}{
		{"route/single", "arp/single-complete", "", "via 192.0.2.1 dev eth0 metric 0, neighbour 02:fc:00:00:00:05"},
		// The wired route (metric 100) wins over Wi-Fi (600); its gateway did not answer ARP.
		{"route/laptop-two-defaults", "arp/laptop-gateway-incomplete", "", "via 10.0.0.1 dev enp0s31f6 metric 100, neighbour incomplete (flags 0x0)"},
		{"route/single", "arp/empty", "", "via 192.0.2.1 dev eth0 metric 0, no neighbour"},
		{"route/no-default", "arp/empty", "", "1 routes, none default"},
		{"route/container-no-network", "arp/empty", "ipv6_route/reject-only", "0 routes, none default"},
		{"route/container-no-network", "arp/empty", "ipv6_route/default", "0 routes, none default; ::/0 via wlp2s0"},
		{"route/vpn-device-route", "arp/empty", "", "dev wg0 (no gateway)"},
	}
	for _, tt := range tests {
		t.Run(tt.route+"+"+tt.arp+"+"+tt.ipv6, func(t *testing.T) {
			var tab Table
			var err error
			if tab.Routes, err = ParseRoutes(read(t, tt.route)); err != nil {
				t.Fatal(err)
			}
			if tab.Neighbors, err = ParseARP(read(t, tt.arp)); err != nil {
				t.Fatal(err)
			}
			if tt.ipv6 != "" {
				tab.V6Iface, tab.V6 = HasIPv6Default(read(t, tt.ipv6))
			}
			if got := facts(tab); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
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
	tab := Table{Routes: rs}
	if gw, ifc, ok := tab.DefaultGateway(); !ok || gw != a4("10.0.0.1") || ifc != "enp0s31f6" {
		t.Errorf("DefaultGateway = %v %q %v", gw, ifc, ok)
	}
	neigh, err := ParseARP(read(t, "arp/laptop-gateway-incomplete"))
	if err != nil {
		t.Fatal(err)
	}
	wantN := Neighbor{IP: a4("192.168.1.1"), Flags: NeighborComplete, HWAddr: "a4:91:b1:00:11:22", Iface: "wlp2s0"}
	if len(neigh) != 2 || neigh[1] != wantN || neigh[0].Complete() {
		t.Errorf("neighbours = %+v", neigh)
	}
}
