package svcmgr

import (
	"os"
	"path/filepath"
	"strings"
)

// UnitName is the systemd unit a watched or allow-listed name means: the
// name itself when it has a suffix (cups.service, cups.socket), otherwise
// the name's .service unit.
func UnitName(name string) string {
	if !strings.Contains(name, ".") {
		return name + ".service"
	}
	return name
}

// ParseSystemctlShow parses `systemctl show --property=Id,LoadState,ActiveState
// UNIT...`: one block of KEY=VALUE lines per unit, blocks separated by a
// blank line, in the order asked. names are the names as asked, matched
// to blocks by position.
func ParseSystemctlShow(out string, names []string) []Status {
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
	out2 := make([]Status, 0, len(names))
	for i, n := range names {
		st := Status{Name: n, State: "unknown: not in systemctl's answer"}
		if i < len(blocks) {
			b := blocks[i]
			as := b["ActiveState"]
			st = Status{Name: n, State: as, Running: as == "active" || as == "reloading"}
			if b["LoadState"] == "not-found" {
				st = Status{Name: n, State: "not installed"}
			}
			if as == "" {
				st.State = "unknown"
			}
		}
		out2 = append(out2, st)
	}
	return out2
}

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

// UnitFiles lists the systemd service unit files under root and whether
// each is enabled (linked from a *.wants directory of /etc/systemd/system).
// Template units (name@.service) are left out.
func UnitFiles(root string) map[string]bool {
	units := map[string]bool{}
	for _, dir := range []string{"/lib/systemd/system", "/usr/lib/systemd/system", "/etc/systemd/system"} {
		entries, _ := os.ReadDir(filepath.Join(root, dir))
		for _, e := range entries {
			n := e.Name()
			if strings.HasSuffix(n, ".service") && !strings.Contains(n, "@") {
				if _, ok := units[n]; !ok {
					units[n] = false
				}
			}
		}
	}
	wants, _ := filepath.Glob(filepath.Join(root, "/etc/systemd/system/*.wants/*.service"))
	for _, w := range wants {
		units[filepath.Base(w)] = true
	}
	return units
}
