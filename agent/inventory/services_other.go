//go:build !linux && !windows && !darwin

package inventory

import (
	"context"
	"runtime"

	"github.com/tierline/tierline/shared/diag"
)

func fillServices(_ context.Context, _ *Config, _ *diag.Inventory) error {
	return noData("services not implemented on %s", runtime.GOOS)
}
