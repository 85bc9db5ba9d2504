package health

import (
	"context"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// serviceStates asks systemd over the system D-Bus (no exec of systemctl):
// LoadUnit then the unit's ActiveState and LoadState.
func serviceStates(ctx context.Context, names []string) ([]serviceState, error) {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("connect to systemd over D-Bus: %w", err)
	}
	defer conn.Close()
	mgr := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	var out []serviceState
	for _, name := range names {
		unit := name
		if !strings.Contains(unit, ".") {
			unit += ".service"
		}
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
