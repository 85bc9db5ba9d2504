package collect

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/tierline/tierline/shared/diag"
)

// ignoredDisks are partitions and pseudo devices (node_exporter's default):
// their I/O is already counted in the whole disk.
var ignoredDisks = regexp.MustCompile(`^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p|mmcblk\d+p)\d+$`)

type diskIOCollector struct {
	prev     map[string]disk.IOCountersStat
	prevTime time.Time
}

func (c *diskIOCollector) fill(ctx context.Context, s *diag.Sample) error {
	cur, err := disk.IOCountersWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read disk counters: %w", err)
	}
	now := time.Now()
	prev, dt := c.prev, now.Sub(c.prevTime).Seconds()
	c.prev, c.prevTime = cur, now
	if prev == nil {
		return noData("first sample: rates need a previous sample")
	}
	for name, b := range cur {
		if ignoredDisks.MatchString(name) {
			continue
		}
		a, ok := prev[name]
		if !ok {
			continue
		}
		d := diag.DiskIO{
			Name:      name,
			ReadBps:   round2(rate(a.ReadBytes, b.ReadBytes, dt)),
			WriteBps:  round2(rate(a.WriteBytes, b.WriteBytes, dt)),
			ReadIOPS:  round2(rate(a.ReadCount, b.ReadCount, dt)),
			WriteIOPS: round2(rate(a.WriteCount, b.WriteCount, dt)),
		}
		if b.IoTime > 0 { // milliseconds spent doing I/O
			d.BusyPct = pct(rate(a.IoTime, b.IoTime, dt)/10, 100)
		}
		s.Disks = append(s.Disks, d)
	}
	if len(s.Disks) == 0 {
		return noData("no block devices")
	}
	return nil
}
