package netstate

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
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

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// facts sums up what the default-route check grades in a table: the best
// default route (or how many routes there are when none is default), the
// neighbour entry of its gateway, and the IPv6 default route.
func facts(t Table) string {
	var s string
	defs := DefaultRoutes(t.Routes)
	switch {
	case len(defs) == 0:
		s = fmt.Sprintf("%d routes, none default", len(t.Routes))
	case !defs[0].ViaGateway():
		s = "dev " + defs[0].Iface + " (no gateway)"
	default:
		r := defs[0]
		s = fmt.Sprintf("via %s dev %s metric %d", r.Gateway, r.Iface, r.Metric)
		switch n, ok := t.Neighbor(r.Gateway, r.Iface); {
		case !ok:
			s += ", no neighbour"
		case n.Complete():
			s += ", neighbour " + n.HWAddr
		default:
			s += fmt.Sprintf(", neighbour incomplete (flags 0x%x)", n.Flags)
		}
	}
	if t.V6 {
		s += "; ::/0 via " + t.V6Iface
	}
	return s
}

func TestTableNeighborMatchesInterface(t *testing.T) {
	tab := Table{Neighbors: []Neighbor{
		{IP: a4("10.0.0.1"), Iface: "wlp2s0", Flags: NeighborComplete},
		{IP: a4("10.0.0.1"), Iface: "enp0s31f6"},
	}}
	if n, ok := tab.Neighbor(a4("10.0.0.1"), "enp0s31f6"); !ok || n.Complete() {
		t.Errorf("enp0s31f6: %+v %v, want the incomplete entry of that interface", n, ok)
	}
	if _, ok := tab.Neighbor(a4("10.0.0.2"), "wlp2s0"); ok {
		t.Error("entry found for an address not in the cache")
	}
}
