package inventory

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tierline/tierline/shared/diag"
)

// UnitFiles lists the systemd service unit files under root and whether
// each is enabled (linked from a *.wants directory of /etc/systemd/system).
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

// fillServices lists systemd services from their unit files and their
// live state from one ListUnits call over the system bus (no exec); when
// the bus is not reachable, from `systemctl list-units` (systemd's private
// socket); when that fails too, the states are "unknown".
func fillServices(ctx context.Context, cfg *Config, inv *diag.Inventory) error {
	units := UnitFiles(cfg.Root)
	if len(units) == 0 {
		return noData("no systemd unit files")
	}
	states := map[string]string{}
	stateErr := ""
	if conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx)); err == nil {
		var list []struct {
			Name, Description, Load, Active, Sub, Following string
			Path                                            dbus.ObjectPath
			JobID                                           uint32
			JobType                                         string
			JobPath                                         dbus.ObjectPath
		}
		obj := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
		if err := obj.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.ListUnits", 0).Store(&list); err == nil {
			for _, u := range list {
				states[u.Name] = u.Sub
			}
		} else {
			stateErr = err.Error()
		}
		conn.Close()
	} else {
		stateErr = err.Error()
	}
	if stateErr != "" && cfg.commands() {
		// The bus is down or absent: systemctl reaches systemd over its
		// private socket. Order: D-Bus, then systemctl, then unknown.
		out, err := output(ctx, 15*time.Second, 4<<20, "systemctl", "list-units", "--type=service", "--all", "--no-legend", "--plain")
		if err == nil {
			states, stateErr = ParseSystemctlListUnits(out), ""
		} else {
			first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
			stateErr += "; systemctl: " + err.Error()
			if first != "" {
				stateErr += " (" + first + ")"
			}
		}
	}
	for name, enabled := range units {
		st, ok := states[name]
		if !ok {
			st = "unknown"
			if stateErr == "" {
				st = "inactive"
			}
		}
		inv.Services = append(inv.Services, diag.Service{Name: strings.TrimSuffix(name, ".service"), State: st, Enabled: enabled})
	}
	if stateErr != "" {
		return noData("service states unknown (systemd not reachable: %s); unit files listed", stateErr)
	}
	return nil
}
