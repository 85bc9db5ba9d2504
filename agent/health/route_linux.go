package health

import (
	"context"
	"os"

	"github.com/tierline/tierline/shared/diag"
)

func checkRoute(_ context.Context, c *Config) diag.CheckResult {
	b, err := os.ReadFile(c.path("/proc/net/route"))
	if err != nil {
		return unknown("Could not read the routing table.", ev("error", "%v", err))
	}
	routes, err := ParseRoutes(b)
	if err != nil {
		return unknown("Could not parse the routing table.", ev("error", "%v", err))
	}
	var neigh []Neighbor
	if b, err := os.ReadFile(c.path("/proc/net/arp")); err == nil {
		neigh, _ = ParseARP(b)
	}
	var v6iface string
	var v6 bool
	if b, err := os.ReadFile(c.path("/proc/net/ipv6_route")); err == nil {
		v6iface, v6 = HasIPv6Default(b)
	}
	return gradeRoute(routes, neigh, v6iface, v6)
}
