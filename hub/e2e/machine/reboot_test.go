package machine

import (
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestScheduleRebootOnSystemd: updates were installed and the machine
// waits for a restart (/run/reboot-required, as Debian's packages leave
// it). The technician sees pending-reboot failing with the packages and
// schedule-reboot offered; the run schedules the restart with systemd (the
// machine's own shutdown, with the user's notice) and says the checks
// will tell after the restart. The test cancels it.
func TestScheduleRebootOnSystemd(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv()})
	p.write("/run/reboot-required", "*** System restart required ***\n", 0o644)
	p.write("/run/reboot-required.pkgs", "linux-image-6.1.0-28-amd64\nlibc6\n", 0o644)
	c := p.waitCheck("pending-reboot", diag.StatusWarning)
	if c.Fix != catalog.ScheduleReboot || !hasEvidence(c, "packages", "linux-image-6.1.0-28-amd64, libc6") ||
		!hasEvidence(c, "flag", "/var/run/reboot-required exists") && !hasEvidence(c, "flag", "/run/reboot-required exists") {
		t.Fatalf("pending-reboot with a restart required: %+v", c)
	}
	if f := p.offered(catalog.ScheduleReboot); !f.Allowed || f.Tier != catalog.TierInDepth {
		t.Fatalf("schedule-reboot offered as %+v; want allowed at Tier 2", f)
	}
	r := p.run(catalog.ScheduleReboot, map[string]string{"delay_minutes": "90", "message": "Updates need a restart; save your work"})
	t.Cleanup(func() { _, _ = p.try("shutdown", "-c") })
	if r.Outcome != wire.OutcomeSucceeded || !strings.Contains(r.Reason, "The restart is scheduled in 90 minutes") {
		t.Fatalf("schedule-reboot: %s %q; want it scheduled, its effect to show after the restart", r.Outcome, r.Reason)
	}
	// systemd holds the restart: its schedule file names a reboot and the
	// user's message.
	sched := p.exec("cat", "/run/systemd/shutdown/scheduled")
	if !strings.Contains(sched, "MODE=reboot") || !strings.Contains(sched, "Updates need a restart; save your work") {
		t.Fatalf("systemd's scheduled shutdown:\n%s\nwant a reboot with the user's message", sched)
	}
}
