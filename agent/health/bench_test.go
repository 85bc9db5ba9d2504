package health

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/history"
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
