//go:build !linux

package collect

import (
	"context"

	"github.com/tierline/tierline/shared/diag"
)

// fillUsers outside Linux: gopsutil reads utmpx on macOS and the WTS
// sessions on Windows.
func fillUsers(ctx context.Context, _ *Config, s *diag.Sample) error {
	return fillUsersGopsutil(ctx, s)
}
