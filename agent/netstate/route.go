package netstate

import (
	"fmt"
	"net/netip"
)

// The platform-neutral halves of the Windows and macOS readers: rows of
// the IP Helper tables and routing-socket entries become Routes and
// Neighbors here, so they are tested on every OS.

// Neighbour states as Windows reports them (NL_NEIGHBOR_STATE).
const (
	nlnsUnreachable = iota
	nlnsIncomplete
	nlnsProbe
	nlnsDelay
	nlnsStale
	nlnsReachable
	nlnsPermanent
)

// winNeighbor maps one row of GetIpNetTable2 to a Neighbor. An entry that
// resolved at some point (reachable, stale, delay, probe, permanent) counts
// as complete; incomplete and unreachable ones do not.
func winNeighbor(ip netip.Addr, iface string, mac []byte, state uint32) Neighbor {
	n := Neighbor{IP: ip, Iface: iface, HWAddr: macString(mac)}
	switch state {
	case nlnsProbe, nlnsDelay, nlnsStale, nlnsReachable, nlnsPermanent:
		if len(mac) > 0 {
			n.Flags = NeighborComplete
		}
	}
	return n
}

// winRoute maps one IPv4 row of GetIpForwardTable2 to a Route.
func winRoute(iface string, dest netip.Addr, bits int, nextHop netip.Addr, metric uint32) (Route, error) {
	p, err := dest.Prefix(bits)
	if err != nil {
		return Route{}, fmt.Errorf("route prefix %s/%d: %w", dest, bits, err)
	}
	r := Route{Iface: iface, Dest: p, Gateway: nextHop, Flags: RouteUp, Metric: int(metric)}
	if nextHop.IsValid() && !nextHop.IsUnspecified() {
		r.Flags |= RouteGateway
	}
	return r, nil
}

// sockaddrInetAddr decodes the address of a SOCKADDR_INET (Windows) whose
// family is fam and whose bytes after family and port are data.
func sockaddrInetAddr(fam uint16, data []byte) (netip.Addr, bool) {
	switch {
	case fam == 2 && len(data) >= 4: // AF_INET: sin_addr
		return netip.AddrFrom4([4]byte(data[:4])), true
	case fam == 23 && len(data) >= 20: // AF_INET6: sin6_flowinfo, sin6_addr
		return netip.AddrFrom16([16]byte(data[4:20])), true
	}
	return netip.Addr{}, false
}

// BSD routing-socket flags (net/route.h), as macOS uses them.
const (
	bsdRTFUp       = 0x1
	bsdRTFGateway  = 0x2
	bsdRTFHost     = 0x4
	bsdRTFReject   = 0x8
	bsdRTFLLInfo   = 0x400
	bsdRTFBlackh   = 0x1000
	bsdRTFIfScope  = 0x1000000
	bsdScopedRoute = 1 // metric given to interface-scoped routes, so the unscoped default wins
)

// rtEntry is one route message of a BSD routing-socket dump, with its
// addresses decoded: the platform-neutral half of the macOS reader.
type rtEntry struct {
	Flags int
	Iface string
	Dst   netip.Addr
	Mask  netip.Addr // invalid: host route (or default, when Dst is unspecified)
	Gw    netip.Addr // invalid when the gateway is a link address
	// GwLink is set when the gateway is a link-layer address (a
	// neighbour cache entry or an interface route); GwMAC is its address,
	// empty for an entry that has not resolved.
	GwLink bool
	GwMAC  []byte
}

// bsdTable builds a Table from a NET_RT_DUMP of IPv4 and IPv6 routes and a
// NET_RT_FLAGS(RTF_LLINFO) dump of IPv4 neighbours.
func bsdTable(routes, llinfo []rtEntry) Table {
	t := Table{Source: "routing socket"}
	for _, e := range routes {
		if !e.Dst.IsValid() || e.Flags&bsdRTFUp == 0 {
			continue
		}
		if e.Dst.Is6() && !e.Dst.Is4In6() {
			if e.Dst.IsUnspecified() && (!e.Mask.IsValid() || maskBits(e.Mask) == 0) &&
				e.Flags&(bsdRTFReject|bsdRTFBlackh) == 0 && !isLoopbackName(e.Iface) && !t.V6 {
				t.V6, t.V6Iface = true, e.Iface
			}
			continue
		}
		bits := 32
		if e.Mask.IsValid() {
			bits = maskBits(e.Mask)
		} else if e.Dst.IsUnspecified() && e.Flags&bsdRTFHost == 0 {
			bits = 0
		}
		p, err := e.Dst.Unmap().Prefix(bits)
		if err != nil {
			continue
		}
		r := Route{Iface: e.Iface, Dest: p, Flags: RouteUp}
		if e.Flags&bsdRTFGateway != 0 && e.Gw.IsValid() {
			r.Flags |= RouteGateway
			r.Gateway = e.Gw.Unmap()
		} else {
			r.Gateway = netip.IPv4Unspecified()
		}
		if e.Flags&(bsdRTFReject|bsdRTFBlackh) != 0 {
			r.Flags |= RouteReject
		}
		if e.Flags&bsdRTFIfScope != 0 {
			r.Metric = bsdScopedRoute
		}
		t.Routes = append(t.Routes, r)
	}
	for _, e := range llinfo {
		if !e.Dst.IsValid() || !e.Dst.Unmap().Is4() || !e.GwLink {
			continue
		}
		n := Neighbor{IP: e.Dst.Unmap(), Iface: e.Iface, HWAddr: macString(e.GwMAC)}
		if len(e.GwMAC) > 0 {
			n.Flags = NeighborComplete
		}
		t.Neighbors = append(t.Neighbors, n)
	}
	return t
}

// maskBits counts the leading ones of a netmask.
func maskBits(m netip.Addr) int {
	n := 0
	for _, b := range m.AsSlice() {
		for i := 7; i >= 0; i-- {
			if b&(1<<i) == 0 {
				return n
			}
			n++
		}
	}
	return n
}

func isLoopbackName(iface string) bool { return iface == "lo" || iface == "lo0" }

func macString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, len(b)*3-1)
	for i, x := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hexd[x>>4], hexd[x&0xf])
	}
	return string(out)
}
