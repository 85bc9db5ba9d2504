package collect

import (
	"context"
	"testing"
)

// BenchmarkSample measures one telemetry sample on this machine, after a
// warm-up sample (rates and process handles cached, as in the agent's
// steady state). cpu-ns/op is user+system CPU time of the whole process per
// sample where the OS reports it (target: under 5 ms).
func BenchmarkSample(b *testing.B) {
	c := New()
	ctx := context.Background()
	if _, err := c.Sample(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start, ok := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Sample(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if end, ok2 := cpuTime(); ok && ok2 {
		b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
