package netstate

import (
	"net/netip"
	"testing"
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
		want       string // facts of the table
	}{
		{"wifi laptop, gateway resolved", macLaptop, complete, "via 192.168.1.1 dev en0 metric 0, neighbour a4:91:b1:00:00:01; ::/0 via en0"},
		{"gateway not answering", macLaptop, incomplete, "via 192.168.1.1 dev en0 metric 0, neighbour incomplete (flags 0x0); ::/0 via en0"},
		{"only scoped default", macLaptop[1:2], nil, "via 192.168.1.1 dev en0 metric 1, no neighbour"},
		{"offline: loopback and IPv6 link-local only", macLaptop[2:3], nil, "1 routes, none default"},
		{"IPv6 only", append(macLaptop[2:3:3], macLaptop[5]), nil, "1 routes, none default; ::/0 via en0"},
		{"reject default", []rtEntry{{Flags: bsdRTFUp | bsdRTFReject, Iface: "lo0", Dst: a4("0.0.0.0"), Mask: a4("0.0.0.0")}}, nil,
			"1 routes, none default"},
		{"down route ignored", []rtEntry{{Flags: bsdRTFGateway, Iface: "en0", Dst: a4("0.0.0.0"), Mask: a4("0.0.0.0"), Gw: a4("10.0.0.1")}}, nil,
			"0 routes, none default"},
		{"VPN default out of a tunnel", []rtEntry{{Flags: bsdRTFUp, Iface: "utun3", Dst: a4("0.0.0.0"), Mask: a4("0.0.0.0"), GwLink: true}}, nil,
			"dev utun3 (no gateway)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := facts(bsdTable(tt.routes, tt.ll)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
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
	if r := tab.Routes[3]; r.Dest != netip.MustParsePrefix("192.168.1.0/24") || r.Flags&RouteGateway != 0 {
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
	tab := Table{Routes: routes, Neighbors: neigh}
	if got := facts(tab); got != "via 10.20.0.1 dev Ethernet metric 25, neighbour 00:11:22:33:44:55" {
		t.Errorf("docked: %q", got)
	}
	if n, ok := tab.Neighbor(a4("192.168.1.1"), "Wi-Fi"); !ok || n.Complete() {
		t.Errorf("incomplete Wi-Fi gateway: %+v %v", n, ok)
	}
	tab.Neighbors[0] = winNeighbor(a4("10.20.0.1"), "Ethernet", nil, nlnsUnreachable)
	if got := facts(tab); got != "via 10.20.0.1 dev Ethernet metric 25, neighbour incomplete (flags 0x0)" {
		t.Errorf("unreachable gateway: %q", got)
	}
}
