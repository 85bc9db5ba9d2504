package netstate

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, root, rel string, b []byte) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadRouteTableFixture(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "proc/net/route", read(t, "route/laptop-two-defaults"))
	writeFile(t, root, "proc/net/arp", read(t, "arp/laptop-gateway-incomplete"))
	writeFile(t, root, "proc/net/ipv6_route", read(t, "ipv6_route/default"))
	tab, err := ReadRouteTable(root)
	if err != nil {
		t.Fatal(err)
	}
	if gw, ifc, ok := tab.DefaultGateway(); !ok || gw != a4("10.0.0.1") || ifc != "enp0s31f6" {
		t.Errorf("DefaultGateway = %v %q %v", gw, ifc, ok)
	}
	want := "via 10.0.0.1 dev enp0s31f6 metric 100, neighbour incomplete (flags 0x0); ::/0 via wlp2s0"
	if got := facts(tab); got != want || tab.Source != "/proc/net/route" {
		t.Errorf("table %q from %q, want %q from /proc/net/route", got, tab.Source, want)
	}
	if _, err := ReadRouteTable(t.TempDir()); err == nil {
		t.Error("no /proc/net/route: no error")
	}
}
