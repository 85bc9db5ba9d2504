package svcmgr

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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

// ShowProperties are the properties Query asks `systemctl show` for, all
// services in one call.
const ShowProperties = "Id,LoadState,ActiveState,SubState,Result,MainPID,ExecMainCode,ExecMainStatus,NRestarts,StateChangeTimestamp"

// ParseSystemctlShow parses `systemctl show --property=ShowProperties
// UNIT...`: one block of KEY=VALUE lines per unit, blocks separated by a
// blank line, in the order asked. names are the names as asked, matched
// to blocks by position. Timestamps are read in loc (systemctl prints
// them in the machine's zone, "Sun 2026-12-06 06:21:36 UTC").
func ParseSystemctlShow(out string, names []string, loc *time.Location) []Status {
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
			st = unitStatus(n, blocks[i], loc)
		}
		out2 = append(out2, st)
	}
	return out2
}

// unitStatus is the Status of one unit from its properties as systemctl
// prints them.
func unitStatus(name string, p map[string]string, loc *time.Location) Status {
	num := func(k string) (int, bool) {
		v, err := strconv.Atoi(p[k])
		return v, err == nil
	}
	as := p["ActiveState"]
	st := Status{Name: name, State: as, Sub: p["SubState"], Running: as == "active" || as == "reloading"}
	switch {
	case p["LoadState"] == "not-found":
		return Status{Name: name, State: "not installed"}
	case as == "":
		st.State = "unknown"
		return st
	}
	st.Restarting = st.Sub == "auto-restart"
	if pid, ok := num("MainPID"); ok && pid > 0 && st.Running {
		st.PID = pid
	}
	if n, ok := num("NRestarts"); ok && n >= 0 {
		st.Restarts, st.RestartsKnown = n, true
	}
	code, _ := num("ExecMainCode")
	status, _ := num("ExecMainStatus")
	st.Exit = mainExit(code, status, p["Result"])
	if v := p["StateChangeTimestamp"]; v != "" && loc != nil {
		if t, err := time.ParseInLocation("Mon 2006-01-02 15:04:05 MST", v, loc); err == nil {
			st.Since = t
		}
	}
	return st
}

// mainExit reads systemd's ExecMainCode (a waitid si_code: 1 exited, 2
// killed, 3 dumped core; 0 has not ended) and ExecMainStatus (the exit
// status or the signal); nil when the main process has not ended.
func mainExit(code, status int, result string) *Exit {
	switch code {
	case 1:
		return &Exit{Code: status, Result: result}
	case 2:
		return &Exit{Signal: status, Result: result}
	case 3:
		return &Exit{Signal: status, Core: true, Result: result}
	}
	return nil
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
