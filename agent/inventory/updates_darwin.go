package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// fillUpdates lists the updates softwareupdate knows of (`softwareupdate
// -l` may contact Apple's catalog; it runs once per inventory under the
// part's timeout) and whether automatic checking is on.
func fillUpdates(ctx context.Context, _ *Config, inv *diag.Inventory) error {
	if _, err := find("softwareupdate"); err != nil {
		return noData("no softwareupdate program")
	}
	out, err := output(ctx, 60*time.Second, 1<<20, "softwareupdate", "-l")
	if err != nil {
		return fmt.Errorf("softwareupdate -l: %w", err)
	}
	ups := ParseSoftwareUpdateList(out)
	st := &diag.UpdateStatus{Manager: "softwareupdate"}
	setPending(st, ups)
	seenPending.stamp(st, ups, time.Now())
	if sched, err := output(ctx, 10*time.Second, 64<<10, "softwareupdate", "--schedule"); err == nil {
		st.Automatic, st.AutomaticDetail = ParseSoftwareUpdateSchedule(sched)
	}
	inv.Updates = st
	return nil
}
