package collect

import (
	"context"
	"fmt"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"

	"github.com/tierline/tierline/shared/diag"
)

// cpuCollector keeps the previous per-core times. The first sample's
// percentages are averages since boot (the previous times are zero), which is
// real data, not a made-up zero.
type cpuCollector struct {
	prev []cpu.TimesStat
}

func (c *cpuCollector) fill(ctx context.Context, s *diag.Sample) error {
	cur, err := cpu.TimesWithContext(ctx, true)
	if err != nil {
		return fmt.Errorf("read cpu times: %w", err)
	}
	if len(cur) == 0 {
		return noData("no cpu times")
	}
	prev := c.prev
	if len(prev) != len(cur) {
		prev = make([]cpu.TimesStat, len(cur))
	}
	s.CPU.PerCore = make([]float64, len(cur))
	var busyAll, totalAll float64
	for i := range cur {
		busy, total := cpuDelta(prev[i], cur[i])
		busyAll += busy
		totalAll += total
		s.CPU.PerCore[i] = pct(busy, total)
	}
	s.CPU.TotalPct = pct(busyAll, totalAll)
	c.prev = cur
	return nil
}

// cpuDelta returns busy and total seconds between two readings of one CPU.
// Guest time is already counted in user time on Linux, so it is left out.
func cpuDelta(a, b cpu.TimesStat) (busy, total float64) {
	idle := (b.Idle - a.Idle) + (b.Iowait - a.Iowait)
	work := (b.User - a.User) + (b.Nice - a.Nice) + (b.System - a.System) +
		(b.Irq - a.Irq) + (b.Softirq - a.Softirq) + (b.Steal - a.Steal)
	if idle < 0 {
		idle = 0
	}
	if work < 0 {
		work = 0
	}
	return work, work + idle
}

func pct(part, total float64) float64 {
	if total <= 0 {
		return 0
	}
	p := part / total * 100
	if p > 100 {
		p = 100
	}
	return round2(p)
}

func fillLoad(ctx context.Context, s *diag.Sample) error {
	l, err := load.AvgWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read load average: %w", err)
	}
	s.CPU.Load1, s.CPU.Load5, s.CPU.Load15 = l.Load1, l.Load5, l.Load15
	return nil
}
