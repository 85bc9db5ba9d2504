package collect

import (
	"context"
	"fmt"
	"runtime"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/tierline/tierline/shared/diag"
)

func fillMemory(ctx context.Context, s *diag.Sample) error {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read memory: %w", err)
	}
	s.Memory = diag.Memory{Total: vm.Total, Used: vm.Used, Available: vm.Available, UsedPct: round2(vm.UsedPercent)}
	if runtime.GOOS == "linux" {
		// /proc/meminfo, already read, carries swap: no second read.
		s.Memory.SwapTotal = vm.SwapTotal
		s.Memory.SwapUsed = vm.SwapTotal - vm.SwapFree
		return nil
	}
	sw, err := mem.SwapMemoryWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read swap: %w", err)
	}
	s.Memory.SwapTotal, s.Memory.SwapUsed = sw.Total, sw.Used
	return nil
}
