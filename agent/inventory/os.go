package inventory

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/tierline/tierline/shared/diag"
)

func fillOS(ctx context.Context, cfg *Config, inv *diag.Inventory) error {
	inv.OS.Name, inv.OS.Arch = runtime.GOOS, runtime.GOARCH
	inv.OS.TimeZone = timeZone(cfg)
	h, err := host.InfoWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read os info: %w", err)
	}
	inv.OS.Platform, inv.OS.Version, inv.OS.Kernel = h.Platform, h.PlatformVersion, h.KernelVersion
	if h.KernelArch != "" {
		inv.OS.Arch = h.KernelArch
	}
	if h.BootTime > 0 {
		inv.OS.BootTime = time.Unix(int64(h.BootTime), 0).UTC()
	}
	if h.VirtualizationRole == "guest" {
		inv.OS.Virtualized = h.VirtualizationSystem
	}
	inv.OS.Domain, inv.OS.Workgroup = domain(cfg)
	return nil
}

// timeZone names the zone as the OS configures it (an IANA name where
// there is one), falling back to Go's abbreviation.
func timeZone(cfg *Config) string {
	if runtime.GOOS != "windows" {
		if b, err := os.ReadFile(cfg.path("/etc/timezone")); err == nil && strings.TrimSpace(string(b)) != "" {
			return strings.TrimSpace(string(b))
		}
		if t, err := os.Readlink(cfg.path("/etc/localtime")); err == nil {
			if i := strings.Index(t, "zoneinfo/"); i >= 0 {
				return t[i+len("zoneinfo/"):]
			}
		}
	}
	name, _ := time.Now().Zone()
	return name
}
