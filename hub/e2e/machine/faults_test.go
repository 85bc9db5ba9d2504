//go:build linux

package machine

import (
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/scripts/testmachine/nspawn"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// agentEnv is the admin's settings for the agent in these tests: samples
// and checks often, so results reach the hub quickly.
func agentEnv(extra ...string) map[string]string {
	env := map[string]string{"TIERLINE_INTERVAL": "1s", "TIERLINE_CHECK_INTERVAL": "2s"}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// crashyUnit is a service that cannot start without its configuration
// file and that systemd restarts forever (Restart=always, no start limit),
// a minute apart.
const crashyUnit = `[Unit]
Description=Crashy, a service that needs /etc/crashy.conf
StartLimitIntervalSec=0

[Service]
ExecStart=/bin/sh -c 'test -e /etc/crashy.conf || { echo "crashy: /etc/crashy.conf is missing" >&2; exit 1; }; exec sleep infinity'
Restart=always
RestartSec=1min

[Install]
WantedBy=multi-user.target
`

// TestCrashLoopingWatchedService: a watched service that exits 1 and is
// restarted by systemd. The technician sees service-stopped failing,
// naming a crash loop, with the service's state, exit status, restart
// count and last log line as evidence, and restart-service offered; the
// agent allows it because the admin watches the service; restarting it
// before the cause is fixed is verified as not fixed, after as fixed.
func TestCrashLoopingWatchedService(t *testing.T) {
	p := newPC(t, pcOptions{
		Env: agentEnv("TIERLINE_WATCH_SERVICES", "crashy"),
		Before: func(p *pc) {
			p.write("/etc/systemd/system/crashy.service", crashyUnit, 0o644)
			p.exec("systemctl", "daemon-reload")
			p.exec("systemctl", "start", "--no-block", "crashy.service")
		},
	})
	c := p.waitCheck("service-stopped", diag.StatusFailing)
	if c.Fix != catalog.RestartService || !strings.Contains(c.Summary, "crashy") {
		t.Fatalf("service-stopped: %+v; want the crashy service named and restart-service as the fix", c)
	}
	if !hasEvidence(c, "crashy", "") {
		t.Fatalf("service-stopped evidence %+v does not name crashy", c.Evidence)
	}
	// What the technician sees of the crash loop: named as one, how the
	// service exited, systemd's restart count, and the service's own last
	// words from the journal. (A check run in the instant the shell runs
	// sees it starting: wait for one run while systemd waits to restart it.)
	eventually(t, "service-stopped naming crashy's crash loop", 90*time.Second, func() bool {
		c, _ = p.device().check("service-stopped")
		return strings.Contains(c.Summary, "crash-looping") && hasEvidence(c, "crashy", "auto-restart")
	})
	if !hasEvidence(c, "crashy exit", "status=1") || !hasEvidence(c, "crashy restarts", "") ||
		!hasEvidence(c, "crashy log", "crashy: /etc/crashy.conf is missing") {
		t.Fatalf("service-stopped: %q with evidence %+v; want a crash loop with status=1, the restart count and the unit's log line", c.Summary, c.Evidence)
	}
	restart, _ := catalog.Get(catalog.RestartService)
	if f := p.offered(catalog.RestartService); !f.Allowed || f.Tier != restart.Tier {
		t.Fatalf("restart-service for the device: %+v; want allowed at tier %d", f, restart.Tier)
	}

	// Restarting while the cause is still there: the agent allows it (the
	// service is watched, not on the built-in list) and verifies it did
	// not help.
	r := p.run(catalog.RestartService, map[string]string{"service": "crashy"})
	if r.Outcome != wire.OutcomeNotFixed || status(r.Result.Before, "service-stopped") != diag.StatusFailing ||
		status(r.Result.After, "service-stopped") != diag.StatusFailing {
		t.Fatalf("restart before the cause is fixed: %s (%s); want not_fixed, failing before and after", r.Outcome, r.Reason)
	}

	// The technician fixes the cause, then restarts the service.
	p.write("/etc/crashy.conf", "ok\n", 0o644)
	r = p.run(catalog.RestartService, map[string]string{"service": "crashy"})
	if r.Outcome != wire.OutcomeFixed || status(r.Result.Before, "service-stopped") != diag.StatusFailing ||
		status(r.Result.After, "service-stopped") != diag.StatusOK {
		t.Fatalf("restart after the cause is fixed: %s (%s); want fixed, failing before and ok after", r.Outcome, r.Reason)
	}
	if out, _ := p.try("systemctl", "is-active", "crashy"); strings.TrimSpace(out) != "active" {
		t.Fatalf("crashy after the fix: %q, want active", out)
	}
	p.waitCheck("service-stopped", diag.StatusOK)
}

// TestWatchedServiceForbiddenByPolicy: the device's policy file can keep
// watched services off the restart allow-list; the technician sees the
// refusal and its rule.
func TestWatchedServiceForbiddenByPolicy(t *testing.T) {
	p := newPC(t, pcOptions{
		Env: agentEnv("TIERLINE_WATCH_SERVICES", "crashy"),
		Before: func(p *pc) {
			p.write("/var/lib/tierline-agent/policy.json", `{"restart_watched_services": false}`, 0o600)
			p.write("/etc/systemd/system/crashy.service", crashyUnit, 0o644)
			p.exec("systemctl", "daemon-reload")
		},
	})
	r := p.run(catalog.RestartService, map[string]string{"service": "crashy"})
	if r.Outcome != wire.OutcomeRefused || r.Code != wire.RefusePolicy || !strings.Contains(r.Reason, `"restart_watched_services": false`) {
		t.Fatalf("restart of a watched service the policy forbids: %s %s %q", r.Outcome, r.Code, r.Reason)
	}
}

// TestRestartPrintSpoolerOnCUPS: printing is stopped on a machine with
// real CUPS; restart-print-spooler (tier 0) brings cupsd back.
func TestRestartPrintSpoolerOnCUPS(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv()})
	p.exec("systemctl", "stop", "cups.service", "cups.socket", "cups.path")
	if out, _ := p.try("systemctl", "is-active", "cups"); strings.TrimSpace(out) == "active" {
		t.Fatalf("cups still active after stop")
	}
	spooler, _ := catalog.Get(catalog.RestartPrintSpooler)
	if f := p.offered(catalog.RestartPrintSpooler); !f.Allowed || f.Tier != spooler.Tier || spooler.Tier != catalog.TierSelfHelp {
		t.Fatalf("restart-print-spooler for the device: %+v; want allowed at tier 0", f)
	}
	r := p.run(catalog.RestartPrintSpooler, nil)
	if r.Outcome != wire.OutcomeSucceeded && r.Outcome != wire.OutcomeFixed {
		t.Fatalf("restart-print-spooler: %s (%s)", r.Outcome, r.Reason)
	}
	if out, _ := p.try("systemctl", "is-active", "cups"); strings.TrimSpace(out) != "active" {
		t.Fatalf("cupsd after restart-print-spooler: %q, want active", out)
	}
	if out, err := p.try("lpstat", "-r"); err != nil || !strings.Contains(out, "scheduler is running") {
		t.Fatalf("lpstat -r after restart-print-spooler: %q %v", out, err)
	}
}

// hasEvidence reports whether c has evidence labelled label whose value
// contains value.
func hasEvidence(c diag.CheckResult, label, value string) bool {
	for _, e := range c.Evidence {
		if e.Label == label && strings.Contains(e.Value, value) {
			return true
		}
	}
	return false
}

// TestSyncClockInContainer: the machine is a container, whose clock is
// its host's: systemd-timesyncd skips itself there
// (ConditionVirtualization=!container) and `systemctl restart
// systemd-timesyncd` exits 0 having done nothing. sync-clock says so in
// plain words, as not applicable, and runs nothing.
func TestSyncClockInContainer(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv()})
	out, _ := p.try("systemctl", "restart", "systemd-timesyncd")
	state, _ := p.try("systemctl", "is-active", "systemd-timesyncd")
	t.Logf("systemctl restart systemd-timesyncd in the machine: %q, then is-active: %q", out, state)
	r := p.run(catalog.SyncClock, nil)
	if r.Outcome != wire.OutcomeNotApplicable || !strings.Contains(r.Reason, "this computer is a container (systemd-nspawn): its clock is its host's") {
		t.Fatalf("sync-clock in a container: %s %q; want not_applicable saying the clock is the host's", r.Outcome, r.Reason)
	}
	if r.Result != nil && len(r.Result.Steps) > 0 {
		t.Fatalf("sync-clock ran steps where it does not apply: %+v", r.Result.Steps)
	}
}

// TestNetworkFixesOnNetworkd: the machine's network is systemd-networkd
// with a static address, as many servers and some desktops have.
// renew-dhcp has no lease to renew and says so in plain words
// (networkctl renew would exit 0 doing nothing). With the default route
// gone, default-route fails at the hub with reset-network as its fix;
// reset-network restarts systemd-networkd, which puts the route back, and
// the route is verified after it.
func TestNetworkFixesOnNetworkd(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv()})
	r := p.run(catalog.RenewDHCP, nil)
	if r.Outcome != wire.OutcomeNotApplicable || !strings.Contains(r.Reason, "no network connection of this computer gets its address from DHCP") {
		t.Fatalf("renew-dhcp on static addresses: %s %q; want not_applicable in plain words", r.Outcome, r.Reason)
	}
	if r.Result != nil && len(r.Result.Steps) > 0 {
		t.Fatalf("renew-dhcp ran steps where it does not apply: %+v", r.Result.Steps)
	}

	p.exec("ip", "route", "del", "default")
	c := p.waitCheck("default-route", diag.StatusFailing)
	if c.Summary == "" || len(c.Evidence) == 0 {
		t.Fatalf("default-route without a route: %+v; want a summary and evidence", c)
	}
	// The check names renew-dhcp as its fix, which does not apply on static
	// addresses (above); reset-network does.
	t.Logf("default-route without a route: %+v", c)
	reset, _ := catalog.Get(catalog.ResetNetwork)
	if f := p.offered(catalog.ResetNetwork); !f.Allowed || f.Tier != reset.Tier {
		t.Fatalf("reset-network for the device: %+v; want allowed at tier %d", f, reset.Tier)
	}
	r = p.run(catalog.ResetNetwork, nil)
	if r.Outcome != wire.OutcomeFixed || status(r.Result.Before, "default-route") != diag.StatusFailing ||
		status(r.Result.After, "default-route") != diag.StatusOK || status(r.Result.After, "hub-reachable") != diag.StatusOK {
		t.Fatalf("reset-network: %s %q; want fixed: default-route failing before, ok after, hub reachable", r.Outcome, r.Reason)
	}
	if out, _ := p.try("ip", "route", "show", "default"); !strings.Contains(out, "via "+nspawn.HubIP) {
		t.Fatalf("default route after reset-network: %q", out)
	}
}
