package svcmgr

import (
	"errors"
	"fmt"
)

// Command is one command line that acts on a service through the OS's
// service manager. The fixes run it through agent/execx as one step.
type Command struct {
	Argv []string
	// Optional: the command may fail without the action failing
	// (stopping a service that is not running).
	Optional bool
	// NotFound maps exit codes that mean "there is no such service here"
	// to that reason.
	NotFound map[int]string
}

// Restart returns the commands that restart the service name on goos,
// where name comes from outside the agent (a fix parameter, validated by
// the catalog): `systemctl restart -- NAME` on Linux, so the name is never
// read as an option; `net stop` (which may fail: the service may not be
// running) and `net start` on Windows, as net waits for the service to
// stop, unlike sc; `launchctl kickstart -k system/NAME` on macOS. An exit
// code that means "no such service" is in NotFound.
func Restart(goos, name string) ([]Command, error) {
	switch goos {
	case "linux":
		return []Command{{Argv: []string{"systemctl", "restart", "--", name},
			NotFound: map[int]string{5: "there is no unit " + name + " on this machine"}}}, nil
	case "darwin":
		return []Command{{Argv: []string{"launchctl", "kickstart", "-k", "system/" + name},
			NotFound: map[int]string{113: "there is no launchd service " + name + " on this machine"}}}, nil
	case "windows":
		return stopStart(name), nil
	}
	return nil, unsupported(goos)
}

// RestartBuiltin returns the commands that restart a service the agent
// names itself (cups, systemd-timesyncd, com.apple.timed), which the
// caller has found installed: the same commands as Restart with the bare
// name, and any failure is a failure.
func RestartBuiltin(goos, name string) ([]Command, error) {
	switch goos {
	case "linux":
		return []Command{{Argv: []string{"systemctl", "restart", name}}}, nil
	case "darwin":
		return []Command{{Argv: []string{"launchctl", "kickstart", "-k", "system/" + name}}}, nil
	case "windows":
		return stopStart(name), nil
	}
	return nil, unsupported(goos)
}

func stopStart(name string) []Command {
	stop, _ := Stop("windows", name)
	start, _ := Start("windows", name)
	return []Command{stop, start}
}

// Stop returns the command that stops the service name on goos, for an
// action between stopping and starting (emptying the print queue). It is
// optional: a service that is not running cannot be stopped, which is fine.
func Stop(goos, name string) (Command, error) {
	switch goos {
	case "linux":
		return Command{Argv: []string{"systemctl", "stop", "--", name}, Optional: true}, nil
	case "darwin":
		return Command{Argv: []string{"launchctl", "kill", "SIGTERM", "system/" + name}, Optional: true}, nil
	case "windows":
		return Command{Argv: []string{"net", "stop", name}, Optional: true}, nil
	}
	return Command{}, unsupported(goos)
}

// Start returns the command that starts the service name on goos.
func Start(goos, name string) (Command, error) {
	switch goos {
	case "linux":
		return Command{Argv: []string{"systemctl", "start", "--", name}}, nil
	case "darwin":
		return Command{Argv: []string{"launchctl", "kickstart", "system/" + name}}, nil
	case "windows":
		return Command{Argv: []string{"net", "start", name}}, nil
	}
	return Command{}, unsupported(goos)
}

func unsupported(goos string) error {
	return fmt.Errorf("service commands on %s: %w", goos, errors.ErrUnsupported)
}
