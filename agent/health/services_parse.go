package health

import (
	"strconv"
	"strings"
)

// ParseSystemctlShow parses `systemctl show --property=Id,LoadState,ActiveState
// UNIT...`: one block of KEY=VALUE lines per unit, blocks separated by a
// blank line, in the order asked. names are the names as watched, matched
// to blocks by position.
func ParseSystemctlShow(out string, names []string) []serviceState {
	var blocks []map[string]string
	cur := map[string]string{}
	for _, line := range strings.Split(out+"\n\n", "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = map[string]string{}
			}
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			cur[k] = v
		}
	}
	out2 := make([]serviceState, 0, len(names))
	for i, n := range names {
		st := serviceState{Name: n, State: "unknown: not in systemctl's answer"}
		if i < len(blocks) {
			b := blocks[i]
			as := b["ActiveState"]
			st = serviceState{Name: n, State: as, Running: as == "active" || as == "reloading"}
			if b["LoadState"] == "not-found" {
				st = serviceState{Name: n, State: "not installed"}
			}
			if as == "" {
				st.State = "unknown"
			}
		}
		out2 = append(out2, st)
	}
	return out2
}

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
