//go:build linux

package machine

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// TestDeclaredServiceCheck: on the booted machine, the hub's policy for
// the device's group adds a declarative service check (a unit that must
// run) and watches the unit. The agent installed from its package applies
// the policy and reports the check ok; the unit is killed and the check,
// asked for by the technician, fails with the state systemd gives and
// restart-service as its fix; restart-service (allowed because the policy
// watches the unit) brings it back and the check is ok again.
func TestDeclaredServiceCheck(t *testing.T) {
	p := newPC(t, pcOptions{
		Before: func(p *pc) {
			p.write("/etc/systemd/system/sturdy.service", sturdyUnit, 0o644)
			p.exec("systemctl", "daemon-reload")
			p.exec("systemctl", "start", "sturdy.service")
		},
	})
	if code := p.hub.do("POST", "/api/v1/devices/"+p.id+"/group", strings.NewReader(`{"group":"office"}`), nil); code != http.StatusOK {
		t.Fatalf("set group: %d", code)
	}
	policy := `{"watched_services": ["sturdy"], "checks": [
		{"name": "sturdy-running", "title": "Sturdy service running", "fix": "restart-service", "service": {"name": "sturdy"}}]}`
	if code := p.hub.do("PUT", "/api/v1/policies/office", strings.NewReader(policy), nil); code != http.StatusOK {
		t.Fatalf("put policy: %d", code)
	}
	var dp struct {
		Current bool `json:"current"`
		Applied *struct {
			Version int64    `json:"version"`
			Checks  []string `json:"checks"`
		} `json:"applied"`
	}
	eventually(t, "the agent applying the office policy", 90*time.Second, func() bool {
		return p.hub.get("/api/v1/devices/"+p.id+"/policy", &dp) == http.StatusOK && dp.Current && dp.Applied != nil && dp.Applied.Version == 1
	})
	if len(dp.Applied.Checks) != 1 || dp.Applied.Checks[0] != "sturdy-running" {
		t.Fatalf("declarative checks the agent runs: %v", dp.Applied.Checks)
	}
	ok := askAndWait(p, "sturdy-running", diag.StatusOK)
	t.Logf("before: %s %v", ok.Summary, ok.Evidence)

	p.exec("systemctl", "kill", "--signal=SIGKILL", "sturdy.service")
	// The technician asks once systemd has seen the kill (systemctl kill
	// returns when the signal is sent, before the unit fails).
	eventually(t, "systemd to find sturdy failed", 30*time.Second, func() bool {
		out, _ := p.try("systemctl", "is-active", "sturdy.service")
		return strings.TrimSpace(out) == "failed"
	})
	c := askAndWait(p, "sturdy-running", diag.StatusFailing)
	t.Logf("after the kill: %s %v", c.Summary, c.Evidence)
	if c.Fix != catalog.RestartService || !strings.HasPrefix(c.Summary, "Sturdy service running: the service is ") ||
		!hasEvidence(c, "state", "failed") || !hasEvidence(c, "expected", "running") {
		t.Errorf("failing result: %+v", c)
	}

	r := p.run(catalog.RestartService, map[string]string{"service": "sturdy"})
	if r.Outcome != "fixed" && r.Outcome != "succeeded" {
		t.Fatalf("restart-service: %s %s", r.Outcome, r.Reason)
	}
	askAndWait(p, "sturdy-running", diag.StatusOK)
	if out := p.exec("systemctl", "is-active", "sturdy.service"); strings.TrimSpace(out) != "active" {
		t.Errorf("sturdy is %q after restart-service", out)
	}
}

// askAndWait asks for check name now, as a technician does, and waits for
// its answer with status.
func askAndWait(p *pc, name string, status diag.Status) diag.CheckResult {
	p.t.Helper()
	since := time.Now()
	askChecks(p, name)
	return p.waitCheckSince(name, status, since)
}

// askChecks asks the agent to run the named checks now, as a technician does.
func askChecks(p *pc, names ...string) {
	p.t.Helper()
	body := `{"names":["` + strings.Join(names, `","`) + `"]}`
	if code := p.hub.do("POST", "/api/v1/devices/"+p.id+"/checks", strings.NewReader(body), nil); code != http.StatusAccepted {
		p.t.Fatalf("request checks: %d", code)
	}
}
