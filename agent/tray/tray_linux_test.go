package tray

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/selfhelp"
)

// TestMain runs the tray itself when started as the child of
// TestTrayOnDBus: fyne.io/systray keeps one tray per process, so the tray
// under test gets a process of its own on the test's private bus.
func TestMain(m *testing.M) {
	if dir := os.Getenv("TIERLINE_TRAY_CHILD"); dir != "" {
		os.Exit(trayChild(dir))
	}
	os.Exit(m.Run())
}

// trayChild serves a local socket answering as an agent would (a message
// and a consent request waiting, flush-dns suggested), runs the real Get
// help page against it and the tray; it prints what reaches the browser
// and the consent answers.
func trayChild(dir string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sock := filepath.Join(dir, localipc.SocketName)
	srv, err := localipc.Listen(sock, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	srv.HandleUser(localipc.OpStatus, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return localipc.Status{Connected: true, Hub: "127.0.0.1:1", Icon: localipc.IconMessage, PendingConsent: 1,
			Failing: []localipc.Check{}}, nil
	})
	srv.HandleUser(localipc.OpFixes, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return localipc.FixList{Fixes: []localipc.Fix{
			{ID: "restart-print-spooler", Title: "Restart printing", Applicable: true},
			{ID: "flush-dns", Title: "Flush DNS cache", Applicable: true, Addresses: []string{"dns-resolution"}},
			{ID: "reset-network", Title: "Reset network", Tier: 1, Applicable: true},
		}}, nil
	})
	srv.HandleUser(localipc.OpConsentPending, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return []localipc.ConsentItem{{RunID: "run-consent-1", Fix: "reset-network", Title: "Reset network",
			Technician: "tech1", Reason: "Restart this computer's network connections.", Expires: time.Now().Add(time.Minute)}}, nil
	})
	srv.HandleUser(localipc.OpConsentAnswer, func(ctx context.Context, body json.RawMessage) (any, error) {
		var a localipc.ConsentAnswerCall
		if err := json.Unmarshal(body, &a); err != nil {
			return nil, err
		}
		fmt.Printf("CONSENT %s allow=%v\n", a.RunID, a.Allow)
		return localipc.OK{OK: true}, nil
	})
	srv.HandleUser(localipc.OpTickets, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return []localipc.MyTicket{}, nil
	})
	go srv.Serve(ctx)
	var page *selfhelp.Server
	err = Run(ctx, Config{
		Socket: sock, Poll: 200 * time.Millisecond, Version: "test",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		HelpPage: func(context.Context) (string, error) {
			if page == nil {
				p, err := selfhelp.Start(ctx, selfhelp.Config{Socket: sock})
				if err != nil {
					return "", err
				}
				page = p
			}
			return page.URL(), nil
		},
		OpenURL: func(u string) error { fmt.Println("OPEN", u); return nil },
	})
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	return 0
}

// watcher is a minimal org.kde.StatusNotifierWatcher: no desktop runs one
// on the test's bus.
type watcher struct{ items chan [2]string }

func (w *watcher) RegisterStatusNotifierItem(service string, sender dbus.Sender) *dbus.Error {
	w.items <- [2]string{string(sender), service}
	return nil
}

// notifications is a minimal org.freedesktop.Notifications.
type notifications struct{ got chan notice }

type notice struct {
	id      uint32
	summary string
	actions []string
}

func (n *notifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	id := uint32(len(n.got) + 100)
	n.got <- notice{id: id, summary: summary, actions: actions}
	return id, nil
}

func startBus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon is not installed (Debian package dbus-daemon); the tray test needs a private session bus")
	}
	cmd := exec.Command(bin, "--session", "--print-address", "--nofork")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(addr)
}

type item struct {
	id       int32
	label    string
	hidden   bool
	children []item
}

// shown are the labels of the children a desktop would draw.
func (it item) shown() []string {
	var out []string
	for _, c := range it.children {
		if !c.hidden {
			out = append(out, c.label)
		}
	}
	return out
}

func parseLayout(v any) item {
	parts, _ := v.([]any)
	var it item
	if len(parts) < 3 {
		return it
	}
	it.id, _ = parts[0].(int32)
	if props, ok := parts[1].(map[string]dbus.Variant); ok {
		if l, ok := props["label"]; ok {
			it.label, _ = l.Value().(string)
		}
		if v, ok := props["visible"]; ok {
			visible, _ := v.Value().(bool)
			it.hidden = !visible
		}
	}
	kids, _ := parts[2].([]dbus.Variant)
	for _, k := range kids {
		it.children = append(it.children, parseLayout(k.Value()))
	}
	return it
}

func TestTrayOnDBus(t *testing.T) {
	addr := startBus(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := &watcher{items: make(chan [2]string, 4)}
	if err := conn.Export(w, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own the watcher name: %v %v", r, err)
	}
	n := &notifications{got: make(chan notice, 32)}
	if err := conn.Export(n, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own the notifications name: %v %v", r, err)
	}

	dir, err := os.MkdirTemp("", "tray") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(self, "-test.run=^$")
	child.Env = append(os.Environ(), "TIERLINE_TRAY_CHILD="+dir, "DBUS_SESSION_BUS_ADDRESS="+addr)
	child.Stderr = os.Stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	lines := make(chan string, 64)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	expect := func(what string, re *regexp.Regexp) string {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the tray exited before %s", what)
				}
				if strings.HasPrefix(l, "ERROR") {
					t.Fatalf("tray: %s", l)
				}
				if re.MatchString(l) {
					return l
				}
			case <-timeout:
				t.Fatalf("waiting for %s", what)
			}
		}
	}

	// The item registers with the watcher.
	var reg [2]string
	select {
	case reg = <-w.items:
	case <-time.After(60 * time.Second):
		t.Fatal("the tray never registered its StatusNotifierItem")
	}
	if reg[1] != "/StatusNotifierItem" {
		t.Errorf("registered %q, want the item's object path", reg[1])
	}
	itemObj := conn.Object(reg[0], "/StatusNotifierItem")
	if v, err := itemObj.GetProperty("org.kde.StatusNotifierItem.Title"); err != nil || v.Value() != "Tierline" {
		t.Errorf("item title %v %v", v, err)
	}

	// Its menu, read as a desktop would.
	menu := conn.Object(reg[0], "/StatusNotifierItem/menu")
	want := []string{LabelGetHelp, LabelTickets, LabelFixes, LabelStatus, LabelAbout}
	var root item
	deadline := time.Now().Add(60 * time.Second)
	for {
		call := menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
		if call.Err != nil {
			t.Fatalf("GetLayout: %v", call.Err)
		}
		root = parseLayout(call.Body[1])
		var labels []string
		for _, c := range root.children {
			labels = append(labels, c.label)
		}
		missing := ""
		for _, l := range want {
			found := false
			for _, got := range labels {
				if got == l || strings.HasPrefix(got, l+":") {
					found = true
				}
			}
			if !found {
				missing = l
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("menu has no %q: %q", missing, labels)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Fix it myself lists the Tier 0 fixes, the one for the failing check
	// first and marked; the Tier 1 fix is not there.
	wantFixes := []string{"Flush DNS cache (suggested)", "Restart printing"}
	for {
		var fixes []string
		for _, c := range root.children {
			if c.label == LabelFixes {
				fixes = c.shown()
			}
		}
		if strings.Join(fixes, "|") == strings.Join(wantFixes, "|") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Fix it myself shows %q, want %q", fixes, wantFixes)
		}
		time.Sleep(100 * time.Millisecond)
		call := menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
		if call.Err != nil {
			t.Fatalf("GetLayout: %v", call.Err)
		}
		root = parseLayout(call.Body[1])
	}

	// The consent request is a notification with Allow and Decline;
	// choosing Allow answers the agent.
	var consent notice
	for consent.id == 0 {
		select {
		case nt := <-n.got:
			if strings.Contains(nt.summary, "Reset network") {
				consent = nt
			}
		case <-time.After(60 * time.Second):
			t.Fatal("no consent notification")
		}
	}
	if strings.Join(consent.actions, ",") != "allow,Allow,decline,Decline" {
		t.Errorf("consent actions %q", consent.actions)
	}
	if err := conn.Emit("/org/freedesktop/Notifications", "org.freedesktop.Notifications.ActionInvoked", consent.id, "allow"); err != nil {
		t.Fatal(err)
	}
	expect("the consent answer", regexp.MustCompile(`^CONSENT run-consent-1 allow=true$`))

	// Clicking Get help opens the page: a loopback link with a token.
	var help int32
	for _, c := range root.children {
		if c.label == LabelGetHelp {
			help = c.id
		}
	}
	if call := menu.Call("com.canonical.dbusmenu.Event", 0, help, "clicked", dbus.MakeVariant(""), uint32(0)); call.Err != nil {
		t.Fatalf("click Get help: %v", call.Err)
	}
	l := expect("the Get help page to open", regexp.MustCompile(`^OPEN `))
	if !regexp.MustCompile(`^OPEN http://127\.0\.0\.1:\d+/\S*token=[A-Za-z0-9_-]{32,}`).MatchString(l) {
		t.Fatalf("opened %q, want a loopback link with a token", l)
	}
}
