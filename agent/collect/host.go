package collect

import (
	"context"
	"fmt"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/tierline/tierline/shared/diag"
)

func fillUptime(ctx context.Context, s *diag.Sample) error {
	up, err := host.UptimeWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read uptime: %w", err)
	}
	s.UptimeSec = up
	return nil
}
