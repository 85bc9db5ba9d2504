package health

import (
	"context"
	"os"
	"strings"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// checkReboot looks for the flag file Debian-likes' update-notifier writes
// (/var/run/reboot-required, with the packages in .pkgs). Other
// distributions have no file-based flag; there the check is ok with the
// evidence of what was looked at.
func checkReboot(_ context.Context, c *Config) diag.CheckResult {
	for _, p := range []string{"/var/run/reboot-required", "/run/reboot-required"} {
		if _, err := os.Stat(c.path(p)); err != nil {
			continue
		}
		evidence := []diag.Evidence{ev("flag", "%s exists", p)}
		if b, err := os.ReadFile(c.path(p + ".pkgs")); err == nil {
			pkgs := strings.Fields(string(b))
			if len(pkgs) > 10 {
				pkgs = append(pkgs[:10], "...")
			}
			if len(pkgs) > 0 {
				evidence = append(evidence, ev("packages", "%s", strings.Join(pkgs, ", ")))
			}
		}
		return result(diag.StatusWarning, catalog.ScheduleReboot, "Updates are waiting for a restart.", evidence...)
	}
	return ok("No restart is pending.", ev("checked", "/var/run/reboot-required"))
}
