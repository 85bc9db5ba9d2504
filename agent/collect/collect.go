// Package collect takes telemetry samples of this machine.
package collect

import (
	"context"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"

	"github.com/tierline/tierline/shared/diag"
)

// Collector takes telemetry samples. Rates are computed against the
// previous sample, so one Collector should be used for the agent's life.
type Collector struct{}

// New returns a Collector.
func New() *Collector { return &Collector{} }

// Sample takes one telemetry sample.
func (c *Collector) Sample(ctx context.Context) (diag.Sample, error) {
	start := time.Now()
	s := diag.Sample{Time: start.UTC(), Unavailable: map[string]string{}}
	if pct, err := cpu.PercentWithContext(ctx, 0, false); err == nil && len(pct) == 1 {
		s.CPU.TotalPct = pct[0]
	} else if err != nil {
		s.Unavailable["cpu"] = err.Error()
	}
	if l, err := load.AvgWithContext(ctx); err == nil {
		s.CPU.Load1, s.CPU.Load5, s.CPU.Load15 = l.Load1, l.Load5, l.Load15
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return s, fmt.Errorf("read memory: %w", err)
	}
	s.Memory = diag.Memory{Total: vm.Total, Used: vm.Used, Available: vm.Available, UsedPct: vm.UsedPercent}
	if len(s.Unavailable) == 0 {
		s.Unavailable = nil
	}
	s.CollectMicros = time.Since(start).Microseconds()
	return s, nil
}
