//go:build !unix

package collect

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
