package health

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/tierline/tierline/shared/diag"
)

// checkMemStall reads the memory pressure level the macOS kernel keeps
// (what Activity Monitor's memory pressure graph and `memory_pressure`
// show): one sysctl, no program run.
func checkMemStall(_ context.Context, _ *Config, _ Env) diag.CheckResult {
	level, err := unix.SysctlUint32("kern.memorystatus_vm_pressure_level")
	if err != nil {
		return unknown("Could not read the memory pressure level.", ev("error", "%v", err))
	}
	return gradeMacPressure(level)
}
