//go:build !unix

package health

import "time"

func cpuTime() (time.Duration, bool)      { return 0, false }
func childCPUTime() (time.Duration, bool) { return 0, false }
