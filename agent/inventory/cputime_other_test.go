//go:build !unix

package inventory

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
