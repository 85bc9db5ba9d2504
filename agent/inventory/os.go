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
	// host.Info is avoided: on Linux it runs lsb_release.
	platform, version, err := platformInfo(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read os info: %w", err)
	}
	inv.OS.Platform, inv.OS.Version = platform, version
	inv.OS.Kernel, _ = host.KernelVersionWithContext(ctx)
	if arch, err := host.KernelArch(); err == nil && arch != "" {
		inv.OS.Arch = arch
	}
	if bt, err := host.BootTimeWithContext(ctx); err == nil && bt > 0 {
		inv.OS.BootTime = time.Unix(int64(bt), 0).UTC()
	}
	if sys, role, err := host.VirtualizationWithContext(ctx); err == nil && role == "guest" {
		inv.OS.Virtualized = sys
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
