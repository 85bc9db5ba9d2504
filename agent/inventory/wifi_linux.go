package inventory

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// fillWiFi finds wireless interfaces in /sys/class/net (no wireless
// interface: unavailable, nothing run), takes the signal from
// /proc/net/wireless, and asks `iw dev IFACE link` or, without iw,
// NetworkManager (`nmcli ... dev wifi list --rescan no`, which lists what
// it knows without scanning) for the SSID. Commands run only against the
// real root, not a fixture tree.
func fillWiFi(ctx context.Context, cfg *Config, inv *diag.Inventory) error {
	ifaces := wirelessInterfaces(cfg.Root)
	if len(ifaces) == 0 {
		return noData("no wireless interface")
	}
	var proc *diag.WiFi
	if b, err := os.ReadFile(cfg.path("/proc/net/wireless")); err == nil {
		_, proc = ParseProcWireless(b)
	}
	if !cfg.commands() {
		if proc == nil {
			return noData("not associated with a wireless network")
		}
		inv.Network.WiFi = proc
		return noData("SSID not read from a fixture root")
	}
	w, why := wifiFromTools(ctx, ifaces)
	switch {
	case w != nil:
		if proc != nil && w.SignalDBm == 0 && (w.Interface == "" || w.Interface == proc.Interface) {
			w.SignalDBm = proc.SignalDBm
		}
		inv.Network.WiFi = w
		return nil
	case proc != nil:
		inv.Network.WiFi = proc
		return noData("SSID unknown: %s", why)
	}
	return noData("not associated with a wireless network (%s)", why)
}

func wifiFromTools(ctx context.Context, ifaces []string) (*diag.WiFi, string) {
	if _, err := find("iw"); err == nil {
		for _, ifc := range ifaces {
			out, err := output(ctx, 5*time.Second, 16<<10, "iw", "dev", ifc, "link")
			if err != nil {
				continue
			}
			if w := ParseIwLink(out); w != nil {
				if w.Interface == "" {
					w.Interface = ifc
				}
				return w, ""
			}
		}
		return nil, "iw reports no association"
	}
	if _, err := find("nmcli"); err == nil {
		out, err := output(ctx, 5*time.Second, 64<<10, "nmcli", "-t", "-f", "ACTIVE,SSID,SIGNAL", "dev", "wifi", "list", "--rescan", "no")
		if err != nil {
			return nil, "nmcli: " + err.Error()
		}
		if w := ParseNmcliWifi(out); w != nil {
			return w, ""
		}
		return nil, "NetworkManager reports no active network"
	}
	return nil, "neither iw nor nmcli is installed"
}

// wirelessInterfaces lists interfaces with a wireless or phy80211 entry
// in sysfs.
func wirelessInterfaces(root string) []string {
	var out []string
	seen := map[string]bool{}
	for _, pat := range []string{"/sys/class/net/*/wireless", "/sys/class/net/*/phy80211"} {
		ms, _ := filepath.Glob(filepath.Join(root, pat))
		for _, m := range ms {
			n := filepath.Base(filepath.Dir(m))
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}
