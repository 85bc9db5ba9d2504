//go:build !linux && !windows && !darwin

package inventory

import (
	"context"
	"runtime"

	"github.com/tierline/tierline/shared/diag"
)

func fillSoftware(_ context.Context, _ *Config, _ *diag.Inventory) error {
	return noData("installed software not implemented on %s", runtime.GOOS)
}
