package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSites runs a real hub and two real agents in two sites, set up with
// the admin verbs (token create --site, user add --sites, apitoken create
// --sites, device site): a Tier 1 technician of one site sees, searches,
// runs fixes on and is told live of that site's devices and tickets only,
// by API and in the console; an admin moves a device across, audited.
func TestSites(t *testing.T) {
	h := startHub(t)
	a := enroll(t, h.tokenCreate("--site", "alpha"))
	b := enroll(t, h.tokenCreate("--site", "beta"))
	a.run()
	b.run()
	const pw = "ana's long password"
	must(t, pw+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "ana", "--role", "tier1", "--sites", "alpha")
	ana := must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "ana")
	ana = strings.TrimSpace(ana)
	// A token never exceeds its user's sites.
	if out, errOut, code := run(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "ana", "--sites", "beta"); code == 0 || !strings.Contains(errOut, "narrow its user's sites") {
		t.Fatalf("a token of ana for beta: exit %d\n%s%s", code, out, errOut)
	}
	// An admin's token narrowed to beta.
	adminBeta := strings.TrimSpace(must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "admin", "--sites", "beta"))

	type devs struct {
		Devices []struct{ ID, Hostname, Site string }
	}
	ids := func(token, path string) []string {
		var d devs
		if code := h.do("GET", path, token, nil, &d); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		var out []string
		for _, x := range d.Devices {
			out = append(out, x.ID+"@"+x.Site)
		}
		return out
	}
	eventually(t, "both devices listed for the admin", 30*time.Second, func() bool { return len(ids(h.token, "/api/v1/devices")) == 2 })
	if got := ids(ana, "/api/v1/devices"); len(got) != 1 || got[0] != a.id+"@alpha" {
		t.Errorf("ana's devices: %v, want only %s@alpha", got, a.id)
	}
	if got := ids(ana, "/api/v1/fleet/devices?q="); len(got) != 1 || got[0] != a.id+"@alpha" {
		t.Errorf("ana's device search: %v, want only %s@alpha", got, a.id)
	}
	if got := ids(adminBeta, "/api/v1/devices"); len(got) != 1 || got[0] != b.id+"@beta" {
		t.Errorf("the beta admin token's devices: %v", got)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/devices/" + b.id, ""},
		{"GET", "/api/v1/devices/" + b.id + "/telemetry", ""},
		{"POST", "/api/v1/devices/" + b.id + "/runs", `{"fix":"flush-dns","params":{}}`},
		{"POST", "/api/v1/devices/" + b.id + "/checks", `{}`},
	} {
		var e struct{ Code string }
		if code := h.do(c.method, c.path, ana, strings.NewReader(c.body), &e); code != 404 {
			t.Errorf("%s %s as ana: %d, want 404", c.method, c.path, code)
		}
	}
	if code := h.do("GET", "/api/v1/users", adminBeta, nil, &struct{}{}); code != 403 {
		t.Errorf("GET /api/v1/users with the beta admin token: %d, want 403", code)
	}
	var run struct{ Run struct{ ID string } }
	if code := h.do("POST", "/api/v1/devices/"+a.id+"/runs", ana, strings.NewReader(`{"fix":"flush-dns","params":{}}`), &run); code != 202 {
		t.Errorf("a fix on alpha's device as ana: %d, want 202", code)
	}

	// Ana's queue in the browser: a ticket of beta filed before one of
	// alpha never shows; alpha's arrives live.
	br := newConsoleBrowser(t)
	br.login(h, "ana", pw)
	br.open(h, "/queue?tier=1", "#queue")
	must(t, "", "tierline-agent", "help", "--state", b.state, "beta printer jammed")
	must(t, "", "tierline-agent", "help", "--state", a.state, "alpha screen flickers")
	type tks struct {
		Tickets []struct {
			ID, Title, Site string
			DeviceID        string `json:"device_id"`
		}
	}
	var all tks
	eventually(t, "both tickets filed", 30*time.Second, func() bool {
		h.get("/api/v1/tickets", &all)
		return len(all.Tickets) == 2
	})
	var aTicket, bTicket string
	for _, tk := range all.Tickets {
		switch tk.DeviceID {
		case a.id:
			aTicket = tk.ID
			if tk.Site != "alpha" {
				t.Errorf("alpha's ticket is in site %q", tk.Site)
			}
		case b.id:
			bTicket = tk.ID
			if tk.Site != "beta" {
				t.Errorf("beta's ticket is in site %q", tk.Site)
			}
		}
	}
	br.waitJS("alpha's ticket in ana's queue", fmt.Sprintf(`!!document.querySelector('#queue-rows tr[data-id=%q]')`, aTicket))
	if got := br.eval(fmt.Sprintf(`String(!!document.querySelector('#queue-rows tr[data-id=%q]'))`, bTicket)); got != "false" {
		t.Errorf("beta's ticket shows in ana's queue")
	}
	if page := br.eval(`document.body.innerText`); strings.Contains(page, "beta printer") {
		t.Errorf("ana's queue shows beta's ticket text")
	}
	var mine tks
	h.do("GET", "/api/v1/tickets?q="+url.QueryEscape("printer"), ana, nil, &mine)
	if len(mine.Tickets) != 0 {
		t.Errorf("ana's ticket search for beta's words: %+v", mine.Tickets)
	}
	br.open(h, "/tickets/"+bTicket, "main")
	if page := br.eval(`document.body.innerText`); !strings.Contains(page, "Not found") || strings.Contains(page, "beta printer") {
		t.Errorf("beta's ticket page for ana:\n%s", page)
	}
	br.shot("sites-queue")

	// The admin moves beta's device to alpha: ana then sees it and its
	// open ticket; the move is audited.
	must(t, "", "tierline-hub", "device", "site", "--data", h.data, b.id, "alpha")
	if got := ids(ana, "/api/v1/devices"); len(got) != 2 {
		t.Errorf("ana's devices after the move: %v", got)
	}
	var one struct{ Ticket struct{ Site string } }
	if code := h.do("GET", "/api/v1/tickets/"+bTicket, ana, nil, &one); code != 200 || one.Ticket.Site != "alpha" {
		t.Errorf("the moved device's ticket for ana: %d site %q", code, one.Ticket.Site)
	}
	var audit struct {
		Events []struct {
			Action, Target string
			Detail         map[string]any
		}
	}
	h.get("/api/v1/audit?action=device.site", &audit)
	if len(audit.Events) != 1 || audit.Events[0].Target != b.id || audit.Events[0].Detail["from"] != "beta" || audit.Events[0].Detail["to"] != "alpha" {
		t.Errorf("device.site audit: %+v", audit.Events)
	}

	// An admin in the console's sites page: ana now works beta only, and
	// alpha's first device moves to beta.
	const bossPW = "the boss's long password"
	must(t, bossPW+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "boss", "--role", "admin")
	br.logout()
	br.login(h, "boss", bossPW)
	br.open(h, "/admin/sites", "#site-users")
	anaRow := `#site-users tr[data-user="ana"]`
	br.do("set ana's sites to beta",
		chromedp.SetValue(chromedp.CSS(anaRow+" input"), "beta"),
		chromedp.Click(chromedp.CSS(anaRow+" button")))
	br.waitText("#toast", "ana works beta")
	if got := ids(ana, "/api/v1/devices"); len(got) != 0 {
		t.Errorf("ana's devices after she works beta only: %v", got)
	}
	devRow := fmt.Sprintf(`#site-devices tr[data-device=%q]`, a.id)
	br.do("move alpha's device to beta",
		chromedp.SetValue(chromedp.CSS(devRow+" input"), "beta"),
		chromedp.Click(chromedp.CSS(devRow+" button")))
	br.waitText("#toast", "Moved from alpha to beta")
	if got := ids(ana, "/api/v1/devices"); len(got) != 1 || got[0] != a.id+"@beta" {
		t.Errorf("ana's devices after the move in the console: %v", got)
	}
	br.do("a bad site name", chromedp.SetValue(chromedp.CSS(devRow+" input"), "no spaces"), chromedp.Click(chromedp.CSS(devRow+" button")))
	br.waitText("#sites-error", "give a name of 1 to 64 letters")
	br.shot("sites-admin")
	h.get("/api/v1/audit?action=user.sites", &audit)
	if len(audit.Events) != 1 || audit.Events[0].Detail["to"] != "beta" {
		t.Errorf("user.sites audit: %+v", audit.Events)
	}
}
