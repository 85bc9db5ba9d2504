package netstate

import (
	"fmt"
	"os"
	"path/filepath"
)

// ReadRouteTable reads the kernel's tables under root (/proc/net/route,
// /proc/net/arp, /proc/net/ipv6_route).
func ReadRouteTable(root string) (Table, error) {
	b, err := os.ReadFile(filepath.Join(root, "/proc/net/route"))
	if err != nil {
		return Table{}, fmt.Errorf("read routing table: %w", err)
	}
	routes, err := ParseRoutes(b)
	if err != nil {
		return Table{}, err
	}
	t := Table{Routes: routes, Source: "/proc/net/route"}
	if b, err := os.ReadFile(filepath.Join(root, "/proc/net/arp")); err == nil {
		t.Neighbors, _ = ParseARP(b)
	}
	if b, err := os.ReadFile(filepath.Join(root, "/proc/net/ipv6_route")); err == nil {
		t.V6Iface, t.V6 = HasIPv6Default(b)
	}
	return t, nil
}
