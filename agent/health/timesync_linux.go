package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/diag"
)

// containerManager is the container manager named in path
// (/run/systemd/container: "systemd-nspawn", "docker", ...), "" when this
// computer is not a container.
func containerManager(path string) string {
	b, err := readBounded(path, 256)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// whyCache keeps the reason the clock is out of sync for whyTTL, so a
// machine that stays unsynchronised does not start a program every minute.
var whyCache struct {
	sync.Mutex
	at time.Time
	st syncState
}

const whyTTL = 15 * time.Minute

// readTimeSync asks the kernel (adjtimex, read-only) and, only when the
// clock is not in sync, timedatectl or chronyc for the reason (at most
// every whyTTL).
func readTimeSync(ctx context.Context) (syncState, error) {
	container := containerManager("/run/systemd/container")
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		if container != "" {
			// systemd-nspawn's seccomp filter refuses adjtimex even to read.
			return syncState{Source: "adjtimex", Container: container,
				Details: []diag.Evidence{ev("adjtimex", "%v: a container may not read its host's clock state", err)}}, nil
		}
		return syncState{}, fmt.Errorf("adjtimex: %w", err)
	}
	st := kernelSync(tx.Status, tx.Maxerror)
	st.Container = container
	if st.Synced || container != "" {
		// A container's kernel state is its host's; its own time
		// service (timesyncd skips itself there) has nothing to say.
		return st, nil
	}
	whyCache.Lock()
	defer whyCache.Unlock()
	if !whyCache.at.IsZero() && time.Since(whyCache.at) < whyTTL {
		return whyCache.st, nil
	}
	why := explainUnsynced(ctx, st)
	whyCache.at, whyCache.st = time.Now(), why
	return why, nil
}

func explainUnsynced(ctx context.Context, st syncState) syncState {
	if out, err := execx.Output(ctx, 5*time.Second, 16<<10, "timedatectl", "show"); err == nil {
		if why := parseTimedatectl(out); why.Known {
			why.Details = append(st.Details, why.Details...)
			why.Synced = false
			return why
		}
	} else if !errors.Is(err, execx.ErrNotFound) {
		st.Details = append(st.Details, ev("timedatectl", "%v", err))
	}
	if out, err := execx.Output(ctx, 5*time.Second, 16<<10, "chronyc", "tracking"); err == nil {
		if why := parseChronyc(out); why.Known {
			why.Details = append(st.Details, why.Details...)
			why.Synced = false
			return why
		}
	}
	// No time service answered (a container, whose clock is the host's,
	// or a machine without systemd): the kernel's flag alone does not
	// say whether anything here should be keeping time.
	st.Known = false
	return st
}
