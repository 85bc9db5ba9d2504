package diag

import "slices"

// CheckNames are the names of the agent's health checks (agent/health),
// for the hub to validate names it is given (knowledge base links,
// routing rules) without linking agent code. A test keeps the list equal
// to the checks the agent registers.
var CheckNames = []string{
	"disk-almost-full",
	"memory-pressure",
	"cpu-saturated",
	"dns-resolution",
	"default-route",
	"network-interface",
	"wifi-signal",
	"dhcp-lease",
	"hub-reachable",
	"proxy-unreachable",
	"clock-skew",
	"time-sync",
	"pending-reboot",
	"service-stopped",
	"printer-stopped",
	"print-jobs-stuck",
	"battery-worn",
	"uptime-long",
	"process-cpu-runaway",
	"memory-stall",
	"oom-kills",
	"process-limits",
	"swap-thrashing",
	"security-updates",
	"app-crashing",
}

// LastingChecks are the checks whose verdict covers a long window (a day
// of application crashes, an hour of out-of-memory kills, days of pending
// updates or of uptime) or the hardware: nothing done in one Get help
// session can turn them ok, so a session's outcome is judged without them.
var LastingChecks = []string{"app-crashing", "oom-kills", "security-updates", "battery-worn", "uptime-long"}

// KnownCheck reports whether name is one of CheckNames.
func KnownCheck(name string) bool { return slices.Contains(CheckNames, name) }
