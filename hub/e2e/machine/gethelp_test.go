//go:build linux

package machine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tierline/tierline/scripts/testmachine/nspawn"
)

const getHelpChromium = "/usr/bin/chromium"

// TestGetHelpOrdersFixes: on a Debian desktop with CUPS, systemd-resolved
// and systemd-networkd, a user opens Get help (the page runs in the
// machine as that user, against the packaged agent's socket) and reads it
// in chromium. Picking "Printing" puts the printing fixes first, after any
// fix for a problem the diagnosis found; picking "Cannot connect" puts the
// DNS and network fixes there instead. A fix that does not apply here
// (renew-dhcp: the address is static, there is no lease) is never offered.
func TestGetHelpOrdersFixes(t *testing.T) {
	need(t)
	if _, err := os.Stat(getHelpChromium); err != nil {
		t.Skipf("Debian's chromium is not installed at %s; the Get help page test needs it", getHelpChromium)
	}
	p := newPC(t, pcOptions{Env: map[string]string{"TIERLINE_INTERVAL": "1s", "TIERLINE_CHECK_INTERVAL": "2s"}})
	p.exec("useradd", "--create-home", "alice")

	// The page, as the tray starts it, run by alice in the machine.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := p.m.Command(ctx, "runuser", "-u", "alice", "--", "tierline-agent", "gethelp", "--no-browser")
	out := &ghOutput{}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = out
	// Killing nsenter leaves the page running in the machine until the
	// machine stops; Wait does not wait for its output meanwhile.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	go func() { _, _ = io.Copy(out, stdout) }()
	re := regexp.MustCompile(`http://127\.0\.0\.1:(\d+)/open\?token=[A-Za-z0-9_-]+`)
	var m []string
	eventually(t, "the page to print its link", 60*time.Second, func() bool {
		m = re.FindStringSubmatch(out.String())
		return m != nil
	})
	link, port := m[0], m[1]

	// chromium runs on this host; a relay on the same loopback port here
	// reaches the page on the machine's loopback, so the page sees the
	// Host and Origin it expects.
	ln, err := net.Listen("tcp4", "127.0.0.1:"+port)
	if err != nil {
		t.Skipf("port %s is taken on this host, so the page cannot be relayed: %v", port, err)
	}
	t.Cleanup(func() { ln.Close() })
	go ghRelay(ln, fmt.Sprintf("/proc/%d/ns/net", p.m.Leader), "127.0.0.1:"+port)

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]), chromedp.ExecPath(getHelpChromium), chromedp.NoSandbox,
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("no-pings", true),
		chromedp.Flag("dns-prefetch-disable", true), chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1100, 1000), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelAlloc() })
	bctx, cancelT := context.WithTimeout(bctx, 4*time.Minute)
	t.Cleanup(cancelT)
	if err := chromedp.Do(bctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("problem"))); err != nil {
		t.Fatalf("open the page: %v\npage output:\n%s", err, out.String())
	}
	wait := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(90*time.Second))); err != nil {
			body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, body)
		}
	}
	type shown struct{ ID, For string }
	list := func() []shown {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](`Array.prototype.map.call(document.querySelectorAll("#fixes [data-fix]"),
			function(e){return e.getAttribute("data-fix")+"="+(e.getAttribute("data-for")||"")}).join(" ")`))
		if err != nil {
			t.Fatal(err)
		}
		var out []shown
		for _, f := range strings.Fields(s) {
			id, why, _ := strings.Cut(f, "=")
			out = append(out, shown{id, why})
		}
		return out
	}
	// check picks cat and waits until the first fix listed for no
	// problem found is want[0], there for the category.
	check := func(cat string, want []string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("cat-"+cat))); err != nil {
			t.Fatal(err)
		}
		first := fmt.Sprintf(`(function(){var l=document.querySelectorAll("#fixes [data-fix]");
			for (var i=0;i<l.length;i++){ var f=l[i].getAttribute("data-for"); if (f!=="failing" && f!=="warning") { return l[i].getAttribute("data-fix")===%q && l[i].getAttribute("data-for")==="category"; } }
			return false})()`, want[0])
		wait(cat+" fixes first", first)
		got := list()
		t.Logf("%s: Get help lists %v", cat, got)
		// Fixes for a problem found come first, failing before warning;
		// then the category's, in want's order; then the rest.
		stage := 0
		var mine []string
		for _, s := range got {
			st := map[string]int{"failing": 0, "warning": 1, "category": 2, "": 3}[s.For]
			if st < stage {
				t.Errorf("%s: %s (%q) comes after a fix of a later group: %v", cat, s.ID, s.For, got)
			}
			stage = st
			if s.For == "category" {
				mine = append(mine, s.ID)
			}
			if s.For == "" && slices.Contains(want, s.ID) {
				t.Errorf("%s: %s belongs to the category but is listed with the rest: %v", cat, s.ID, got)
			}
		}
		var wantShown []string
		for _, id := range want {
			if slices.ContainsFunc(got, func(s shown) bool { return s.ID == id && s.For == "category" }) || !slices.ContainsFunc(got, func(s shown) bool { return s.ID == id }) {
				wantShown = append(wantShown, id)
			}
		}
		if !slices.Equal(mine, wantShown) {
			t.Errorf("%s: the category's fixes are listed as %v, want %v (the fixes for a problem found aside)", cat, mine, wantShown)
		}
		for _, s := range got {
			if s.ID == "renew-dhcp" {
				t.Errorf("%s: Get help offers renew-dhcp on a machine with static addresses, where it does not apply", cat)
			}
		}
		shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err == nil {
			dir := os.Getenv("TIERLINE_SCREENSHOTS")
			if dir == "" {
				dir = os.TempDir()
			}
			path := filepath.Join(dir, "selfhelp-machine-"+cat+".png")
			if os.WriteFile(path, shot, 0o644) == nil {
				t.Logf("screenshot: %s", path)
			}
		}
	}
	wait("the fixes listed", `document.querySelector("#fixes [data-fix]") !== null`)
	check("printing", []string{"resume-printer", "cancel-print-jobs", "restart-print-spooler"})
	check("cannot-connect", []string{"flush-dns", "restart-resolver"})
	// Back to printing: the page asks again and the order follows.
	check("printing", []string{"resume-printer", "cancel-print-jobs", "restart-print-spooler"})

	// A printer is paused for real (a CUPS queue on the machine's own
	// loopback, disabled). Whatever the user picks, the fix for the
	// problem the diagnosis found comes first: resume-printer heads the
	// list under "Cannot connect", before the DNS fixes.
	p.exec("lpadmin", "-p", "office", "-E", "-v", "ipp://127.0.0.1:631/printers/nowhere")
	p.exec("cupsdisable", "-r", "paper jam", "office")
	resumeFirst := `(function(){var l=document.querySelector("#fixes [data-fix]");
		return !!l && l.getAttribute("data-fix")==="resume-printer" && l.getAttribute("data-for")==="failing"})()`
	deadline := time.Now().Add(90 * time.Second)
	for {
		// Picking a category asks the agent again, with its latest checks.
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("cat-slow")), chromedp.Click(chromedp.ID("cat-cannot-connect"))); err != nil {
			t.Fatal(err)
		}
		pctx, cancelP := context.WithTimeout(bctx, 3*time.Second)
		_, err := chromedp.Run(pctx, chromedp.Poll[bool](resumeFirst))
		cancelP()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			st, _ := p.try("lpstat", "-p")
			t.Fatalf("with a printer paused (lpstat: %q), Get help under Cannot connect lists %v; want resume-printer first, for the problem found", st, list())
		}
	}
	// The problem shows in the diagnosis too, not only beside its fix.
	wait("the paused printer in the diagnosis", `document.querySelector('#diagnosis [data-check="printer-stopped"]') !== null`)
	// restart-print-spooler, which the check does not name but which
	// verifies it, follows; then the category's fixes.
	check("cannot-connect", []string{"flush-dns", "restart-resolver"})
	if got := list(); len(got) < 2 || got[1] != (shown{"restart-print-spooler", "failing"}) {
		t.Errorf("with a printer paused, Get help lists %v; want restart-print-spooler second, for the problem found", got)
	}
}

// ghOutput collects a process's output for the test to read while it
// runs.
type ghOutput struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *ghOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *ghOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// ghRelay copies each connection accepted on ln to addr inside the
// network namespace at nsPath (the machine's), until ln is closed.
func ghRelay(ln net.Listener, nsPath, addr string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			up, err := ghDialIn(nsPath, addr)
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, bufio.NewReader(c)); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	}
}

// ghDialIn connects to addr from inside the network namespace at nsPath.
func ghDialIn(nsPath, addr string) (c net.Conn, err error) {
	err = nspawn.InNetns(nsPath, func() error {
		c, err = net.DialTimeout("tcp4", addr, 10*time.Second)
		return err
	})
	return c, err
}
