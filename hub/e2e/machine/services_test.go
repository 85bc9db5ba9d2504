//go:build linux

package machine

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// loopyUnit crash-loops quickly: it says why it gives up, exits 3, and
// systemd starts it again two seconds later, forever.
const loopyUnit = `[Unit]
Description=Loopy, a service that cannot reach its database
StartLimitIntervalSec=0

[Service]
ExecStart=/bin/sh -c 'echo "loopy: cannot reach database db.internal:5432, giving up" >&2; exit 3'
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
`

// sturdyUnit runs until it is killed; systemd does not restart it.
const sturdyUnit = `[Unit]
Description=Sturdy, a service that runs until killed

[Service]
ExecStart=/bin/sh -c 'echo "sturdy: serving"; exec sleep infinity'

[Install]
WantedBy=multi-user.target
`

// TestServiceEvidence: two watched services on the booted machine, one
// crash-looping every two seconds and one killed with SIGKILL. Through the
// hub's API the technician sees the crash loop named with its exit status,
// systemd's restart count rising between checks and the unit's last log
// line; the killed service named as stopped, when and how (signal=9); and
// restart-service as the fix. The user's words (the summary) show no exit
// status.
func TestServiceEvidence(t *testing.T) {
	p := newPC(t, pcOptions{
		Env: agentEnv("TIERLINE_WATCH_SERVICES", "loopy,sturdy"),
		Before: func(p *pc) {
			p.write("/etc/systemd/system/loopy.service", loopyUnit, 0o644)
			p.write("/etc/systemd/system/sturdy.service", sturdyUnit, 0o644)
			p.exec("systemctl", "daemon-reload")
			p.exec("systemctl", "start", "sturdy.service")
		},
	})
	// The agent has seen sturdy running (loopy is not started yet).
	eventually(t, "service-stopped at the hub with sturdy active", 90*time.Second, func() bool {
		c, ok := p.device().check("service-stopped")
		return ok && hasEvidence(c, "sturdy", "active") && hasEvidence(c, "loopy", "inactive")
	})

	p.exec("systemctl", "kill", "--signal=SIGKILL", "sturdy.service")
	p.exec("systemctl", "start", "--no-block", "loopy.service")

	// The restart count rises between two checks (every 2 s here).
	rose := regexp.MustCompile(`^(\d+) \((\d+) since the last check\)$`)
	var c diag.CheckResult
	eventually(t, "service-stopped at the hub naming loopy waiting to restart, with its restarts since the last check", 90*time.Second, func() bool {
		var ok bool
		c, ok = p.device().check("service-stopped")
		if !ok || c.Status != diag.StatusFailing {
			return false
		}
		// Read while systemd waits to start it again, after its exit.
		if !hasEvidence(c, "loopy", "auto-restart") {
			return false
		}
		for _, e := range c.Evidence {
			if m := rose.FindStringSubmatch(e.Value); e.Label == "loopy restarts" && m != nil {
				n, _ := strconv.Atoi(m[1])
				return n >= 2
			}
		}
		return false
	})
	t.Logf("service-stopped: %s", c.Summary)
	for _, e := range c.Evidence {
		t.Logf("  %s: %s", e.Label, e.Value)
	}
	if c.Fix != catalog.RestartService {
		t.Errorf("fix %q, want restart-service", c.Fix)
	}
	if !strings.Contains(c.Summary, "crash-looping") || !strings.Contains(c.Summary, "loopy (restarted ") {
		t.Errorf("summary %q does not name loopy's crash loop", c.Summary)
	}
	if !strings.Contains(c.Summary, "Watched service not running: sturdy (was killed ") {
		t.Errorf("summary %q does not say sturdy was killed", c.Summary)
	}
	for _, word := range []string{"status=", "signal="} {
		if strings.Contains(c.Summary, word) {
			t.Errorf("summary %q shows the user %q", c.Summary, word)
		}
	}
	for _, want := range []struct{ label, value string }{
		{"loopy", "activating"},
		{"loopy exit", "status=3 (exit-code)"},
		{"loopy log", "loopy: cannot reach database db.internal:5432, giving up"},
		{"sturdy", "failed"},
		{"sturdy exit", "signal=9/SIGKILL (signal)"},
		{"sturdy since", " UTC ("},
		{"sturdy log", "sturdy: serving"},
	} {
		if !hasEvidence(c, want.label, want.value) {
			t.Errorf("no evidence %q with %q", want.label, want.value)
		}
	}
}
