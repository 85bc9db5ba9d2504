package health

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/agent/svcmgr"
)

// BenchmarkChecks measures one run of every built-in check as the agent
// runs them each minute: no hub configured, the DNS check asking a
// loopback resolver, no watched services, a fresh telemetry sample in the history.
// cpu-ns/op is the process's CPU time per run where the OS reports it.
func BenchmarkChecks(b *testing.B) {
	ctx := context.Background()
	col := collect.New()
	hist := history.New(history.Config{Interval: 10 * time.Second})
	s, err := col.Sample(ctx)
	if err != nil {
		b.Fatal(err)
	}
	hist.Add(s)
	// The DNS check asks only a loopback resolver here: benchmarks send
	// nothing off the machine.
	rc := filepath.Join(b.TempDir(), "resolv.conf")
	if err := os.WriteFile(rc, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	r, err := NewRunner(Config{ResolvConf: rc}, Env{Latest: hist.Latest, Recent: hist.Recent, Now: func() time.Time { return s.Time }})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start, ok := cpuTime()
	for b.Loop() {
		r.Run(ctx)
	}
	if end, ok2 := cpuTime(); ok && ok2 {
		b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkServiceCheck measures one run of service-stopped as the agent
// runs it each minute, watching services of this machine's service
// manager: TIERLINE_BENCH_WATCH (comma-separated), default
// systemd-journald, dbus and cups (all running on the test machine). It
// skips where the service manager does not answer (no systemd here).
// cpu-ns/op is this process's CPU time per run, child-cpu-ns/op that of
// the programs it ran (systemctl, journalctl); the service manager's own
// time answering is in neither.
func BenchmarkServiceCheck(b *testing.B) {
	ctx := context.Background()
	watch := []string{"systemd-journald", "dbus", "cups"}
	if w := os.Getenv("TIERLINE_BENCH_WATCH"); w != "" {
		watch = strings.Split(w, ",")
	}
	if _, err := svcmgr.Query(ctx, watch); err != nil {
		b.Skipf("no service manager answers here: %v", err)
	}
	r, err := NewRunner(Config{WatchedServices: watch}, Env{})
	if err != nil {
		b.Fatal(err)
	}
	if res := r.Run(ctx, "service-stopped"); len(res) == 1 {
		b.Logf("%s: %s %v", res[0].Status, res[0].Summary, res[0].Evidence)
	}
	b.ReportAllocs()
	start, ok := cpuTime()
	cstart, cok := childCPUTime()
	for b.Loop() {
		r.Run(ctx, "service-stopped")
	}
	if end, ok2 := cpuTime(); ok && ok2 {
		b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	if end, ok2 := childCPUTime(); cok && ok2 {
		b.ReportMetric(float64((end-cstart).Nanoseconds())/float64(b.N), "child-cpu-ns/op")
	}
}
