package health

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tierline/tierline/agent/execx"
)

// readTimeSync asks the kernel (adjtimex, read-only) and, only when the
// clock is not in sync, timedatectl or chronyc for the reason.
func readTimeSync(ctx context.Context) (syncState, error) {
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		return syncState{}, fmt.Errorf("adjtimex: %w", err)
	}
	st := kernelSync(tx.Status, tx.Maxerror)
	if st.Synced {
		return st, nil
	}
	if out, err := execx.Output(ctx, 5*time.Second, 16<<10, "timedatectl", "show"); err == nil {
		if why := parseTimedatectl(out); why.Known {
			why.Details = append(st.Details, why.Details...)
			why.Synced = false
			return why, nil
		}
	} else if !errors.Is(err, execx.ErrNotFound) {
		st.Details = append(st.Details, ev("timedatectl", "%v", err))
	}
	if out, err := execx.Output(ctx, 5*time.Second, 16<<10, "chronyc", "tracking"); err == nil {
		if why := parseChronyc(out); why.Known {
			why.Details = append(st.Details, why.Details...)
			why.Synced = false
			return why, nil
		}
	}
	return st, nil
}
