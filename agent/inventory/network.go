package inventory

import (
	"context"
	"fmt"
	"os"

	"github.com/shirou/gopsutil/v4/net"

	"github.com/tierline/tierline/agent/netstate"
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
	// The default gateway from the kernel's route table: /proc on Linux,
	// GetIpForwardTable2 on Windows, the routing socket on macOS.
	if t, err := netstate.ReadRouteTable(cfg.Root); err == nil {
		if gw, ifc, ok := t.DefaultGateway(); ok {
			inv.Network.DefaultGateway = gw.String()
			for k := range inv.Network.Interfaces {
				if inv.Network.Interfaces[k].Name == ifc {
					inv.Network.Interfaces[k].Gateway = gw.String()
				}
			}
		}
	}
	if b, err := os.ReadFile(cfg.path("/etc/resolv.conf")); err == nil {
		inv.Network.DNSServers = netstate.ParseResolvConf(b).Nameservers
	}
	return nil
}
