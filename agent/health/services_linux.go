package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// serviceStates asks systemd over the system D-Bus first (LoadUnit, then
// the unit's ActiveState and LoadState; no exec). When the bus is not
// reachable it falls back to `systemctl show`, which talks to systemd over
// its private socket; when that fails too, the states are unknown.
func serviceStates(ctx context.Context, names []string) ([]serviceState, error) {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		st, serr := systemctlStates(ctx, names)
		if serr != nil {
			return nil, fmt.Errorf("connect to systemd over D-Bus: %w; systemctl: %w", err, serr)
		}
		return st, nil
	}
	defer conn.Close()
	mgr := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	var out []serviceState
	for _, name := range names {
		unit := unitName(name)
		var path dbus.ObjectPath
		if err := mgr.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.LoadUnit", 0, unit).Store(&path); err != nil {
			out = append(out, serviceState{Name: name, State: "unknown: " + err.Error()})
			continue
		}
		obj := conn.Object("org.freedesktop.systemd1", path)
		load, _ := obj.GetProperty("org.freedesktop.systemd1.Unit.LoadState")
		active, err := obj.GetProperty("org.freedesktop.systemd1.Unit.ActiveState")
		if err != nil {
			out = append(out, serviceState{Name: name, State: "unknown: " + err.Error()})
			continue
		}
		ls, _ := load.Value().(string)
		as, _ := active.Value().(string)
		st := serviceState{Name: name, State: as, Running: as == "active" || as == "reloading"}
		if ls == "not-found" {
			st.State = "not installed"
		}
		out = append(out, st)
	}
	return out, nil
}

func unitName(name string) string {
	if !strings.Contains(name, ".") {
		return name + ".service"
	}
	return name
}

func systemctlStates(ctx context.Context, names []string) ([]serviceState, error) {
	argv := []string{"systemctl", "show", "--property=Id,LoadState,ActiveState", "--"}
	for _, n := range names {
		argv = append(argv, unitName(n))
	}
	out, err := output(ctx, 10*time.Second, 64<<10, argv...)
	if err != nil {
		if first, _, _ := strings.Cut(strings.TrimSpace(out), "\n"); first != "" {
			return nil, fmt.Errorf("%w (%s)", err, first)
		}
		return nil, err
	}
	return ParseSystemctlShow(out, names), nil
}
