package health

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func TestRunnerParallelTimeoutPanic(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	slow := Func("slow", func(ctx context.Context) diag.CheckResult {
		select {
		case <-block:
		case <-time.After(time.Minute):
		}
		return ok("never")
	})
	crash := Func("crash", func(ctx context.Context) diag.CheckResult { panic("boom") })
	fine := Func("fine", func(ctx context.Context) diag.CheckResult {
		return result(diag.StatusOK, catalog.FlushDNS, "all good") // a fix on ok is dropped
	})
	r := NewRunnerOf(200*time.Millisecond, slow, crash, fine)
	start := time.Now()
	res := r.Run(context.Background())
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %s; the timeout is 200ms", d)
	}
	if len(res) != 3 || res[0].Name != "slow" || res[1].Name != "crash" || res[2].Name != "fine" {
		t.Fatalf("results out of order: %+v", res)
	}
	if res[0].Status != diag.StatusUnknown || res[1].Status != diag.StatusUnknown {
		t.Errorf("slow/crash: %+v %+v", res[0], res[1])
	}
	if res[2].Fix != "" || res[2].Time.IsZero() {
		t.Errorf("fine: %+v", res[2])
	}
	if got := r.Run(context.Background(), "fine"); len(got) != 1 || got[0].Name != "fine" {
		t.Errorf("Run(fine) = %+v", got)
	}
}

func TestBuiltinNames(t *testing.T) {
	// A root without resolv.conf: dns-resolution asks the configured
	// resolvers even without a hub, and this machine's are not on loopback.
	r, err := NewRunner(Config{Root: t.TempDir()}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"disk-almost-full", "memory-pressure", "cpu-saturated", "dns-resolution", "default-route",
		"network-interface",
		"wifi-signal",
		"dhcp-lease",
		"hub-reachable",
		"proxy-unreachable",
		"clock-skew",
		"time-sync", "pending-reboot", "service-stopped",
		"printer-stopped", "print-jobs-stuck",
		"battery-worn", "uptime-long",
		"process-cpu-runaway", "memory-stall", "oom-kills", "process-limits", "swap-thrashing",
		"security-updates",
		"app-crashing",
	}

	checks := r.Checks()
	if len(checks) != len(want) {
		t.Fatalf("%d checks, want %d", len(checks), len(want))
	}
	for i, c := range checks {
		if c.Name() != want[i] {
			t.Errorf("check %d = %s, want %s", i, c.Name(), want[i])
		}
	}
	// With no hub configured, the network checks must not probe anything.
	res := r.Run(context.Background(), "dns-resolution", "hub-reachable")
	for _, c := range res {
		if c.Status != diag.StatusUnknown || len(c.Evidence) != 0 {
			t.Errorf("%s without a hub: %+v", c.Name, c)
		}
	}
}

// TestRunAfterWaitsForAFreshSample: a check that judges samples, run to
// verify a change, waits for a sample taken after the change; without
// one in time it says unknown rather than judge the old sample.
func TestRunAfterWaitsForAFreshSample(t *testing.T) {
	hist := history.New(history.Config{Interval: time.Second})
	start := time.Now().Add(-10 * time.Minute)
	spin := []diag.Process{{PID: 4242, Name: "spin", CPUPct: 99}}
	for i := 0; i <= 60; i++ {
		hist.Add(diag.Sample{Time: start.Add(time.Duration(i) * 10 * time.Second), TopCPU: spin})
	}
	r, err := NewRunner(Config{SampleWait: 5 * time.Second}, Env{Latest: hist.Latest, Recent: hist.Recent,
		RecentProcs: hist.RecentProcs, WaitSample: hist.WaitAfter})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Run(context.Background(), "process-cpu-runaway")[0]; got.Status != diag.StatusWarning {
		t.Fatalf("before: %+v", got)
	}
	killed := time.Now()
	go func() {
		// The next two samples, without the ended process, come a little
		// later: the second is the first measured wholly after the kill.
		time.Sleep(100 * time.Millisecond)
		hist.Add(diag.Sample{Time: time.Now()})
		hist.Add(diag.Sample{Time: time.Now()})
	}()
	got := r.RunAfter(context.Background(), killed, "process-cpu-runaway", "uptime-long")
	if got[1].Status != diag.StatusOK || got[1].Name != "process-cpu-runaway" {
		t.Fatalf("after a fresh sample: %+v", got[1])
	}
	// No sample comes: unknown, naming the wait.
	r.cfg.SampleWait = 50 * time.Millisecond
	got = r.RunAfter(context.Background(), time.Now(), "process-cpu-runaway")
	if got[0].Status != diag.StatusUnknown || got[0].Name != "process-cpu-runaway" || !strings.Contains(got[0].Summary, "No new telemetry sample") {
		t.Fatalf("no fresh sample: %+v", got[0])
	}
}
