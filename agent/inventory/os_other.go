//go:build !linux

package inventory

import (
	"context"

	"github.com/shirou/gopsutil/v4/host"
)

// platformInfo asks gopsutil: the registry on Windows, sysctl on macOS.
func platformInfo(ctx context.Context, _ *Config) (platform, version string, err error) {
	platform, _, version, err = host.PlatformInformationWithContext(ctx)
	return platform, version, err
}
