// Package svcmgr is the one place the agent asks the OS's service manager
// about services: systemd on Linux (over the system D-Bus, systemctl when
// the bus is not there), launchd on macOS (launchctl and the job plists),
// the Service Control Manager on Windows.
//
// Query reads the state of named services (the service-stopped health
// check), List reads every service with its state (the inventory), and
// Restart, RestartBuiltin, Stop and Start say which commands act on a
// service (the fixes, which run them through agent/execx like every other
// step). The parsers of systemctl's and launchctl's output are pure and
// tested on recorded output in testdata on every OS.
package svcmgr

import (
	"strings"
)

// Status is what Query learns about one service.
type Status struct {
	// Name is the name as asked.
	Name string
	// State is the service manager's word for it: running, stopped,
	// failed, not installed, not loaded, "unknown: why", ...
	State string
	// Running: the service is up (systemd active or reloading, a launchd
	// job with a pid, SERVICE_RUNNING).
	Running bool
}

// NotAvailableError says what this machine does not expose (no unit files,
// no reachable service manager), as opposed to a failure. List returns it
// with the services it could read, which are right as far as they go.
type NotAvailableError struct{ Reason string }

func (e *NotAvailableError) Error() string { return e.Reason }

// ListOptions says where List looks.
type ListOptions struct {
	// Root is where unit files and job plists are read. Default "/".
	Root string
	// Commands lets List run systemctl or launchctl. Callers reading a
	// fixture root leave it false: the commands would read the live system.
	Commands bool
}

// SameName reports whether a and b name the same service on goos. Windows
// service names are case-insensitive; a systemd unit may be named with or
// without its .service suffix; launchd labels compare exactly.
func SameName(goos, a, b string) bool {
	switch {
	case a == b:
		return true
	case goos == "windows":
		return strings.EqualFold(a, b)
	case goos == "linux":
		return strings.TrimSuffix(a, ".service") == strings.TrimSuffix(b, ".service")
	}
	return false
}
