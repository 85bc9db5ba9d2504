package inventory

import (
	"context"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// fillWiFi asks `netsh wlan show interfaces` (what the WLAN service knows
// of the current association; no scan).
func fillWiFi(ctx context.Context, _ *Config, inv *diag.Inventory) error {
	out, err := output(ctx, 10*time.Second, 64<<10, "netsh", "wlan", "show", "interfaces")
	if err != nil {
		if strings.Contains(out, "wlansvc") {
			return noData("the WLAN AutoConfig service is not running (no wireless adapter)")
		}
		return noData("netsh wlan: %v", err)
	}
	w := ParseNetshWlan(out)
	if w == nil {
		return noData("not associated with a wireless network")
	}
	inv.Network.WiFi = w
	return nil
}
