package fixes

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestEndProcessVerifiedOnAFreshSample ends a real runaway through the
// Runner, verified by the real health checks over real telemetry, wired
// as the daemon wires them. The checks after the kill must judge a sample
// taken after it: judged on the last sample before it, the runaway is
// still there and the fix is reported not fixed.
func TestEndProcessVerifiedOnAFreshSample(t *testing.T) {
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { cmd.Wait(); close(reaped) }() // reap it, as its parent would
	t.Cleanup(func() { cmd.Process.Kill(); <-reaped })
	// Its own core even on a loaded test machine, where the test may.
	syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, -20)
	pid := strconv.Itoa(cmd.Process.Pid)

	// Telemetry every 2 s (the agent's is 10 s): long enough that the
	// verification runs between two samples.
	const interval = 2 * time.Second
	hist := history.New(history.Config{Interval: interval})
	ctx, cancel := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	t.Cleanup(func() { cancel(); <-sampled })
	go func() {
		defer close(sampled)
		col := collect.New()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if s, _ := col.Sample(ctx); !s.Time.IsZero() {
				hist.Add(s)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	checks, err := health.NewRunner(health.Config{CPUWarnFor: 3 * interval, CPUFailFor: time.Hour, CPUPinPct: 5, SampleWait: 3 * interval},
		health.Env{Latest: hist.Latest, Recent: hist.Recent, RecentProcs: hist.RecentProcs, WaitSample: hist.WaitAfter})
	if err != nil {
		t.Fatal(err)
	}
	pinned := func(rs []diag.CheckResult) bool {
		for _, r := range rs {
			for _, e := range r.Evidence {
				if r.Name == "process-cpu-runaway" && e.Label == "pinned process" && strings.Contains(e.Value, "(pid "+pid+")") {
					return true
				}
			}
		}
		return false
	}
	for deadline := time.Now().Add(90 * time.Second); !pinned(checks.Run(ctx, "process-cpu-runaway")); {
		if time.Now().After(deadline) {
			t.Fatal("the busy child was never seen pinning a core")
		}
		hist.WaitAfter(ctx, time.Now())
	}

	r, _ := newTestRunner(t, t.TempDir(), func(c *Config) {
		c.Exec, c.Machine = &Local{KillGrace: time.Second}, LocalMachine
		c.Sleep = sleep
		c.Verify = func(ctx context.Context, after time.Time, names ...string) []diag.CheckResult {
			return checks.RunAfter(ctx, after, names...)
		}
	})
	res := r.Do(WithRequesterConsent(context.Background()), wire.RunRequest{RunID: "runaway", Fix: catalog.EndProcess, Tier: 2,
		Params: map[string]string{"pid": pid}}, nil)
	if !strings.Contains(res.Output, "ended pid "+pid) {
		t.Fatalf("the runaway was not ended: %+v", res)
	}
	if !pinned(res.Before) {
		t.Errorf("before: the runaway is not in %+v", res.Before)
	}
	if pinned(res.After) {
		t.Fatalf("after: the killed runaway is still judged pinned (a sample from before the kill): %s %s", res.Outcome, res.Reason)
	}
	for _, c := range res.After {
		if c.Name == "process-cpu-runaway" && c.Status == diag.StatusUnknown {
			t.Fatalf("after: no fresh sample: %+v", c)
		}
	}
	// The whole machine may stay busy on a shared test machine (other
	// programs); then cpu-saturated rightly keeps the run from "fixed",
	// but never the process it ended.
	switch res.Outcome {
	case wire.OutcomeFixed, wire.OutcomeSucceeded, wire.OutcomeNotFixed:
		if strings.Contains(res.Reason, "pid "+pid+")") {
			t.Errorf("outcome %s blames the ended process: %s", res.Outcome, res.Reason)
		}
	default:
		t.Errorf("outcome %s: %s", res.Outcome, res.Reason)
	}
}
