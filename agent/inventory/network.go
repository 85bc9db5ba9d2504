package inventory

import (
	"context"
	"fmt"
	"os"

	"github.com/shirou/gopsutil/v4/net"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/shared/diag"
)

func fillNetwork(ctx context.Context, cfg *Config, inv *diag.Inventory) error {
	ifs, err := net.InterfacesWithContext(ctx)
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	for _, i := range ifs {
		if i.Name == "lo" || i.Name == "lo0" {
			continue
		}
		ic := diag.InterfaceConfig{Name: i.Name, MAC: i.HardwareAddr, MTU: i.MTU}
		for _, f := range i.Flags {
			if f == "up" {
				ic.Up = true
			}
		}
		for _, a := range i.Addrs {
			ic.Addresses = append(ic.Addresses, a.Addr)
		}
		inv.Network.Interfaces = append(inv.Network.Interfaces, ic)
	}
	if b, err := os.ReadFile(cfg.path("/proc/net/route")); err == nil {
		if routes, err := health.ParseRoutes(b); err == nil {
			if defs := health.DefaultRoutes(routes); len(defs) > 0 && defs[0].Gateway.IsValid() && !defs[0].Gateway.IsUnspecified() {
				inv.Network.DefaultGateway = defs[0].Gateway.String()
				for k := range inv.Network.Interfaces {
					if inv.Network.Interfaces[k].Name == defs[0].Iface {
						inv.Network.Interfaces[k].Gateway = defs[0].Gateway.String()
					}
				}
			}
		}
	}
	if b, err := os.ReadFile(cfg.path("/proc/net/wireless")); err == nil {
		if _, w := ParseProcWireless(b); w != nil {
			inv.Network.WiFi = w
		}
	}
	if b, err := os.ReadFile(cfg.path("/etc/resolv.conf")); err == nil {
		inv.Network.DNSServers = health.ParseResolvConf(b).Nameservers
	}
	return nil
}
