package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tierline/tierline/agent/crashes/crashtest"
)

// crashReadyAgent skips unless this machine's kernel logs faults where
// the agent can read them (root, exception-trace on).
func crashReadyAgent(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the agent reads the kernel log (/dev/kmsg) as root; run as root")
	}
	if b, err := os.ReadFile("/proc/sys/debug/exception-trace"); err == nil && strings.TrimSpace(string(b)) == "0" {
		t.Skip("the kernel does not log unhandled faults here (debug.exception-trace = 0)")
	}
}

type crashCheckDevice struct {
	Health []struct {
		Name     string `json:"name"`
		Status   string `json:"status"`
		Evidence []struct {
			Label string `json:"label"`
			Value string `json:"value"`
		} `json:"evidence"`
	} `json:"health"`
}

// TestCrashesReachGetHelpAndTicket: a real program crashes twice on the
// agent's machine; the agent reads it from the kernel's log, its
// app-crashing check names the program, the Get help page says
// "<program> crashed 2 times today" when the user picks "An application",
// and the ticket filed there carries the crashes in its snapshot.
func TestCrashesReachGetHelpAndTicket(t *testing.T) {
	needSelfHelpChromium(t)
	crashReadyAgent(t)
	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	a.run("--check-interval", "1s")
	eventually(t, "the agent online, reading the kernel log for app-crashing", 60*time.Second, func() bool {
		var d crashCheckDevice
		h.get("/api/v1/devices/"+a.id, &d)
		for _, c := range d.Health {
			for _, e := range c.Evidence {
				if c.Name == "app-crashing" && e.Label == "read" && strings.Contains(e.Value, "kernel-log") {
					return true
				}
			}
		}
		return false
	})

	// Twice: once less than app-crashing warns at, since every agent on
	// this machine (other tests' too) reads the same kernel log for a day.
	name := fmt.Sprintf("tlce%08x", rand.Uint32()) // a task name is at most 15 bytes
	bin := crashtest.Build(t, name)
	for range 2 {
		err := exec.Command(bin).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGSEGV {
			t.Fatalf("the crasher did not die of SIGSEGV: %v", err)
		}
	}
	_, link := startGetHelp(t, a.state)
	ctx := selfHelpBrowser(t)
	if err := uiDo(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("problem"))); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	// The agent reads the kernel log at most every 10 s; the page asks it
	// when it opens. Open it again until the crashes are there.
	sel := `#crashes [data-app=` + jsQuote(name) + `]`
	deadline := time.Now().Add(90 * time.Second)
	for {
		pageWait(t, ctx, "the diagnosis", `document.getElementById("diagnosis").children.length > 0 || document.getElementById("diag-busy").textContent.indexOf("No problems") === 0`)
		if err := uiDo(ctx, chromedp.Click(chromedp.ID("cat-application"))); err != nil {
			t.Fatal(err)
		}
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+jsQuote(sel)+`) !== null`))
		if err != nil {
			t.Fatal(err)
		}
		if shown {
			if err := uiDo(ctx, chromedp.SendKeys(chromedp.ID("problem"), "My program keeps closing")); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never named %s; it says:\n%s", name, pageText(t, ctx, "#app-crashes"))
		}
		if err := uiDo(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("problem"))); err != nil {
			t.Fatalf("reload the page: %v", err)
		}
	}
	said := pageText(t, ctx, sel)
	if !regexp.MustCompile(`^` + name + ` crashed 2 times (today|in the last 24 hours)\.$`).MatchString(said) {
		t.Errorf("the page says %q", said)
	}
	if s := pageText(t, ctx, "#tried"); !strings.Contains(s, name+" crashed 2 times") {
		t.Errorf("step 3 shows %q; want the crashes", s)
	}
	selfHelpShot(t, ctx, selfHelpShotDir(t), "crashes")

	if err := uiDo(ctx, chromedp.Click(chromedp.ID("file"))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the ticket number", `document.querySelector('#filed[data-state]') !== null`)
	var list struct {
		Tickets []struct {
			ID string `json:"id"`
		} `json:"tickets"`
	}
	h.get("/api/v1/tickets?device="+a.id, &list)
	if len(list.Tickets) != 1 {
		t.Fatalf("hub tickets %+v", list.Tickets)
	}
	var tk struct {
		Ticket struct {
			Category string `json:"category"`
			Snapshot struct {
				Crashes []struct {
					App     string `json:"app"`
					Crashes int    `json:"crashes"`
					Reason  string `json:"reason"`
					Source  string `json:"source"`
				} `json:"crashes"`
			} `json:"snapshot"`
		} `json:"ticket"`
	}
	h.get("/api/v1/tickets/"+list.Tickets[0].ID, &tk)
	found := false
	for _, c := range tk.Ticket.Snapshot.Crashes {
		if c.App == name {
			found = c.Crashes == 2 && c.Reason == "SIGSEGV" && c.Source == "kernel-log"
		}
	}
	if !found || tk.Ticket.Category != "application" {
		t.Errorf("ticket snapshot crashes %+v (category %q); want %s with 2 SIGSEGV crashes", tk.Ticket.Snapshot.Crashes, tk.Ticket.Category, name)
	}
}
