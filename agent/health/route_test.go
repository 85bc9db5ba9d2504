package health

import (
	"net/netip"
	"testing"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

var (
	a4 = netip.MustParseAddr
	m  = func(s string) []byte {
		b := make([]byte, 0, 6)
		for i := 0; i+1 < len(s); i += 3 {
			var x byte
			for _, c := range s[i : i+2] {
				x <<= 4
				switch {
				case c >= '0' && c <= '9':
					x |= byte(c - '0')
				default:
					x |= byte(c-'a') + 10
				}
			}
			b = append(b, x)
		}
		return b
	}
)

// macLaptop is the shape of a macOS laptop's NET_RT_DUMP on Wi-Fi: the
// primary default route, the interface-scoped one, the LAN, loopback and an
// IPv6 default; and its RTF_LLINFO dump.
var macLaptop = []rtEntry{
	{Flags: bsdRTFUp | bsdRTFGateway | 0x10 /* static */, Iface: "en0", Dst: a4("0.0.0.0"), Mask: a4("0.0.0.0"), Gw: a4("192.168.1.1")},
	{Flags: bsdRTFUp | bsdRTFGateway | bsdRTFIfScope, Iface: "en0", Dst: a4("0.0.0.0"), Mask: a4("0.0.0.0"), Gw: a4("192.168.1.1")},
	{Flags: bsdRTFUp, Iface: "lo0", Dst: a4("127.0.0.0"), Mask: a4("255.0.0.0"), Gw: a4("127.0.0.1")},
	{Flags: bsdRTFUp | 0x100 /* cloning */, Iface: "en0", Dst: a4("192.168.1.0"), Mask: a4("255.255.255.0"), GwLink: true},
	{Flags: bsdRTFUp | bsdRTFHost | bsdRTFLLInfo, Iface: "en0", Dst: a4("192.168.1.1"), GwLink: true, GwMAC: m("a4:91:b1:00:00:01")},
	{Flags: bsdRTFUp | bsdRTFGateway, Iface: "en0", Dst: a4("::"), Mask: a4("::"), Gw: a4("fe80::1")},
}

func TestBSDTable(t *testing.T) {
	complete := []rtEntry{{Flags: bsdRTFUp | bsdRTFHost | bsdRTFLLInfo, Iface: "en0", Dst: a4("192.168.1.1"), GwLink: true, GwMAC: m("a4:91:b1:00:00:01")}}
	incomplete := []rtEntry{{Flags: bsdRTFUp | bsdRTFHost | bsdRTFLLInfo, Iface: "en0", Dst: a4("192.168.1.1"), GwLink: true}}
	tests := []struct {
		name       string
		routes, ll []rtEntry
		status     diag.Status
		fix        string
		evidence   string
	}{
		{"wifi laptop, gateway resolved", macLaptop, complete, diag.StatusOK, "", "via 192.168.1.1 dev en0 metric 0"},
		{"gateway not answering", macLaptop, incomplete, diag.StatusWarning, catalog.ResetNetwork, "via 192.168.1.1 dev en0 metric 0"},
		{"only scoped default", macLaptop[1:2], nil, diag.StatusOK, "", "via 192.168.1.1 dev en0 metric 1"},
		{"offline: loopback and IPv6 link-local only", macLaptop[2:3], nil, diag.StatusFailing, catalog.RenewDHCP, "1, none default"},
		{"IPv6 only", append(macLaptop[2:3:3], macLaptop[5]), nil, diag.StatusOK, "", "::/0 via en0"},
		{"reject default", []rtEntry{{Flags: bsdRTFUp | bsdRTFReject, Iface: "lo0", Dst: a4("0.0.0.0"), Mask: a4("0.0.0.0")}}, nil,
			diag.StatusFailing, catalog.RenewDHCP, "1, none default"},
		{"down route ignored", []rtEntry{{Flags: bsdRTFGateway, Iface: "en0", Dst: a4("0.0.0.0"), Mask: a4("0.0.0.0"), Gw: a4("10.0.0.1")}}, nil,
			diag.StatusFailing, catalog.RenewDHCP, "0, none default"},
		{"VPN default out of a tunnel", []rtEntry{{Flags: bsdRTFUp, Iface: "utun3", Dst: a4("0.0.0.0"), Mask: a4("0.0.0.0"), GwLink: true}}, nil,
			diag.StatusOK, "", "dev utun3 (no gateway)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := bsdTable(tt.routes, tt.ll)
			got := gradeRoute(tab.Routes, tab.Neighbors, tab.V6Iface, tab.V6)
			if got.Status != tt.status || got.Fix != tt.fix || len(got.Evidence) == 0 || got.Evidence[0].Value != tt.evidence {
				t.Errorf("got %s %q %+v; want %s %q %q", got.Status, got.Fix, got.Evidence, tt.status, tt.fix, tt.evidence)
			}
		})
	}
	tab := bsdTable(macLaptop, complete)
	if gw, ifc, ok := tab.DefaultGateway(); !ok || gw != a4("192.168.1.1") || ifc != "en0" {
		t.Errorf("DefaultGateway = %v %q %v", gw, ifc, ok)
	}
	if len(tab.Neighbors) != 1 || tab.Neighbors[0].HWAddr != "a4:91:b1:00:00:01" {
		t.Errorf("neighbours = %+v", tab.Neighbors)
	}
	if r := tab.Routes[3]; r.Dest != netip.MustParsePrefix("192.168.1.0/24") || r.Flags&rtfGateway != 0 {
		t.Errorf("LAN route = %+v", r)
	}
}

func TestWindowsRows(t *testing.T) {
	// SOCKADDR_INET bytes after family and port, as GetIpForwardTable2
	// fills them.
	v4 := make([]byte, 24)
	copy(v4, []byte{10, 1, 2, 254})
	if a, ok := sockaddrInetAddr(2, v4); !ok || a != a4("10.1.2.254") {
		t.Errorf("AF_INET: %v %v", a, ok)
	}
	v6 := make([]byte, 24)
	copy(v6[4:], a4("fe80::1").AsSlice())
	if a, ok := sockaddrInetAddr(23, v6); !ok || a != a4("fe80::1") {
		t.Errorf("AF_INET6: %v %v", a, ok)
	}
	if _, ok := sockaddrInetAddr(0, v4); ok {
		t.Error("AF_UNSPEC decoded")
	}
	if _, ok := sockaddrInetAddr(23, v4[:8]); ok {
		t.Error("short AF_INET6 decoded")
	}
	// A docked laptop: Ethernet (metric 25) and Wi-Fi (metric 50) defaults.
	var routes []Route
	for _, r := range []struct {
		iface string
		dst   string
		bits  int
		hop   string
		m     uint32
	}{
		{"Wi-Fi", "0.0.0.0", 0, "192.168.1.1", 50},
		{"Ethernet", "0.0.0.0", 0, "10.20.0.1", 25},
		{"Ethernet", "10.20.0.0", 22, "0.0.0.0", 281},
	} {
		rt, err := winRoute(r.iface, a4(r.dst), r.bits, a4(r.hop), r.m)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, rt)
	}
	if _, err := winRoute("x", a4("10.0.0.0"), 40, a4("0.0.0.0"), 0); err == nil {
		t.Error("prefix length 40 accepted for IPv4")
	}
	neigh := []Neighbor{
		winNeighbor(a4("10.20.0.1"), "Ethernet", m("00:11:22:33:44:55"), nlnsStale),
		winNeighbor(a4("192.168.1.1"), "Wi-Fi", nil, nlnsIncomplete),
	}
	got := gradeRoute(routes, neigh, "", false)
	if got.Status != diag.StatusOK || got.Evidence[0].Value != "via 10.20.0.1 dev Ethernet metric 25" {
		t.Errorf("docked: %+v", got)
	}
	neigh[0] = winNeighbor(a4("10.20.0.1"), "Ethernet", nil, nlnsUnreachable)
	if got := gradeRoute(routes, neigh, "", false); got.Status != diag.StatusWarning {
		t.Errorf("unreachable gateway: %+v", got)
	}
}
