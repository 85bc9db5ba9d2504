package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// fillUpdates asks the Windows Update Agent, through PowerShell, for the
// updates not installed (from its local cache), the last successful
// installation and the automatic-update settings.
func fillUpdates(ctx context.Context, _ *Config, inv *diag.Inventory) error {
	if _, err := find("powershell.exe"); err != nil {
		return noData("no powershell.exe to query Windows Update")
	}
	out, err := output(ctx, 60*time.Second, 4<<20, "powershell.exe", "-NoProfile", "-NonInteractive", "-Command", WindowsUpdateQuery)
	if err != nil {
		return fmt.Errorf("query Windows Update: %w", err)
	}
	st, err := ParseWindowsUpdates(out)
	if err != nil {
		return err
	}
	inv.Updates = &st
	return nil
}
