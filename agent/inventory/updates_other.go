//go:build !linux && !windows && !darwin

package inventory

import (
	"context"

	"github.com/tierline/tierline/shared/diag"
)

func fillUpdates(context.Context, *Config, *diag.Inventory) error {
	return noData("OS updates are not read on this system")
}
