package inventory

import (
	"os"
	"path/filepath"
	"strings"

	"howett.net/plist"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/shared/diag"
)

// ParseSystemctlListUnits parses `systemctl list-units --type=service
// --all --no-legend --plain`: UNIT LOAD ACTIVE SUB DESCRIPTION per line. It
// returns each unit's sub-state (running, exited, dead, failed, ...).
func ParseSystemctlListUnits(out string) map[string]string {
	states := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "●" || f[0] == "*") {
			f = f[1:]
		}
		if len(f) < 4 || !strings.HasSuffix(f[0], ".service") {
			continue
		}
		states[f[0]] = f[3]
	}
	return states
}

// launchdPlist is what the inventory reads from a launchd job's plist.
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
func launchdServices(root string, jobs map[string]health.LaunchdJob) []diag.Service {
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
