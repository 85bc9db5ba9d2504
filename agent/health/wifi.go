package health

import (
	"context"
	"os"
	"runtime"

	"github.com/tierline/tierline/agent/inventory"
	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// wifi-signal grades the Wi-Fi association and its signal from what the
// kernel already knows (/sys/class/net and /proc/net/wireless, read with
// the inventory's parser): no scan, no command. On Windows and macOS the
// inventory reports Wi-Fi (netsh, wdutil); this check says unknown there.

// Signal levels: at or under wifiWeak (dBm) warns, at or under wifiPoor fails.
const (
	wifiWeak = -72
	wifiPoor = -80
)

func checkWiFi(ctx context.Context, c *Config, lr *linkReader) diag.CheckResult {
	if runtime.GOOS != "linux" {
		return unknown("The Wi-Fi check reads Linux's wireless state; the inventory shows Wi-Fi on this system.")
	}
	links, err := lr.get(ctx)
	if err != nil {
		return unknown("Could not read the network interfaces.", ev("error", "%v", err))
	}
	var signal *diag.WiFi
	if b, err := os.ReadFile(c.path("/proc/net/wireless")); err == nil {
		_, signal = inventory.ParseProcWireless(b)
	}
	return gradeWiFi(links, signal)
}

// gradeWiFi is the pure part of wifi-signal. signal is the first
// associated interface of /proc/net/wireless, if any.
func gradeWiFi(links []netstate.Link, signal *diag.WiFi) diag.CheckResult {
	var wifi []netstate.Link
	otherUp := false
	for _, l := range links {
		switch {
		case l.Wireless:
			wifi = append(wifi, l)
		case linkMatters(l) && l.AdminUp && l.Carrier:
			otherUp = true
		}
	}
	if len(wifi) == 0 {
		return ok("This computer has no Wi-Fi adapter.")
	}
	var evidence []diag.Evidence
	for _, w := range wifi {
		evidence = append(evidence, ev(w.Name, "%s", describeLink(w)))
	}
	for _, w := range wifi {
		if !w.AdminUp || !w.Carrier {
			continue
		}
		if signal == nil || signal.Interface != w.Name || signal.SignalDBm == 0 {
			return ok("Wi-Fi is connected.", evidence...)
		}
		evidence = append(evidence, ev("signal", "%d dBm on %s", signal.SignalDBm, w.Name))
		switch {
		case signal.SignalDBm <= wifiPoor:
			return result(diag.StatusFailing, "", "The Wi-Fi signal is very weak: connections will be slow and drop. Move closer to the access point.", evidence...)
		case signal.SignalDBm <= wifiWeak:
			return result(diag.StatusWarning, "", "The Wi-Fi signal is weak: connections may be slow.", evidence...)
		}
		return ok("Wi-Fi is connected with a good signal.", evidence...)
	}
	if otherUp {
		return ok("Wi-Fi is not in use; another network connection is.", evidence...)
	}
	for _, w := range wifi {
		if !w.AdminUp {
			return result(diag.StatusWarning, catalog.ResetNetwork, "Wi-Fi is switched off and there is no other network connection.", evidence...)
		}
	}
	return result(diag.StatusWarning, "", "Wi-Fi is not connected to a network.", evidence...)
}
