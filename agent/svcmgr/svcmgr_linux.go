package svcmgr

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
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

// Query asks systemd over the system D-Bus first (no exec), on a
// connection it keeps: LoadUnit, then each unit's ActiveState and
// NRestarts, and, only for a unit that is not running or has been
// restarted, its LoadState, SubState, how its main process last ended
// (ExecMainCode, ExecMainStatus, Result), its MainPID and when it entered
// its state: a healthy unit costs three calls, as the check runs every
// minute. When the bus is not reachable it falls
// back to one `systemctl show` for all units (systemd's private socket);
// when that fails too, the states are unknown and Query returns the
// error. A name without a suffix means its .service unit.
func Query(ctx context.Context, names []string) ([]Status, error) {
	conn, err := queryBus.get()
	if err != nil {
		st, serr := systemctlStates(ctx, names)
		if serr != nil {
			return nil, fmt.Errorf("connect to systemd over D-Bus: %w; systemctl: %w", err, serr)
		}
		return st, nil
	}
	mgr := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	out := make([]Status, 0, len(names))
	for _, name := range names {
		out = append(out, busStatus(ctx, conn, mgr, name))
	}
	return out, nil
}

// keptBus is a system bus connection kept between calls: service-stopped
// queries every minute, and connecting (authenticating, Hello) costs as
// much CPU as the queries themselves.
type keptBus struct {
	mu   sync.Mutex
	conn *dbus.Conn
}

var queryBus keptBus

// get returns the kept connection, connecting again when it is closed
// (dbus restarted). Connecting gives up after 10 s.
func (b *keptBus) get() (*dbus.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil && b.conn.Connected() {
		return b.conn, nil
	}
	b.conn = nil
	// The connection lives as long as its context: one that is never
	// cancelled once connected.
	ctx, cancel := context.WithCancel(context.Background())
	t := time.AfterFunc(10*time.Second, cancel)
	conn, err := connectBus(dbus.WithContext(ctx))
	if !t.Stop() || err != nil {
		cancel()
		if err == nil {
			conn.Close()
			err = errors.New("connecting to the system bus took more than 10 s")
		}
		return nil, err
	}
	b.conn = conn
	return conn, nil
}

// reset closes the kept connection; tests call it when they replace
// connectBus.
func (b *keptBus) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil {
		b.conn.Close()
		b.conn = nil
	}
}

// busStatus reads one unit's Status over the bus.
func busStatus(ctx context.Context, conn *dbus.Conn, mgr dbus.BusObject, name string) Status {
	var path dbus.ObjectPath
	if err := mgr.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.LoadUnit", 0, UnitName(name)).Store(&path); err != nil {
		return Status{Name: name, State: "unknown: " + err.Error()}
	}
	obj := conn.Object("org.freedesktop.systemd1", path)
	get := func(iface, prop string, into any) error {
		return obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, iface, prop).Store(into)
	}
	const unit, service = "org.freedesktop.systemd1.Unit", "org.freedesktop.systemd1.Service"
	var load, active, sub string
	if err := get(unit, "ActiveState", &active); err != nil {
		return Status{Name: name, State: "unknown: " + err.Error()}
	}
	st := Status{Name: name, State: active, Running: active == "active" || active == "reloading"}
	var restarts uint32
	if get(service, "NRestarts", &restarts) == nil {
		st.Restarts, st.RestartsKnown = int(restarts), true
	}
	if st.Running && restarts == 0 {
		// Healthy: nothing more to show, and this runs every minute.
		return st
	}
	if _ = get(unit, "LoadState", &load); load == "not-found" {
		return Status{Name: name, State: "not installed"}
	}
	if get(unit, "SubState", &sub) == nil {
		st.Sub, st.Restarting = sub, sub == "auto-restart"
	}
	var pid uint32
	var code, status int32
	var result string
	var since uint64
	if get(service, "MainPID", &pid) == nil && st.Running {
		st.PID = int(pid)
	}
	if get(service, "ExecMainCode", &code) == nil && get(service, "ExecMainStatus", &status) == nil {
		_ = get(service, "Result", &result)
		st.Exit = mainExit(int(code), int(status), result)
	}
	if get(unit, "StateChangeTimestamp", &since) == nil && since > 0 {
		st.Since = time.UnixMicro(int64(since))
	}
	return st
}

func systemctlStates(ctx context.Context, names []string) ([]Status, error) {
	argv := []string{"systemctl", "show", "--property=" + ShowProperties, "--"}
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
	return ParseSystemctlShow(out, names, time.Local), nil
}

// LastLog returns the last lines the journal holds for the service name
// (`journalctl --unit=UNIT -n MaxLogLines -o cat`: the service's own output
// and systemd's lines about it), bounded by ParseLog.
func LastLog(ctx context.Context, name string) ([]string, error) {
	out, err := output(ctx, 5*time.Second, 16<<10, "journalctl", "--no-pager", "--quiet", "-n", strconv.Itoa(MaxLogLines), "-o", "cat", "--unit="+UnitName(name))
	if err != nil {
		if first := firstLine(out); first != "" {
			return nil, fmt.Errorf("%w (%s)", err, first)
		}
		return nil, err
	}
	return ParseLog(out), nil
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
