package inventory

import (
	"context"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// fillWiFi asks `wdutil info` (root, fast) and falls back to
// `system_profiler SPAirPortDataType` (slower, seconds). Recent macOS
// withholds the SSID from processes without location permission; the
// signal is still reported and the SSID listed as unavailable.
func fillWiFi(ctx context.Context, _ *Config, inv *diag.Inventory) error {
	var w *diag.WiFi
	if out, err := output(ctx, 10*time.Second, 128<<10, "wdutil", "info"); err == nil {
		w = ParseWdutil(out)
	}
	if w == nil || w.SSID == "" {
		if out, err := output(ctx, 20*time.Second, 256<<10, "system_profiler", "-detailLevel", "basic", "SPAirPortDataType"); err == nil {
			if w2 := ParseSystemProfilerAirPort(out); w2 != nil && (w == nil || w2.SSID != "") {
				w = w2
			}
		}
	}
	if w == nil {
		return noData("not associated with a wireless network")
	}
	inv.Network.WiFi = w
	if w.SSID == "" {
		return noData("SSID withheld by macOS (location permission)")
	}
	return nil
}
