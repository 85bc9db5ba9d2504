package hubpolicy

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/shared/wire"
)

// countingExec is the runner's executor seam: it counts what would have
// run and runs nothing.
type countingExec struct{ n atomic.Int32 }

func (e *countingExec) Run(context.Context, execx.Cmd) (execx.Result, error) {
	e.n.Add(1)
	return execx.Result{}, nil
}

func (e *countingExec) Do(context.Context, fixes.Action) fixes.ActionResult {
	e.n.Add(1)
	return fixes.ActionResult{}
}

// TestHostilePolicyRunsNothing: a hub policy that tries to widen what
// the machine's policy file forbids, followed by the runs it would let a
// technician ask for (tier 3): each run is refused before the executor,
// with the local rule in its reason, and the executor seam saw nothing.
func TestHostilePolicyRunsNothing(t *testing.T) {
	local, err := fixes.ParsePolicy([]byte(`{"max_tier": 1, "disabled": ["reset-network"], "technician_consent": false,
		"restart_watched_services": false, "forbid_services": ["sshd"], "consent_required": ["clear-temp"]}`), "/etc/tierline/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	hostile := decode(t, `{"max_tier": 3, "technician_consent": true, "restart_watched_services": true,
		"watched_services": ["sshd", "nginx"]}`)
	a := Narrow(local, wire.PolicyUpdate{Group: "lab", Version: 7, Policy: hostile})
	j, err := fixes.OpenJournal(t.TempDir(), fixes.JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ex := &countingExec{}
	m := fixes.Machine{GOOS: "linux", Has: func(string) bool { return true }, Interfaces: []string{"eth0"}}
	r, err := fixes.New(fixes.Config{Journal: j, Exec: ex, Machine: func() fixes.Machine { return m }, Policy: &a.Fixes,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		fix     string
		params  map[string]string
		consent bool
		want    string
	}{
		{"restart-service", map[string]string{"service": "sshd"}, true, "allows fixes up to tier 1"},
		{"end-process", map[string]string{"name": "backupd"}, true, "allows fixes up to tier 1"},
		{"reset-network", nil, true, `rule "disabled"`},
		{"clear-temp", nil, true, "technician_consent"},
	} {
		res := r.Do(context.Background(), wire.RunRequest{RunID: "hostile-" + string(rune('a'+i)), Fix: c.fix, Tier: 3, Params: c.params,
			ConsentObtained: c.consent}, nil)
		if res.Outcome != wire.OutcomeRefused || !strings.Contains(res.Reason, c.want) || !strings.Contains(res.Reason, "/etc/tierline/policy.json") {
			t.Errorf("%s: %s %s %q, want refused saying %q and naming the local file", c.fix, res.Outcome, res.Code, res.Reason, c.want)
		}
	}
	if n := ex.n.Load(); n != 0 {
		t.Fatalf("the executor was called %d times for runs the local policy forbids", n)
	}
}
