//go:build !linux

package collect

import (
	"context"
	"time"

	"github.com/shirou/gopsutil/v4/host"
	"github.com/tierline/tierline/shared/diag"
)

// fillUsers outside Linux: gopsutil reads utmpx on macOS and the WTS
// sessions on Windows.
func fillUsers(ctx context.Context, _ *Config, s *diag.Sample) error {
	return fillUsersGopsutil(ctx, s)
}

func fillUsersGopsutil(ctx context.Context, s *diag.Sample) error {
	us, err := host.UsersWithContext(ctx)
	if err != nil {
		return noData("logged-in users not readable: %v", err)
	}
	for _, u := range us {
		s.Users = append(s.Users, diag.User{
			Name: u.User, Terminal: u.Terminal, Host: u.Host,
			Since: time.Unix(int64(u.Started), 0).UTC(),
		})
	}
	return nil
}
