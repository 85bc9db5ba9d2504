package collect

import (
	"sort"

	"github.com/tierline/tierline/shared/diag"
)

// topN returns the n processes with the highest key, best first, ties
// broken by PID so output is stable.
func topN(ps []diag.Process, n int, key func(diag.Process) float64) []diag.Process {
	sorted := append([]diag.Process(nil), ps...)
	sort.Slice(sorted, func(i, j int) bool {
		ki, kj := key(sorted[i]), key(sorted[j])
		if ki != kj {
			return ki > kj
		}
		return sorted[i].PID < sorted[j].PID
	})
	if len(sorted) > n {
		sorted = sorted[:n]
	}
	return sorted
}

func byCPU(p diag.Process) float64 { return p.CPUPct }
func byRSS(p diag.Process) float64 { return float64(p.RSS) }

// busy keeps the processes that used any CPU: a top list padded with idle
// processes tells a technician nothing.
func busy(ps []diag.Process) []diag.Process {
	var out []diag.Process
	for _, p := range ps {
		if p.CPUPct > 0 {
			out = append(out, p)
		}
	}
	return out
}
