package health

import (
	"context"
	"testing"
	"time"

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
		"battery-worn", "uptime-long"}
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
