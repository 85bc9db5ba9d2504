package diag

import (
	"fmt"
	"strings"
	"time"
)

// AppCrashes is one application's crashes and hangs over the last day, as
// the agent read them from the operating system's own records
// (systemd-coredump or the kernel log on Linux, Windows Error Reporting's
// Application log, macOS DiagnosticReports). App and Version are text the
// device supplies: the hub escapes them wherever it shows them.
type AppCrashes struct {
	App     string `json:"app"`
	Version string `json:"version,omitempty"`
	// Crashes and Hangs count the events of the last 24 hours; Today
	// those since the device's local midnight (crashes and hangs).
	Crashes int `json:"crashes"`
	Hangs   int `json:"hangs,omitempty"`
	Today   int `json:"today"`
	// Last is the newest event, LastKind "crash" or "hang", and Reason the
	// signal or exception of the newest crash ("SIGSEGV", "0xc0000005",
	// "EXC_BAD_ACCESS (SIGSEGV)") where the record names one.
	Last     time.Time `json:"last"`
	LastKind string    `json:"last_kind"`
	Reason   string    `json:"reason,omitempty"`
	// Source is the record it came from (kernel-log, coredump, wer, diagnostic-reports).
	Source string `json:"source,omitempty"`
}

// Events is crashes plus hangs over the last 24 hours.
func (a AppCrashes) Events() int { return a.Crashes + a.Hangs }

// DisplayName is App as people say it: Windows' "OUTLOOK.EXE" is "Outlook".
func (a AppCrashes) DisplayName() string {
	name := a.App
	if len(name) > 4 && strings.EqualFold(name[len(name)-4:], ".exe") {
		name = name[:len(name)-4]
	}
	if name != "" && name == strings.ToUpper(name) && strings.ToLower(name) != name {
		name = name[:1] + strings.ToLower(name[1:])
	}
	return name
}

// Sentence says it for the end user: "Outlook crashed 4 times today".
func (a AppCrashes) Sentence() string {
	times := func(n int) string {
		if n == 1 {
			return "once"
		}
		return fmt.Sprintf("%d times", n)
	}
	what := "crashed"
	switch {
	case a.Hangs > 0 && a.Crashes == 0:
		what = "stopped responding"
	case a.Hangs > 0:
		what = "crashed or stopped responding"
	}
	if a.Today == a.Events() {
		return fmt.Sprintf("%s %s %s today", a.DisplayName(), what, times(a.Today))
	}
	return fmt.Sprintf("%s %s %s in the last 24 hours", a.DisplayName(), what, times(a.Events()))
}
