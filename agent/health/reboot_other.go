//go:build !linux && !windows && !darwin

package health

import (
	"context"
	"runtime"

	"github.com/tierline/tierline/shared/diag"
)

func checkReboot(_ context.Context, _ *Config) diag.CheckResult {
	return unknown("The pending-reboot check is not implemented on " + runtime.GOOS + " yet.")
}
