package collect

import (
	"context"
	"fmt"
	"runtime"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/tierline/tierline/shared/diag"
)

func fillMemory(ctx context.Context, s *diag.Sample) error {
	m, err := ReadMemory(ctx)
	s.Memory = m
	return err
}

// ReadMemory reads memory and swap use now (the sample's figures; the
// memory check reads them too). When only swap cannot be read, the memory
// figures come with the error.
func ReadMemory(ctx context.Context) (diag.Memory, error) {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return diag.Memory{}, fmt.Errorf("read memory: %w", err)
	}
	m := diag.Memory{Total: vm.Total, Used: vm.Used, Available: vm.Available, UsedPct: round2(vm.UsedPercent)}
	if runtime.GOOS == "linux" {
		// /proc/meminfo, already read, carries swap: no second read.
		m.SwapTotal = vm.SwapTotal
		m.SwapUsed = vm.SwapTotal - vm.SwapFree
		return m, nil
	}
	sw, err := mem.SwapMemoryWithContext(ctx)
	if err != nil {
		return m, fmt.Errorf("read swap: %w", err)
	}
	m.SwapTotal, m.SwapUsed = sw.Total, sw.Used
	return m, nil
}
