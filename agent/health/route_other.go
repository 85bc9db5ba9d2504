//go:build !linux

package health

import (
	"context"
	"runtime"

	"github.com/tierline/tierline/shared/diag"
)

// checkRoute outside Linux: the route and neighbour tables are read through
// GetIpForwardTable2/GetIpNetTable2 (Windows) or the routing socket
// (macOS); not implemented yet, so the check says so rather than guessing.
func checkRoute(_ context.Context, _ *Config) diag.CheckResult {
	return unknown("The default-route check is not implemented on " + runtime.GOOS + " yet.")
}
