package health

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tierline/tierline/shared/diag"
)

// parseMacPressureLevel reads `sysctl kern.memorystatus_vm_pressure_level`
// output ("kern.memorystatus_vm_pressure_level: 1"), for fixtures.
func parseMacPressureLevel(s string) (uint32, error) {
	_, v, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return 0, fmt.Errorf("pressure level: %q", s)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	return uint32(n), err
}

// gradeMacPressure is the pure part of memory-stall on macOS: the kernel's
// level is 1 (normal), 2 (warning: it is compressing and swapping) or 4
// (critical: it is ending processes to free memory).
func gradeMacPressure(level uint32) diag.CheckResult {
	e := ev("memory pressure level", "%d (1 normal, 2 warning, 4 critical)", level)
	switch level {
	case 1:
		return ok("Programs are not waiting for memory.", e)
	case 2:
		return result(diag.StatusWarning, "", "Programs are waiting for memory; the computer feels slow.", e)
	case 4:
		return result(diag.StatusFailing, "", "The computer is critically short of memory; it may close programs.", e)
	}
	return unknown("The memory pressure level is not one macOS documents.", e)
}
