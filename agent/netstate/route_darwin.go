package netstate

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/route"
)

// ReadRouteTable reads the routing table (sysctl NET_RT_DUMP) and the
// IPv4 neighbour cache (NET_RT_FLAGS with RTF_LLINFO) through the routing
// socket's sysctl interface; root is unused.
func ReadRouteTable(_ string) (Table, error) {
	names := map[int]string{}
	ifname := func(idx int) string {
		if n, ok := names[idx]; ok {
			return n
		}
		n := fmt.Sprintf("if%d", idx)
		if ifc, err := net.InterfaceByIndex(idx); err == nil {
			n = ifc.Name
		}
		names[idx] = n
		return n
	}
	var routes, ll []rtEntry
	for _, af := range []int{syscall.AF_INET, syscall.AF_INET6} {
		b, err := route.FetchRIB(af, route.RIBTypeRoute, 0)
		if err != nil {
			if af == syscall.AF_INET {
				return Table{}, fmt.Errorf("routing table dump: %w", err)
			}
			continue
		}
		msgs, err := route.ParseRIB(route.RIBTypeRoute, b)
		if err != nil {
			return Table{}, fmt.Errorf("parse routing table: %w", err)
		}
		routes = append(routes, rtEntries(msgs, ifname)...)
	}
	typ := route.RIBType(syscall.NET_RT_FLAGS)
	if b, err := route.FetchRIB(syscall.AF_INET, typ, syscall.RTF_LLINFO); err == nil {
		if msgs, err := route.ParseRIB(typ, b); err == nil {
			ll = rtEntries(msgs, ifname)
		}
	}
	return bsdTable(routes, ll), nil
}

func rtEntries(msgs []route.Message, ifname func(int) string) []rtEntry {
	var out []rtEntry
	for _, m := range msgs {
		rm, ok := m.(*route.RouteMessage)
		if !ok || rm.Err != nil {
			continue
		}
		e := rtEntry{Flags: rm.Flags, Iface: ifname(rm.Index)}
		if len(rm.Addrs) > syscall.RTAX_DST {
			e.Dst = addrOf(rm.Addrs[syscall.RTAX_DST])
		}
		if len(rm.Addrs) > syscall.RTAX_NETMASK {
			e.Mask = addrOf(rm.Addrs[syscall.RTAX_NETMASK])
		}
		if len(rm.Addrs) > syscall.RTAX_GATEWAY {
			switch g := rm.Addrs[syscall.RTAX_GATEWAY].(type) {
			case *route.LinkAddr:
				e.GwLink, e.GwMAC = true, g.Addr
				if g.Name != "" {
					e.Iface = g.Name
				}
			default:
				e.Gw = addrOf(g)
			}
		}
		out = append(out, e)
	}
	return out
}

func addrOf(a route.Addr) netip.Addr {
	switch a := a.(type) {
	case *route.Inet4Addr:
		return netip.AddrFrom4(a.IP)
	case *route.Inet6Addr:
		return netip.AddrFrom16(a.IP)
	}
	return netip.Addr{}
}
