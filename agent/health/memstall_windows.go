package health

import (
	"context"

	"github.com/tierline/tierline/shared/diag"
)

// checkMemStall: Windows keeps no stall or pressure figure that a cheap
// call reads (memory-pressure reports its commit and use); unknown, not
// a guess.
func checkMemStall(_ context.Context, _ *Config, _ Env) diag.CheckResult {
	return unknown("Windows does not report memory stalls; see memory-pressure for memory in use.")
}
