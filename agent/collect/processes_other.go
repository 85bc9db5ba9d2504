//go:build !linux

package collect

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/tierline/tierline/shared/diag"
)

// procCollector keeps gopsutil process handles between samples: a handle
// remembers its previous CPU times, so Percent(0) is the rate since the last
// sample, and its name and user are looked up once.
type procCollector struct {
	cfg     *Config
	handles map[int32]*procHandle
	// names receives every process's name at each sample.
	names *atomic.Pointer[ProcessNames]
}

type procHandle struct {
	p          *process.Process
	name, user string
	created    int64
}

func newProcCollector(cfg *Config) *procCollector {
	return &procCollector{cfg: cfg, handles: map[int32]*procHandle{}}
}

func (c *procCollector) fill(ctx context.Context, s *diag.Sample) error {
	pids, err := process.PidsWithContext(ctx)
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	seen := make(map[int32]bool, len(pids))
	all := make([]diag.Process, 0, len(pids))
	for _, pid := range pids {
		seen[pid] = true
		h := c.handles[pid]
		if h == nil {
			p, err := process.NewProcessWithContext(ctx, pid)
			if err != nil {
				continue
			}
			h = &procHandle{p: p}
			h.name, _ = p.NameWithContext(ctx)
			h.created, _ = p.CreateTimeWithContext(ctx)
			c.handles[pid] = h
		}
		cpuPct, err := h.p.PercentWithContext(ctx, 0)
		if err != nil {
			continue
		}
		var rss uint64
		if mi, err := h.p.MemoryInfoWithContext(ctx); err == nil {
			rss = mi.RSS
		}
		all = append(all, diag.Process{PID: pid, Name: h.name, CPUPct: round2(cpuPct), RSS: rss})
	}
	for pid := range c.handles {
		if !seen[pid] {
			delete(c.handles, pid)
		}
	}
	if c.names != nil {
		pn := &ProcessNames{Names: make([]string, len(all)), Time: time.Now()}
		for i, p := range all {
			pn.Names[i] = p.Name
		}
		c.names.Store(pn)
	}
	s.TopCPU = topN(busy(all), c.cfg.TopN, byCPU)
	s.TopMemory = topN(all, c.cfg.TopN, byRSS)
	for _, list := range [][]diag.Process{s.TopCPU, s.TopMemory} {
		for i := range list {
			h := c.handles[list[i].PID]
			if h == nil {
				continue
			}
			if h.user == "" {
				h.user, _ = h.p.UsernameWithContext(ctx)
			}
			list[i].User = h.user
		}
	}
	return nil
}
