package svcmgr

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/diag"
)

// Query asks launchd for its loaded jobs once (`launchctl list`, the
// system domain, as the agent runs as root) and looks the labels up in
// it. A label that is not loaded counts as stopped.
func Query(ctx context.Context, names []string) ([]Status, error) {
	out, err := execx.Output(ctx, 10*time.Second, 1<<20, "launchctl", "list")
	if err != nil {
		return nil, fmt.Errorf("launchctl list: %w", err)
	}
	return launchdStates(ParseLaunchctlList(out), names), nil
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
