package inventory

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/shirou/gopsutil/v4/net"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/diag"
)

func fillNetwork(ctx context.Context, cfg *Config, inv *diag.Inventory) error {
	ifs, err := net.InterfacesWithContext(ctx)
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	// Carrier and kind from what netstate reads (sysfs on Linux, the
	// interface flags elsewhere); the health checks grade the same.
	links := map[string]netstate.Link{}
	if ls, err := netstate.ReadLinks(cfg.Root); err == nil {
		for _, l := range ls {
			links[l.Name] = l
		}
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
		if l, ok := links[i.Name]; ok {
			carrier := l.Carrier
			ic.Carrier, ic.Wireless = &carrier, l.Wireless
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
			inv.Network.DefaultGateway, inv.Network.DefaultInterface = gw.String(), ifc
			for k := range inv.Network.Interfaces {
				if inv.Network.Interfaces[k].Name == ifc {
					inv.Network.Interfaces[k].Gateway = gw.String()
				}
			}
		}
	}
	if b, err := os.ReadFile(cfg.path("/etc/resolv.conf")); err == nil {
		rc := netstate.ParseResolvConf(b)
		inv.Network.DNSServers, inv.Network.SearchDomains = rc.Nameservers, rc.Search
	}
	return nil
}

// Network reads the machine's network now, as a ticket's snapshot carries
// it: the inventory's network and Wi-Fi parts, without the rest. Nothing
// is sent on the network; the Wi-Fi part asks the OS what it already
// knows (see wifi.go). Parts that cannot be read are in Unavailable.
func Network(ctx context.Context, cfg Config) diag.NetworkPicture {
	cfg.setDefaults()
	var inv diag.Inventory
	p := diag.NetworkPicture{Taken: time.Now().UTC()}
	for _, part := range []part{{"network", fillNetwork}, {"wifi", fillWiFi}} {
		pctx, cancel := context.WithTimeout(ctx, cfg.PartTimeout)
		err := safeFill(pctx, &cfg, part, &inv)
		cancel()
		if err != nil {
			if p.Unavailable == nil {
				p.Unavailable = map[string]string{}
			}
			p.Unavailable[part.name] = reason(err)
		}
	}
	p.NetworkConfig = inv.Network
	p.Clip()
	return p
}
