package collect

import (
	"context"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/tierline/tierline/shared/diag"
)

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

func fillUptime(ctx context.Context, s *diag.Sample) error {
	up, err := host.UptimeWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read uptime: %w", err)
	}
	s.UptimeSec = up
	return nil
}
