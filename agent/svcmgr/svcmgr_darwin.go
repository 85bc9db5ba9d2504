package svcmgr

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/diag"
)

// Query asks launchd about each label with `launchctl print
// system/LABEL` (the system domain, as the agent runs as root): its state,
// pid, runs and last exit. A label launchd does not know (launchctl exits
// 113) is not loaded; one launchctl cannot read is unknown, and says why.
func Query(ctx context.Context, names []string) ([]Status, error) {
	out := make([]Status, 0, len(names))
	for _, n := range names {
		res, err := execx.Run(ctx, execx.Cmd{Argv: []string{"launchctl", "print", "system/" + n}, Timeout: 10 * time.Second, MaxOutput: 256 << 10})
		switch {
		case err != nil && res.ExitCode == 113:
			out = append(out, Status{Name: n, State: "not loaded"})
		case err != nil:
			out = append(out, Status{Name: n, State: "unknown: launchctl print: " + err.Error()})
		default:
			out = append(out, ParseLaunchctlPrint(res.Output, n))
		}
	}
	return out, nil
}

// LastLog is not read on macOS: `log show` for one service costs seconds
// of CPU, too much for a check that runs every minute.
func LastLog(_ context.Context, name string) ([]string, error) {
	return nil, fmt.Errorf("log of %s: %w", name, errors.ErrUnsupported)
}

// List lists launchd jobs from their plists under o.Root and their state
// from one `launchctl list` (the system domain; the agent runs as root),
// run only with o.Commands. Without that answer the jobs are listed with
// state "unknown" and the error is a *NotAvailableError.
func List(ctx context.Context, o ListOptions) ([]diag.Service, error) {
	var jobs map[string]LaunchdJob
	listErr := ""
	if o.Commands {
		out, err := execx.Output(ctx, 15*time.Second, 1<<20, "launchctl", "list")
		if err == nil {
			jobs = ParseLaunchctlList(out)
		} else {
			listErr = err.Error()
		}
	} else {
		listErr = "not read from a fixture root"
	}
	svcs := launchdServices(cmp.Or(o.Root, "/"), jobs)
	if len(svcs) == 0 {
		return nil, &NotAvailableError{Reason: "no launchd job plists"}
	}
	if listErr != "" {
		return svcs, &NotAvailableError{Reason: fmt.Sprintf("launchd job states unknown (launchctl list: %s); jobs listed", listErr)}
	}
	return svcs, nil
}
