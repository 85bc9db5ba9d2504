package collect

import (
	"context"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/net"

	"github.com/tierline/tierline/shared/diag"
)

type netCollector struct {
	prev     map[string]net.IOCountersStat
	prevTime time.Time
}

func (c *netCollector) fill(ctx context.Context, s *diag.Sample) error {
	list, err := net.IOCountersWithContext(ctx, true)
	if err != nil {
		return fmt.Errorf("read network counters: %w", err)
	}
	now := time.Now()
	cur := make(map[string]net.IOCountersStat, len(list))
	for _, n := range list {
		cur[n.Name] = n
	}
	prev, dt := c.prev, now.Sub(c.prevTime).Seconds()
	c.prev, c.prevTime = cur, now
	for _, b := range list {
		if b.Name == "lo" || b.Name == "lo0" {
			continue
		}
		n := diag.NetInterface{Name: b.Name, RxErrors: b.Errin, TxErrors: b.Errout, RxDrops: b.Dropin, TxDrops: b.Dropout}
		if a, ok := prev[b.Name]; ok {
			n.RxBps = round2(rate(a.BytesRecv, b.BytesRecv, dt))
			n.TxBps = round2(rate(a.BytesSent, b.BytesSent, dt))
		}
		s.Network = append(s.Network, n)
	}
	if prev == nil {
		// Error counters are real; only the rates are missing.
		return noData("first sample: rates need a previous sample")
	}
	return nil
}
