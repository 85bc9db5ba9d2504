package netstate

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseRoutes(f *testing.F) {
	for _, p := range []string{"route/single", "route/laptop-two-defaults", "route/garbage", "arp/laptop-gateway-incomplete",
		"ipv6_route/default", "resolv/dhcp.conf"} {
		b, _ := os.ReadFile(filepath.Join("testdata", p))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tab Table
		rs, err := ParseRoutes(b)
		if err == nil {
			tab.Routes = rs
		}
		tab.Neighbors, _ = ParseARP(b)
		tab.V6Iface, tab.V6 = HasIPv6Default(b)
		if gw, iface, ok := tab.DefaultGateway(); ok {
			tab.Neighbor(gw, iface)
		}
		facts(tab)
		ParseResolvConf(b)
	})
}
