package svcmgr

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"howett.net/plist"

	"github.com/tierline/tierline/shared/diag"
)

// LaunchdJob is one line of `launchctl list`.
type LaunchdJob struct {
	Label string
	PID   int // 0 when not running
	// Status is the last exit status; negative: killed by that signal.
	Status int
}

// State describes the job in the words the inventory uses.
func (j LaunchdJob) State() string {
	switch {
	case j.PID > 0:
		return "running"
	case j.Status < 0:
		return "stopped (killed by signal " + strconv.Itoa(-j.Status) + ")"
	case j.Status > 0:
		return "failed (exit " + strconv.Itoa(j.Status) + ")"
	}
	return "stopped"
}

// ParseLaunchctlList parses `launchctl list`: a header "PID Status Label"
// and one tab-separated line per loaded job, PID "-" when not running.
func ParseLaunchctlList(out string) map[string]LaunchdJob {
	jobs := map[string]LaunchdJob{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(strings.TrimRight(line, "\r"))
		if len(f) != 3 || f[0] == "PID" {
			continue
		}
		j := LaunchdJob{Label: f[2]}
		if f[0] != "-" {
			pid, err := strconv.Atoi(f[0])
			if err != nil || pid < 0 {
				continue
			}
			j.PID = pid
		}
		if f[1] != "-" {
			s, err := strconv.Atoi(f[1])
			if err != nil {
				continue
			}
			j.Status = s
		}
		jobs[j.Label] = j
	}
	return jobs
}

// launchdPlist is what List reads from a launchd job's plist.
type launchdPlist struct {
	Label    string `plist:"Label"`
	Disabled bool   `plist:"Disabled"`
}

// parseLaunchdPlist returns a job plist's label and whether it is
// disabled by its own plist.
func parseLaunchdPlist(b []byte) (label string, disabled bool, ok bool) {
	var p launchdPlist
	if _, err := plist.Unmarshal(b, &p); err != nil || p.Label == "" {
		return "", false, false
	}
	return p.Label, p.Disabled, true
}

// launchdDirs hold the job plists: Apple's daemons, third-party daemons
// (system domain) and third-party agents (each user's session).
var launchdDirs = []struct {
	dir    string
	agents bool
}{{"/System/Library/LaunchDaemons", false}, {"/Library/LaunchDaemons", false}, {"/Library/LaunchAgents", true}}

// launchdServices reads the job plists under root and gives each its
// state from jobs (nil: unknown). Agents run in users' sessions, not the
// system domain launchctl list shows, so an agent not listed is "user agent".
func launchdServices(root string, jobs map[string]LaunchdJob) []diag.Service {
	var out []diag.Service
	seen := map[string]bool{}
	for _, d := range launchdDirs {
		entries, _ := os.ReadDir(filepath.Join(root, d.dir))
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".plist") {
				continue
			}
			label := strings.TrimSuffix(e.Name(), ".plist")
			disabled := false
			if b, err := os.ReadFile(filepath.Join(root, d.dir, e.Name())); err == nil {
				if l, dis, ok := parseLaunchdPlist(b); ok {
					label, disabled = l, dis
				}
			}
			if seen[label] {
				continue
			}
			seen[label] = true
			svc := diag.Service{Name: label, State: "unknown", Enabled: !disabled}
			if jobs != nil {
				j, loaded := jobs[label]
				switch {
				case loaded:
					svc.State = j.State()
				case d.agents:
					svc.State = "user agent"
				default:
					svc.State = "not loaded"
				}
			}
			out = append(out, svc)
		}
	}
	return out
}

// ParseLaunchctlPrint parses `launchctl print system/LABEL` for the
// service name: its top-level "key = value" lines (one tab deep; nested
// blocks such as environment and coalitions are skipped): state, pid,
// runs (Restarts is runs after the first), "last exit code" ("1", "78: EX_CONFIG", "(never exited)") and
// "last terminating signal" ("Killed: 9"), which launchd prints instead
// of the exit code when a signal ended the job.
func ParseLaunchctlPrint(out, name string) Status {
	top := map[string]string{}
	depth := 0
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if strings.HasSuffix(trimmed, "{") {
			depth++
			continue
		}
		if trimmed == "}" {
			depth--
			continue
		}
		if depth != 1 {
			continue
		}
		if k, v, ok := strings.Cut(trimmed, " = "); ok {
			if _, seen := top[k]; !seen {
				top[k] = strings.TrimSpace(v)
			}
		}
	}
	state, ok := top["state"]
	if !ok {
		return Status{Name: name, State: "unknown: no state in launchctl's answer"}
	}
	// "spawn scheduled": the job ended and launchd will start it again
	// (KeepAlive, after its throttle interval).
	st := Status{Name: name, State: state, Running: state == "running", Restarting: state == "spawn scheduled"}
	if pid, err := strconv.Atoi(top["pid"]); err == nil && pid > 0 && st.Running {
		st.PID = pid
	}
	if runs, err := strconv.Atoi(top["runs"]); err == nil && runs >= 0 {
		// runs counts the first start too.
		st.Restarts, st.RestartsKnown = max(runs-1, 0), true
	}
	if sig := top["last terminating signal"]; sig != "" {
		// "Segmentation fault: 11": strsignal's words, then the number.
		text, num, _ := strings.Cut(sig, ": ")
		if n, err := strconv.Atoi(strings.TrimSpace(num)); err == nil && n > 0 {
			st.Exit = &Exit{Signal: n, Text: text}
		}
	} else if code := top["last exit code"]; code != "" && code != "(never exited)" {
		num, text, _ := strings.Cut(code, ": ")
		if n, err := strconv.Atoi(strings.TrimSpace(num)); err == nil {
			st.Exit = &Exit{Code: n, Text: text}
		}
	}
	return st
}
