package health

import (
	"context"
	"fmt"
	"strings"

	"github.com/tierline/tierline/agent/svcmgr"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func checkServices(ctx context.Context, c *Config) diag.CheckResult {
	if len(c.WatchedServices) == 0 {
		return ok("No services are watched.")
	}
	states, err := svcmgr.Query(ctx, c.WatchedServices)
	if err != nil {
		return unknown("Could not read service states.", ev("error", "%v", err))
	}
	return gradeServices(states)
}

func gradeServices(states []svcmgr.Status) diag.CheckResult {
	var evidence []diag.Evidence
	var stopped []string
	for _, s := range states {
		evidence = append(evidence, ev(s.Name, "%s", s.State))
		if !s.Running {
			stopped = append(stopped, s.Name)
		}
	}
	if len(stopped) > 0 {
		return result(diag.StatusFailing, catalog.RestartService,
			fmt.Sprintf("Watched service not running: %s.", strings.Join(stopped, ", ")), evidence...)
	}
	return ok("Every watched service is running.", evidence...)
}
