// Package netstate reads what the operating system says about this
// machine's network: its routes and default gateway, its neighbour (ARP)
// cache, and its DNS resolvers. Nothing is sent on the network.
//
// Reading is kept apart from parsing. ReadRouteTable does the I/O, per OS
// by file suffix: /proc on Linux (route_linux.go), the IP Helper API on
// Windows (route_windows.go), the routing socket on macOS
// (route_darwin.go), errors.ErrUnsupported elsewhere (route_other.go). What
// it reads is turned into a Table by pure functions (procnet.go for /proc
// text, route.go for routing-socket entries and IP Helper rows) that are
// tested on recorded fixtures on every OS, as is ParseResolvConf.
//
// The health checks grade what this package reads; the inventory reports
// it.
package netstate

import "net/netip"

// Table is the kernel's view of where packets go: the IPv4 routes, the
// IPv4 neighbour (ARP) cache, and whether there is a usable IPv6 default
// route.
type Table struct {
	Routes    []Route
	Neighbors []Neighbor
	V6Iface   string
	V6        bool
	// Source says where the table was read, for evidence.
	Source string
}

// Route is one IPv4 route. Its Flags are Linux's RTF_* bits (RouteUp,
// RouteGateway, RouteReject); the other OSes' readers map theirs onto them.
type Route struct {
	Iface   string
	Dest    netip.Prefix
	Gateway netip.Addr
	Flags   uint32
	Metric  int
}

// Route flags, as /proc/net/route prints them.
const (
	RouteUp      = 0x1   // RTF_UP: the route is usable
	RouteGateway = 0x2   // RTF_GATEWAY: packets go to Gateway, not straight out of Iface
	RouteReject  = 0x200 // RTF_REJECT: packets are refused
)

// ViaGateway reports whether the route sends packets to a gateway (as
// opposed to straight out of its interface, as a VPN's device route does).
func (r Route) ViaGateway() bool {
	return r.Flags&RouteGateway != 0 && r.Gateway.IsValid() && !r.Gateway.IsUnspecified()
}

// Neighbor is one entry of the IPv4 neighbour (ARP) cache. Its Flags are
// Linux's ATF_* bits; the other OSes' readers set NeighborComplete for an
// entry that resolved.
type Neighbor struct {
	IP     netip.Addr
	Flags  uint32
	HWAddr string
	Iface  string
}

// NeighborComplete is ATF_COM, the flag of a neighbour that answered.
const NeighborComplete = 0x2

// Complete reports whether the neighbour answered (ATF_COM).
func (n Neighbor) Complete() bool { return n.Flags&NeighborComplete != 0 }

// DefaultRoutes returns the usable default routes, best metric first.
func DefaultRoutes(rs []Route) []Route {
	var out []Route
	for _, r := range rs {
		if r.Dest.Bits() == 0 && r.Flags&RouteUp != 0 && r.Flags&RouteReject == 0 {
			out = append(out, r)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Metric < out[j-1].Metric; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// DefaultGateway returns the gateway of the best default route and its
// interface; ok is false when there is none (or it has no gateway).
func (t Table) DefaultGateway() (gw netip.Addr, iface string, ok bool) {
	defs := DefaultRoutes(t.Routes)
	if len(defs) == 0 || !defs[0].ViaGateway() {
		return netip.Addr{}, "", false
	}
	return defs[0].Gateway, defs[0].Iface, true
}

// Neighbor returns the neighbour cache entry of ip on iface, if there is
// one.
func (t Table) Neighbor(ip netip.Addr, iface string) (Neighbor, bool) {
	for _, n := range t.Neighbors {
		if n.IP == ip && n.Iface == iface {
			return n, true
		}
	}
	return Neighbor{}, false
}
