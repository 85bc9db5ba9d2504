//go:build !linux && !windows && !darwin

package inventory

import (
	"context"
	"runtime"

	"github.com/tierline/tierline/shared/diag"
)

func fillWiFi(_ context.Context, _ *Config, _ *diag.Inventory) error {
	return noData("Wi-Fi not implemented on %s", runtime.GOOS)
}
