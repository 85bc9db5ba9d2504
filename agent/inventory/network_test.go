package inventory

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/diag"
)

// TestNetworkReadsThisMachine: the network picture of a ticket lists this
// machine's interfaces with their addresses (and, on Linux, whether each
// has a link), its default route as the kernel has it and the DNS servers
// of /etc/resolv.conf. Nothing is sent on the network.
func TestNetworkReadsThisMachine(t *testing.T) {
	p := Network(context.Background(), Config{})
	if p.Taken.IsZero() {
		t.Error("no time taken")
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		k := slices.IndexFunc(p.Interfaces, func(c diag.InterfaceConfig) bool { return c.Name == i.Name })
		if k < 0 {
			t.Errorf("interface %s is missing from %+v", i.Name, p.Interfaces)
			continue
		}
		got := p.Interfaces[k]
		if got.Up != (i.Flags&net.FlagUp != 0) || got.MAC != i.HardwareAddr.String() {
			t.Errorf("%s: up %v mac %q; the kernel says flags %v mac %q", i.Name, got.Up, got.MAC, i.Flags, i.HardwareAddr)
		}
		addrs, _ := i.Addrs()
		if len(got.Addresses) != len(addrs) {
			t.Errorf("%s: addresses %v; the kernel has %v", i.Name, got.Addresses, addrs)
		}
		if runtime.GOOS == "linux" && got.Carrier == nil {
			t.Errorf("%s: carrier not read", i.Name)
		}
	}
	if tab, err := netstate.ReadRouteTable("/"); err == nil {
		gw, ifc, ok := tab.DefaultGateway()
		if ok && (p.DefaultGateway != gw.String() || p.DefaultInterface != ifc) {
			t.Errorf("default route via %s on %s; the kernel says %s on %s", p.DefaultGateway, p.DefaultInterface, gw, ifc)
		}
		if !ok && p.DefaultGateway != "" {
			t.Errorf("default gateway %s where the kernel has none", p.DefaultGateway)
		}
	}
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		if want := netstate.ParseResolvConf(b).Nameservers; !slices.Equal(p.DNSServers, want) {
			t.Errorf("DNS servers %v; resolv.conf has %v", p.DNSServers, want)
		}
	}
}

// TestNetworkFromFixture: search domains come from resolv.conf; parts that
// cannot be read are named with the reason.
func TestNetworkFromFixture(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := "# written by hand\nnameserver 10.20.0.53\nnameserver fd00::53\nsearch corp.example lab.example\n"
	if err := os.WriteFile(filepath.Join(root, "etc/resolv.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := Network(context.Background(), Config{Root: root})
	if !slices.Equal(p.DNSServers, []string{"10.20.0.53", "fd00::53"}) || !slices.Equal(p.SearchDomains, []string{"corp.example", "lab.example"}) {
		t.Errorf("DNS %v search %v", p.DNSServers, p.SearchDomains)
	}
	if runtime.GOOS == "linux" && p.Unavailable["wifi"] == "" {
		t.Errorf("a root without wireless interfaces: unavailable %v, want wifi with its reason", p.Unavailable)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("the picture does not validate: %v", err)
	}
}
