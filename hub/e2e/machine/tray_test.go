package machine

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPackagedTrayApart: the .deb installs two programs. The service that
// systemd runs is built as the benchmarks measure it (no cgo, no HTTP/2,
// no tray or page code); the tray program sits beside it, the session's
// autostart entry starts it, and a user who types `tierline-agent gethelp`
// gets the Get help page from it, talking to the packaged service.
func TestPackagedTrayApart(t *testing.T) {
	p := newPC(t, pcOptions{})
	inMachine := func(path string) string { return fmt.Sprintf("/proc/%d/root%s", p.m.Leader, path) }

	agent, err := buildinfo.ReadFile(inMachine("/usr/bin/tierline-agent"))
	if err != nil {
		t.Fatalf("the installed agent: %v", err)
	}
	for _, d := range agent.Deps {
		if d.Path == "fyne.io/systray" {
			t.Errorf("the installed service links %s", d.Path)
		}
	}
	settings := map[string]string{}
	for _, s := range agent.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-tags"] != "nethttpomithttp2" {
		t.Errorf("the installed service was built with CGO_ENABLED=%q -tags=%q; want 0 and nethttpomithttp2", settings["CGO_ENABLED"], settings["-tags"])
	}
	tray, err := buildinfo.ReadFile(inMachine("/usr/bin/tierline-tray"))
	if err != nil {
		t.Fatalf("the installed tray: %v", err)
	}
	if tray.Path != "github.com/tierline/tierline/agent/cmd/tierline-tray" {
		t.Errorf("/usr/bin/tierline-tray is %s", tray.Path)
	}

	desktop, err := os.ReadFile(inMachine("/etc/xdg/autostart/tierline-tray.desktop"))
	if err != nil || !strings.Contains(string(desktop), "\nExec=/usr/bin/tierline-tray\n") {
		t.Errorf("the tray's autostart entry: %v\n%s", err, desktop)
	}

	// The service as systemd runs it: how much memory, and that it is the
	// packaged binary (logged for docs/benchmarks.md; the budget is a
	// benchmark's, not a test's).
	pid := strings.TrimSpace(p.exec("systemctl", "show", "--value", "--property", "MainPID", "tierline-agent"))
	if exe, err := os.Readlink(inMachine("/proc/" + pid + "/exe")); err != nil || exe != "/usr/bin/tierline-agent" {
		t.Errorf("the service's program: %q, %v", exe, err)
	}
	if rollup, err := os.ReadFile(inMachine("/proc/" + pid + "/smaps_rollup")); err == nil {
		t.Logf("the packaged service under systemd: %s", regexp.MustCompile(`(?m)^(Rss|Anonymous):\s+\d+ kB$`).FindAllString(string(rollup), -1))
	}

	// A user, not root, asks for the page from a shell: the agent runs the
	// tray program beside it, which serves the page for the packaged
	// service's socket.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := p.m.Command(ctx, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"timeout", "120", "/usr/bin/tierline-agent", "gethelp", "--no-browser")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Ending nsenter leaves the page serving in the machine until the
	// machine stops; do not wait for it to close the output.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/open\?token=[A-Za-z0-9_-]+`)
	eventually(t, "tierline-agent gethelp, run by a user, to print the page's link", 60*time.Second, func() bool {
		return link.MatchString(out.String())
	})
	// The page's process is tierline-tray, as that user.
	ps := p.exec("ps", "-o", "user=,args=", "-C", "tierline-tray")
	if !strings.Contains(ps, "gethelp --no-browser") || !strings.HasPrefix(strings.TrimSpace(ps), "nobody") {
		t.Errorf("the page's process: %q; want tierline-tray gethelp as nobody", ps)
	}
}

// lockedBuffer collects a command's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
