//go:build !linux && !windows

package inventory

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/tierline/tierline/shared/diag"
)

// fillServices on macOS lists launchd job plists; their live state needs
// launchctl (exec) or private APIs, so it is reported as unknown.
func fillServices(_ context.Context, cfg *Config, inv *diag.Inventory) error {
	if runtime.GOOS != "darwin" {
		return noData("services not implemented on %s", runtime.GOOS)
	}
	for _, dir := range []string{"/Library/LaunchDaemons", "/Library/LaunchAgents"} {
		entries, _ := os.ReadDir(filepath.Join(cfg.Root, dir))
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".plist") {
				inv.Services = append(inv.Services, diag.Service{Name: strings.TrimSuffix(e.Name(), ".plist"), State: "unknown"})
			}
		}
	}
	return noData("launchd job states not read (would need launchctl); jobs listed")
}
