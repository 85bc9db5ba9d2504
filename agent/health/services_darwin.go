package health

import (
	"context"
	"fmt"
	"time"
)

// serviceStates asks launchd for its loaded jobs once (`launchctl list`,
// the system domain, as the agent runs as root) and looks the watched
// labels up in it. A label that is not loaded counts as stopped.
func serviceStates(ctx context.Context, names []string) ([]serviceState, error) {
	out, err := output(ctx, 10*time.Second, 1<<20, "launchctl", "list")
	if err != nil {
		return nil, fmt.Errorf("launchctl list: %w", err)
	}
	return launchdStates(ParseLaunchctlList(out), names), nil
}
