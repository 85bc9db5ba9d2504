// Package svcmgr is the one place the agent asks the OS's service manager
// about services: systemd on Linux (over the system D-Bus, systemctl when
// the bus is not there), launchd on macOS (launchctl and the job plists),
// the Service Control Manager on Windows.
//
// Query reads the state of named services with how each last exited, its
// restart count and since when it is in its state, and LastLog a service's
// last log lines (the service-stopped health check); List reads every
// service with its state (the inventory); and
// Restart, RestartBuiltin, Stop and Start say which commands act on a
// service (the fixes, which run them through agent/execx like every other
// step). The parsers of systemctl's and launchctl's output are pure and
// tested on recorded output in testdata on every OS.
package svcmgr

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	// Sub is the manager's finer state where it has one: systemd's
	// sub-state (running, auto-restart, failed, dead, ...).
	Sub string
	// Restarting: the service ended and the manager is waiting to start
	// it again on its own (systemd's auto-restart, launchd's "spawn
	// scheduled").
	Restarting bool
	// PID is the main process while the service runs, 0 otherwise.
	PID int
	// Exit is how the service's main process last ended, nil when the
	// manager does not say (it never ended, or the manager keeps no record).
	Exit *Exit
	// Restarts is how many times the manager started the service again
	// on its own (systemd's NRestarts) or at all after its first start
	// (launchd's runs less one), when RestartsKnown; Windows keeps no
	// such count.
	Restarts      int
	RestartsKnown bool
	// Since is when the service entered its state (systemd's
	// StateChangeTimestamp); zero when the manager does not say.
	Since time.Time
}

// Exit is how a service's main process ended.
type Exit struct {
	// Code is the exit status when the process exited (Signal 0).
	Code int
	// Signal is the signal that killed it, 0 when it exited.
	Signal int
	// Core: it dumped core (killed by Signal).
	Core bool
	// Result is systemd's word for how the last run ended (success,
	// exit-code, signal, core-dump, timeout, oom-kill, start-limit-hit,
	// ...); empty elsewhere.
	Result string
	// Text is the manager's own words for the code where it has them
	// (launchd's "78: EX_CONFIG", Windows' message for the error).
	Text string
}

// String says how the process ended the way systemd prints it:
// "status=1", "signal=9/SIGKILL", "signal=11/SIGSEGV, core dumped",
// followed by the result or the manager's words.
func (e Exit) String() string {
	var s string
	switch {
	case e.Signal != 0:
		s = "signal=" + strconv.Itoa(e.Signal)
		if n := SignalName(e.Signal); n != "" {
			s += "/" + n
		}
		if e.Core {
			s += ", core dumped"
		}
	default:
		s = "status=" + strconv.Itoa(e.Code)
	}
	switch {
	case e.Text != "":
		s += " (" + e.Text + ")"
	case e.Result != "" && e.Result != "success":
		s += " (" + e.Result + ")"
	}
	return s
}

// Failed reports whether the exit was a failure: a non-zero status, a
// signal, or a result other than success.
func (e Exit) Failed() bool {
	return e.Code != 0 || e.Signal != 0 || (e.Result != "" && e.Result != "success")
}

// signalNames are Linux's and macOS's names of the signals a service
// dies of; the numbers that differ between them are left out.
var signalNames = map[int]string{1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
	8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM"}

// SignalName is the name of signal n ("SIGKILL"), "" when not known.
func SignalName(n int) string { return signalNames[n] }

// MaxLogLines and MaxLogLine bound what LastLog returns: the last lines
// of a service's log, each cut to MaxLogLine bytes.
const (
	MaxLogLines = 5
	MaxLogLine  = 240
)

// ParseLog keeps the last MaxLogLines non-empty lines of a log read
// (journalctl -o cat), each cut to MaxLogLine bytes on a character
// boundary, with control characters and invalid UTF-8 replaced: it is
// the service's own text, shown to a technician.
func ParseLog(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.Map(func(r rune) rune {
			if r == '\t' {
				return ' '
			}
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
				return '?'
			}
			return r
		}, strings.TrimRight(l, "\r"))
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if len(l) > MaxLogLine {
			cut := MaxLogLine
			for cut > 0 && !utf8.RuneStart(l[cut]) {
				cut--
			}
			l = l[:cut] + "…"
		}
		lines = append(lines, l)
	}
	if len(lines) > MaxLogLines {
		lines = lines[len(lines)-MaxLogLines:]
	}
	return lines
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
