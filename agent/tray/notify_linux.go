package tray

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/godbus/dbus/v5"
)

// dbusNotifier shows notifications through org.freedesktop.Notifications
// on the session bus and delivers the user's choice of action.
type dbusNotifier struct {
	conn *dbus.Conn
	log  *slog.Logger

	mu      sync.Mutex
	actions map[uint32]func(string)
}

const (
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = "/org/freedesktop/Notifications"
	notifyIface = "org.freedesktop.Notifications"
)

func platformNotifier(log *slog.Logger) Notifier {
	n, err := newDBusNotifier(log)
	if err != nil {
		log.Info("desktop notifications unavailable; the tray's menu and the Get help page still work", "err", err)
		return nil
	}
	return n
}

// newDBusNotifier connects to the session bus (a connection of its own,
// apart from the tray icon's).
func newDBusNotifier(log *slog.Logger) (*dbusNotifier, error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, fmt.Errorf("session bus: %w", err)
	}
	n := &dbusNotifier{conn: conn, log: log, actions: map[uint32]func(string){}}
	if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(notifyPath), dbus.WithMatchInterface(notifyIface)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("watch notification signals: %w", err)
	}
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	go n.signals(ch)
	return n, nil
}

func (n *dbusNotifier) signals(ch chan *dbus.Signal) {
	for sig := range ch {
		switch sig.Name {
		case notifyIface + ".ActionInvoked":
			if len(sig.Body) < 2 {
				continue
			}
			id, _ := sig.Body[0].(uint32)
			key, _ := sig.Body[1].(string)
			n.mu.Lock()
			f := n.actions[id]
			delete(n.actions, id)
			n.mu.Unlock()
			if f != nil {
				go f(key)
			}
		case notifyIface + ".NotificationClosed":
			if len(sig.Body) < 1 {
				continue
			}
			id, _ := sig.Body[0].(uint32)
			n.mu.Lock()
			delete(n.actions, id)
			n.mu.Unlock()
		}
	}
}

// Notify shows n. Actions are pairs of key and label, as the
// specification wants them.
func (n *dbusNotifier) Notify(note Notification) error {
	var actions []string
	for _, a := range note.Actions {
		actions = append(actions, a.Key, a.Label)
	}
	if actions == nil {
		actions = []string{}
	}
	hints := map[string]dbus.Variant{}
	if len(note.Actions) > 0 {
		hints["urgency"] = dbus.MakeVariant(byte(2)) // stays until answered
	}
	var id uint32
	// Hold the lock across the call so an immediate ActionInvoked finds
	// the callback.
	n.mu.Lock()
	defer n.mu.Unlock()
	err := n.conn.Object(notifyName, notifyPath).Call(notifyIface+".Notify", 0,
		"Tierline", uint32(0), "", note.Title, note.Body, actions, hints, int32(-1)).Store(&id)
	if err != nil {
		return fmt.Errorf("show a notification: %w", err)
	}
	if note.OnAction != nil && len(note.Actions) > 0 {
		n.actions[id] = note.OnAction
	}
	return nil
}

func (n *dbusNotifier) Close() error { return n.conn.Close() }
