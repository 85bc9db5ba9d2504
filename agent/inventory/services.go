package inventory

import (
	"context"
	"errors"
	"runtime"

	"github.com/tierline/tierline/agent/svcmgr"
	"github.com/tierline/tierline/shared/diag"
)

// fillServices lists the services and their states from the OS's service
// manager: unit files and jobs plists under cfg.Root, states from systemd,
// launchd or the SCM.
func fillServices(ctx context.Context, cfg *Config, inv *diag.Inventory) error {
	svcs, err := svcmgr.List(ctx, svcmgr.ListOptions{Root: cfg.Root, Commands: cfg.commands()})
	inv.Services = svcs
	var na *svcmgr.NotAvailableError
	switch {
	case errors.As(err, &na):
		return noData("%s", na.Reason)
	case errors.Is(err, errors.ErrUnsupported):
		return noData("services not implemented on %s", runtime.GOOS)
	}
	return err
}
