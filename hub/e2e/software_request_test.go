//go:build linux

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/software"
)

// TestSoftwareRequestConsole: a software request decided in the console,
// with the real hub and agent processes and chromium. The organisation
// signs two catalog entries and publishes them; an admin makes request
// templates naming them; the user asks for both with `tierline-agent
// software request`. A Tier 1 technician opens the first request, sees
// the entry it names and clicks "Approve and install": the hub queues
// install-software on the device through the runner, and the agent's
// answer comes back on the ticket (the entries are dnf packages, and this
// Debian host has no dnf: the agent says so, and installs nothing here;
// the real install with apt is hub/e2e/machine
// TestSoftwareRequestApproval). The technician refuses the second with a
// note: the ticket is resolved and the user reads the note with
// `tierline-agent tickets`.
func TestSoftwareRequestConsole(t *testing.T) {
	if _, err := exec.LookPath("dnf"); err == nil {
		t.Skip("dnf is installed here: the test's entries would install packages on this host")
	}
	h := startHub(t)
	const techPW = "software tier one pw"
	conAddUser(t, h, "tom", "tier1", techPW)
	keys := t.TempDir()
	must(t, "", "tierline-hub", "recipe", "keygen", "--out", keys)
	a := enroll(t, h.tokenCreate("--recipe-key", filepath.Join(keys, orgdoc.PublicKeyFile)))
	a.run("--check-interval", "1h")
	eventually(t, "the agent online", 60*time.Second, func() bool {
		var d device
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online
	})
	for _, e := range []software.Entry{
		{ID: "visio", Version: 1, Title: "Visio (test)", Manager: software.DNF, Package: "visio-test"},
		{ID: "gimp", Version: 1, Title: "GIMP (test)", Manager: software.DNF, Package: "gimp-test"},
	} {
		raw, _ := json.Marshal(e)
		file := filepath.Join(t.TempDir(), e.ID+".json")
		if err := os.WriteFile(file, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		must(t, "", "tierline-hub", "recipe", "sign", "--key", filepath.Join(keys, orgdoc.PrivateKeyFile), file)
		h.cli("recipe", "add", "--groups", "*", strings.TrimSuffix(file, ".json")+".signed.json")
		body := `{"name": "` + e.Title + `", "tier": 1, "fields": [], "software": "` + e.ID + `"}`
		var resp struct {
			Error string `json:"error"`
		}
		if code := h.do("POST", "/api/v1/request-templates", h.token, strings.NewReader(body), &resp); code != http.StatusCreated {
			t.Fatalf("template for %s: %d %s", e.ID, code, resp.Error)
		}
	}
	eventually(t, "both entries accepted by the agent", 60*time.Second, func() bool {
		var list struct {
			Recipes []struct {
				ID       string `json:"id"`
				Kind     string `json:"kind"`
				Accepted int    `json:"accepted"`
			} `json:"recipes"`
		}
		h.get("/api/v1/recipes", &list)
		n := 0
		for _, r := range list.Recipes {
			if r.Kind == "software" && r.Accepted == 1 {
				n++
			}
		}
		return n == 2
	})

	// Get help lists the catalog under "Request something": here neither
	// entry can be installed (no dnf), and the page says why.
	_, link := startGetHelp(t, a.state)
	gh := selfHelpBrowser(t)
	if err := uiDo(gh, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("mode-request")),
		chromedp.Click(chromedp.ID("mode-request")), chromedp.WaitVisible(chromedp.CSS(`#software [data-entry="visio"]`))); err != nil {
		t.Fatalf("Get help's Install software: %v", err)
	}
	if s := pageText(t, gh, `#software [data-entry="visio"]`); !strings.Contains(s, "Visio (test)") ||
		!strings.Contains(s, "Cannot be installed here") || !strings.Contains(s, "dnf is not on this computer") {
		t.Errorf("Get help shows the entry as %q", s)
	}
	if dis, err := chromedp.Run(gh, chromedp.Evaluate[bool](`document.querySelector('[data-install="visio"]').disabled`)); err != nil || !dis {
		t.Errorf("the Install button of an entry that cannot be installed here is enabled (%v)", err)
	}

	// The user asks for both.
	ticketFor := map[string]string{}
	for _, id := range []string{"visio", "gimp"} {
		out := must(t, "", "tierline-agent", "software", "--state", a.state, "request", id)
		if !strings.Contains(out, "Ticket #") {
			t.Fatalf("request %s: %s", id, out)
		}
	}
	eventually(t, "both requests on the hub", 30*time.Second, func() bool {
		var list struct {
			Tickets []struct {
				ID string `json:"id"`
			} `json:"tickets"`
		}
		h.get("/api/v1/tickets?type=request&device="+a.id, &list)
		for _, tk := range list.Tickets {
			var v struct {
				Ticket struct {
					Request *struct{ Software string } `json:"request"`
				} `json:"ticket"`
			}
			if h.get("/api/v1/tickets/"+tk.ID, &v) == http.StatusOK && v.Ticket.Request != nil {
				ticketFor[v.Ticket.Request.Software] = tk.ID
			}
		}
		return ticketFor["visio"] != "" && ticketFor["gimp"] != ""
	})

	b := newConsoleBrowser(t)
	b.login(h, "tom", techPW)
	b.open(h, "/tickets/"+ticketFor["visio"], "#software-form")
	if s := b.text("#software-entry"); s != "visio" {
		t.Errorf("the ticket names entry %q", s)
	}
	b.shot("software-request")
	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))
	b.fitsWidth("/tickets/" + ticketFor["visio"])
	b.do("desktop width", chromedp.EmulateViewport(1280, 900))
	b.open(h, "/tickets/"+ticketFor["visio"], "#software-form")
	b.do("approve", chromedp.Click(chromedp.ID("software-approve")))
	// The approval queues the run on the ticket (the page stays put until
	// then: leaving it would cancel the request).
	eventually(t, "the approved install queued on the ticket", 30*time.Second, func() bool {
		var runs struct {
			Runs []struct{ Fix string } `json:"runs"`
		}
		h.get("/api/v1/runs?ticket="+ticketFor["visio"], &runs)
		return len(runs.Runs) == 1 && runs.Runs[0].Fix == "install-software"
	})
	// The agent's answer arrives as the run's result.
	eventually(t, "the agent's answer to the approved install", 60*time.Second, func() bool {
		var runs struct {
			Runs []struct{ Fix, State string } `json:"runs"`
		}
		h.get("/api/v1/runs?ticket="+ticketFor["visio"], &runs)
		return len(runs.Runs) == 1 && runs.Runs[0].State == "done"
	})
	// The page reloads itself when the ticket changes: read it until it
	// shows the result.
	var runsText string
	eventually(t, "the agent's answer on the ticket page", 30*time.Second, func() bool {
		b.open(h, "/tickets/"+ticketFor["visio"], "#runs")
		runsText = b.text("#runs")
		return strings.Contains(runsText, "not_applicable")
	})
	if !strings.Contains(runsText, "install-software by tom") || !strings.Contains(runsText, "dnf is not on this computer") {
		t.Errorf("the run on the ticket page: %q", runsText)
	}
	if b.eval(`String(document.getElementById("software-form") !== null)`) != "true" {
		// The ticket stays open until the technician resolves it.
		t.Errorf("the approved request's ticket is no longer open")
	}
	var audit struct {
		Events []struct{ Action, Actor, Target string }
	}
	h.get("/api/v1/audit?action=software.", &audit)
	if len(audit.Events) != 1 || audit.Events[0].Action != "software.approve" || audit.Events[0].Actor != "tom" {
		t.Errorf("audit after the approval: %+v", audit.Events)
	}

	// Refused in the console, with a note.
	b.open(h, "/tickets/"+ticketFor["gimp"], "#software-form")
	b.do("refuse with a note",
		chromedp.SendKeys(chromedp.CSS(`#software-form input[name=note]`), "Use the licensed image editor instead."),
		chromedp.Click(chromedp.ID("software-refuse")))
	eventually(t, "the refused request resolved", 30*time.Second, func() bool {
		var v struct {
			Ticket struct{ State string } `json:"ticket"`
		}
		h.get("/api/v1/tickets/"+ticketFor["gimp"], &v)
		return v.Ticket.State == "resolved"
	})
	eventually(t, "the user reads the refusal", 30*time.Second, func() bool {
		out := must(t, "", "tierline-agent", "tickets", "--state", a.state)
		return strings.Contains(out, "Your request to install GIMP (test) was not approved. Use the licensed image editor instead.")
	})
}
