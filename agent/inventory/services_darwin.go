package inventory

import (
	"context"
	"time"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/shared/diag"
)

// fillServices lists launchd jobs from their plists and their state from
// one `launchctl list` (the system domain; the agent runs as root).
func fillServices(ctx context.Context, cfg *Config, inv *diag.Inventory) error {
	var jobs map[string]health.LaunchdJob
	listErr := ""
	if cfg.commands() {
		out, err := output(ctx, 15*time.Second, 1<<20, "launchctl", "list")
		if err == nil {
			jobs = health.ParseLaunchctlList(out)
		} else {
			listErr = err.Error()
		}
	} else {
		listErr = "not read from a fixture root"
	}
	inv.Services = launchdServices(cfg.Root, jobs)
	if len(inv.Services) == 0 {
		return noData("no launchd job plists")
	}
	if listErr != "" {
		return noData("launchd job states unknown (launchctl list: %s); jobs listed", listErr)
	}
	return nil
}
