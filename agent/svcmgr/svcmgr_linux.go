package svcmgr

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/diag"
)

// connectBus is dbus.ConnectSystemBus; tests replace it to take the bus
// away.
var connectBus = dbus.ConnectSystemBus

// output is execx.Output; tests replace it to feed recorded systemctl
// output.
var output = execx.Output

// Query asks systemd over the system D-Bus first (LoadUnit, then the
// unit's ActiveState and LoadState; no exec). When the bus is not
// reachable it falls back to `systemctl show`, which talks to systemd over
// its private socket; when that fails too, the states are unknown and
// Query returns the error. A name without a suffix means its .service unit.
func Query(ctx context.Context, names []string) ([]Status, error) {
	conn, err := connectBus(dbus.WithContext(ctx))
	if err != nil {
		st, serr := systemctlStates(ctx, names)
		if serr != nil {
			return nil, fmt.Errorf("connect to systemd over D-Bus: %w; systemctl: %w", err, serr)
		}
		return st, nil
	}
	defer conn.Close()
	mgr := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	var out []Status
	for _, name := range names {
		unit := UnitName(name)
		var path dbus.ObjectPath
		if err := mgr.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.LoadUnit", 0, unit).Store(&path); err != nil {
			out = append(out, Status{Name: name, State: "unknown: " + err.Error()})
			continue
		}
		obj := conn.Object("org.freedesktop.systemd1", path)
		load, _ := obj.GetProperty("org.freedesktop.systemd1.Unit.LoadState")
		active, err := obj.GetProperty("org.freedesktop.systemd1.Unit.ActiveState")
		if err != nil {
			out = append(out, Status{Name: name, State: "unknown: " + err.Error()})
			continue
		}
		ls, _ := load.Value().(string)
		as, _ := active.Value().(string)
		st := Status{Name: name, State: as, Running: as == "active" || as == "reloading"}
		if ls == "not-found" {
			st.State = "not installed"
		}
		out = append(out, st)
	}
	return out, nil
}

func systemctlStates(ctx context.Context, names []string) ([]Status, error) {
	argv := []string{"systemctl", "show", "--property=Id,LoadState,ActiveState", "--"}
	for _, n := range names {
		argv = append(argv, UnitName(n))
	}
	out, err := output(ctx, 10*time.Second, 64<<10, argv...)
	if err != nil {
		if first := firstLine(out); first != "" {
			return nil, fmt.Errorf("%w (%s)", err, first)
		}
		return nil, err
	}
	return ParseSystemctlShow(out, names), nil
}

// List lists systemd services from their unit files under o.Root and their
// live state from one ListUnits call over the system bus (no exec); when
// the bus is not reachable, from `systemctl list-units` (systemd's private
// socket, only with o.Commands); when that fails too, the states are
// "unknown" and the error is a *NotAvailableError. Names are without their
// .service suffix; states are systemd's sub-states (running, exited, dead,
// failed, ...); Enabled means linked from a *.wants directory.
func List(ctx context.Context, o ListOptions) ([]diag.Service, error) {
	units := UnitFiles(cmp.Or(o.Root, "/"))
	if len(units) == 0 {
		return nil, &NotAvailableError{Reason: "no systemd unit files"}
	}
	states := map[string]string{}
	stateErr := ""
	if conn, err := connectBus(dbus.WithContext(ctx)); err == nil {
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
	if stateErr != "" && o.Commands {
		// The bus is down or absent: systemctl reaches systemd over its
		// private socket. Order: D-Bus, then systemctl, then unknown.
		out, err := output(ctx, 15*time.Second, 4<<20, "systemctl", "list-units", "--type=service", "--all", "--no-legend", "--plain")
		if err == nil {
			states, stateErr = ParseSystemctlListUnits(out), ""
		} else {
			stateErr += "; systemctl: " + err.Error()
			if first := firstLine(out); first != "" {
				stateErr += " (" + first + ")"
			}
		}
	}
	var svcs []diag.Service
	for name, enabled := range units {
		st, ok := states[name]
		if !ok {
			st = "unknown"
			if stateErr == "" {
				st = "inactive"
			}
		}
		svcs = append(svcs, diag.Service{Name: strings.TrimSuffix(name, ".service"), State: st, Enabled: enabled})
	}
	if stateErr != "" {
		return svcs, &NotAvailableError{Reason: fmt.Sprintf("service states unknown (systemd not reachable: %s); unit files listed", stateErr)}
	}
	return svcs, nil
}

// firstLine is the first line of a failed command's output, which says why
// ("System has not been booted with systemd ...").
func firstLine(out string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return first
}
