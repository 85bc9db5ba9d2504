//go:build linux

package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The admin-side console pages in chromium against a real hub and agent:
// an admin creates an enrollment token in the page and a real agent
// enrolls with it; the admin creates a Tier 1 user, who then cannot open
// the admin or fleet pages (and the server refuses them too); the device
// page shows the agent's hostname, health checks and a telemetry chart; a
// knowledge-base article full of markup renders literally, runs nothing,
// and goes from draft through review to published. A routing rule sends
// the agent's ticket to a named queue, which the queue page shows and
// filters by (and so does the API). The admin creates a vendor in the page
// (an API error shows next to the form), sees it listed with its hostile
// name as text and its secret nowhere, and disables it. At phone width
// (390 px) no page scrolls sideways.

// status fetches path from the page (with the session) and returns the
// HTTP status: what the server answers whatever the page shows.
func (b *consoleBrowser) status(method, path string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`fetch(%q, {method: %q, credentials: "same-origin", headers: {"X-CSRF-Token": window.tierline.csrf, "Content-Type": "application/json"}, body: %s}).then(function(r){return String(r.status)})`,
		path, method, map[bool]string{true: "undefined", false: `"{}"`}[method == "GET"]))
}

// phoneWidth is the width of the phone the console must fit.
const phoneWidth = 390

// fitsWidth checks that the page does not scroll sideways at phone width:
// document.documentElement.scrollWidth <= window.innerWidth + 1, and the
// window is the phone's width (a phone browser lays out a page that is
// too wide on a wider window and zooms out). On failure it names the
// elements that stick out.
func (b *consoleBrowser) fitsWidth(where string) {
	b.t.Helper()
	got := b.eval(fmt.Sprintf(`(function(){var phone=%d, w=window.innerWidth, d=document.documentElement.scrollWidth;
		if (w <= phone + 1 && d <= w + 1) { return "ok"; }
		var out=[];
		document.querySelectorAll("body *").forEach(function(e){var r=e.getBoundingClientRect();
			if (r.right > phone + 1 && out.length < 8) { out.push(e.tagName.toLowerCase()+(e.id?"#"+e.id:"")+(e.className&&typeof e.className==="string"?"."+e.className.split(" ").join("."):"")+" right="+Math.round(r.right)); }});
		return "laid out " + w + " px wide, scrollWidth " + d + ": " + out.join(", ");})()`, phoneWidth))
	if got != "ok" {
		b.t.Errorf("%s at phone width scrolls sideways: %s", where, got)
	}
}

func TestConsoleAdmin(t *testing.T) {
	h := startHub(t)
	const adminPW, tier1PW = "admin console pw 1", "tier one console pw"
	must(t, adminPW+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "boss", "--role", "admin")
	b := newConsoleBrowser(t)
	b.login(h, "boss", adminPW)

	// Enrollment token, created in the page and shown once.
	b.open(h, "/admin", "#token-form")
	b.do("create an enrollment token",
		chromedp.SetValue(chromedp.CSS(`#token-form input[name=note]`), "e2e laptop"),
		chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)))
	b.waitJS("the new token", `document.getElementById("new-token").textContent.length > 20`)
	token := strings.TrimSpace(b.text("#new-token"))
	// Listed at once, without a reload, while the secret stays on screen.
	b.waitText("#token-rows", "e2e laptop")
	if s := b.text("#new-token"); strings.TrimSpace(s) != token {
		t.Errorf("the token's secret left the screen when the list was refreshed: %q", s)
	}
	b.shot("admin")

	// A real agent enrolls with it and reports.
	a := enroll(t, token)
	a.run()
	var dev device
	eventually(t, "the agent online with health checks and telemetry", 60*time.Second, func() bool {
		dev = device{}
		h.get("/api/v1/devices/"+a.id, &dev)
		return dev.Online && len(dev.Health) > 0 && len(h.telemetry(a.id, time.Now().Add(-time.Hour))) >= 2
	})

	// A fix run on it (ending a real process) and a ticket filed from it.
	victim := sleeper(t)
	code, run := h.requestRun(h.token, a.id, fmt.Sprintf(`{"fix":"end-process","params":{"pid":%d},"consent_obtained":true}`, victim.Process.Pid))
	if code != 202 {
		t.Fatalf("end-process: %d %+v", code, run)
	}
	if run = h.waitRun(h.token, run.ID); run.Outcome != "succeeded" && run.Outcome != "fixed" {
		t.Fatalf("end-process outcome %s: %s", run.Outcome, run.Reason)
	}
	// A routing rule sends printing tickets to the "printers" queue.
	if code := h.do("PUT", "/api/v1/settings/ticket-routing", h.token,
		strings.NewReader(`{"rules":[{"name":"printers","category":"printing","tier":1,"queue":"printers"}]}`), nil); code != 200 {
		t.Fatalf("set routing rules: %d", code)
	}
	must(t, "", "tierline-agent", "help", "--state", a.state, "--category", "printing", "The printer on floor 2 jams")
	var ticketID string
	eventually(t, "the ticket filed", 30*time.Second, func() bool {
		var ts struct{ Tickets []struct{ ID, Queue string } }
		h.get("/api/v1/tickets?device="+a.id, &ts)
		if len(ts.Tickets) == 1 {
			ticketID = ts.Tickets[0].ID
			if ts.Tickets[0].Queue != "printers" {
				t.Errorf("the ticket went to queue %q, want printers", ts.Tickets[0].Queue)
			}
		}
		return len(ts.Tickets) == 1
	})
	// The API filters by queue.
	for q, want := range map[string]int{"printers": 1, "network": 0} {
		var ts struct{ Tickets []struct{ ID string } }
		if code := h.get("/api/v1/tickets?queue="+url.QueryEscape(q), &ts); code != 200 || len(ts.Tickets) != want {
			t.Errorf("GET /api/v1/tickets?queue=%s: %d, %d tickets, want %d", q, code, len(ts.Tickets), want)
		}
	}
	// The queue page shows the queue on the row and filters by it.
	b.open(h, "/queue?tier=1", "#queue-filter")
	row := fmt.Sprintf(`#queue-rows tr[data-id=%q]`, ticketID)
	b.waitText(row+" .queue-name", "printers")
	b.do("filter by the printers queue",
		chromedp.SetValue(chromedp.CSS(`#queue-filter`), "printers"),
		chromedp.Submit(chromedp.CSS(`#queue-filter`)),
		// Only the server marks the option selected: the filtered page.
		chromedp.WaitReady(chromedp.CSS(`#queue-filter option[selected][value=printers]`)))
	b.waitJS("the filtered queue", `location.search.includes("queue=printers") && !!document.querySelector(`+fmt.Sprintf("%q", row)+`)`)
	b.shot("queue-named")
	b.open(h, "/queue?tier=1&queue=network", "#queue-filter")
	b.waitJS("an empty network queue", `!document.getElementById("queue-empty").hidden && document.querySelectorAll("#queue-rows tr").length === 0`)

	// The token is used up on the admin page.
	b.open(h, "/admin", "#token-rows")
	b.waitText("#token-rows", "used up")

	// A Tier 1 user, created in the page.
	b.do("create a tier1 user",
		chromedp.SetValue(chromedp.CSS(`#user-form input[name=name]`), "tina"),
		chromedp.SetValue(chromedp.CSS(`#user-form select[name=role]`), "tier1"),
		chromedp.SetValue(chromedp.CSS(`#user-form input[name=password]`), tier1PW),
		chromedp.Click(chromedp.CSS(`#user-form button[type=submit]`)))
	b.waitJS("tina in the user list", `!!document.querySelector('#user-rows tr[data-user="tina"]')`)
	if role := b.eval(`document.querySelector('#user-rows tr[data-user="tina"] select').value`); role != "tier1" {
		t.Errorf("tina's role on the page: %q", role)
	}

	// A vendor, created in the page: the API's refusal shows next to the
	// form; the hostile name is listed as text; the secret is nowhere on
	// the page; then it is disabled.
	const vendorName = `Acme <img src=x onerror=window.__xss=3> "printers"`
	const vendorSecret = "e2e-vendor-webhook-secret-0123456789"
	b.do("a vendor without a contact",
		chromedp.SetValue(chromedp.CSS(`#vendor-form input[name=name]`), vendorName),
		chromedp.Click(chromedp.CSS(`#vendor-form button[type=submit]`)))
	b.waitText("#vendor-form .error", "give the vendor an email, a webhook_url or both")
	b.do("create a vendor",
		chromedp.SetValue(chromedp.CSS(`#vendor-form input[name=email]`), "support@acme.example"),
		chromedp.SetValue(chromedp.CSS(`#vendor-form input[name=webhook_url]`), "https://acme.example/hooks/tierline"),
		chromedp.SetValue(chromedp.CSS(`#vendor-form input[name=webhook_secret]`), vendorSecret),
		chromedp.SetValue(chromedp.CSS(`#vendor-form input[name=contract_ref]`), "CT-2026-7"),
		chromedp.SetValue(chromedp.CSS(`#vendor-form input[name=response_target]`), "8h"),
		chromedp.Click(chromedp.CSS(`#vendor-form button[type=submit]`)))
	vendorRow := fmt.Sprintf(`Array.prototype.find.call(document.querySelectorAll("#vendor-rows tr[data-vendor]"), function(tr){return tr.getAttribute("data-vendor") === %q})`, vendorName)
	b.waitJS("the vendor listed", `!!`+vendorRow)
	if got := b.eval(`(` + vendorRow + `).cells[0].textContent`); got != vendorName {
		t.Errorf("vendor name on the page %q, want %q", got, vendorName)
	}
	if got := b.eval(`(` + vendorRow + `).textContent`); !strings.Contains(got, "support@acme.example") || !strings.Contains(got, "active") || !strings.Contains(got, "signed") {
		t.Errorf("vendor row: %q", got)
	}
	if n := b.eval(`String(document.querySelectorAll("#vendors img").length)`); n != "0" {
		t.Errorf("the vendor name made %s img elements", n)
	}
	if b.eval(`String(document.documentElement.outerHTML.includes(`+fmt.Sprintf("%q", vendorSecret)+`))`) != "false" {
		t.Error("the admin page shows the vendor's webhook secret")
	}
	b.noXSS("vendor list")
	var vs struct {
		Vendors []struct {
			Name      string
			HasSecret bool `json:"has_secret"`
		}
	}
	if h.get("/api/v1/vendors", &vs); len(vs.Vendors) != 1 || vs.Vendors[0].Name != vendorName || !vs.Vendors[0].HasSecret {
		t.Errorf("vendors in the API: %+v", vs.Vendors)
	}
	b.shot("admin-vendors")
	// Edited in the page: the secret left empty keeps the stored one.
	b.eval(`document.querySelector("#vendor-rows tr.vendor-edit details").open = true; "ok"`)
	b.do("edit the vendor",
		chromedp.SetValue(chromedp.CSS(`#vendor-rows tr.vendor-edit input[name=contract_ref]`), "CT-2026-8"),
		chromedp.Click(chromedp.CSS(`#vendor-rows tr.vendor-edit button[type=submit]`)))
	b.waitJS("the edited vendor", `(function(){var tr=`+vendorRow+`;return !!tr && tr.textContent.includes("CT-2026-8")})()`)
	if h.get("/api/v1/vendors", &vs); len(vs.Vendors) != 1 || !vs.Vendors[0].HasSecret {
		t.Errorf("after the edit the vendor lost its secret: %+v", vs.Vendors)
	}
	// The confirm dialog is answered yes by the page itself, so that a
	// dialog seen by noXSS can only come from injected script.
	b.eval(`window.confirm = function () { return true; }; "ok"`)
	b.do("disable the vendor", chromedp.Click(chromedp.CSS(`#vendor-rows button.danger[data-api$="/disable"]`)))
	b.waitJS("the vendor disabled", `(function(){var tr=`+vendorRow+`;return !!tr && tr.textContent.includes("disabled") && !!tr.querySelector('button[data-api$="/enable"]')})()`)
	if h.get("/api/v1/vendors", &vs); len(vs.Vendors) != 0 {
		t.Errorf("a disabled vendor is still offered: %+v", vs.Vendors)
	}
	b.noXSS("vendor disabled")

	// The device page: hostname, health checks, a telemetry chart.
	b.open(h, "/devices/"+a.id, "#device-hostname")
	if got := b.text("#device-hostname"); got != dev.Hostname || got == "" {
		t.Errorf("device page hostname %q, want %q", got, dev.Hostname)
	}
	b.waitText("#device-online", "online")
	checks := b.text("#health")
	found := false
	for _, c := range dev.Health {
		if strings.Contains(checks, c.Name) {
			found = true
		}
	}
	if !found || !(strings.Contains(checks, "ok") || strings.Contains(checks, "failing") || strings.Contains(checks, "warning")) {
		t.Errorf("device page health checks: %q (API: %+v)", checks, dev.Health)
	}
	// The latest sample follows the device without a reload.
	b.waitJS("the latest sample, in UTC as the rest of the page", `/Latest sample at \d\d:\d\d:\d\d UTC: CPU/.test(document.getElementById("device-latest").textContent)`)
	b.waitText("#device-tickets", "printer on floor 2")
	b.waitText("#fix-history", "end-process")
	b.waitJS("a drawn CPU line", `(function(){var p=document.querySelector("#charts polyline.s-cpu");return !!p && p.getAttribute("points").split(" ").length >= 1 && p.getAttribute("points") !== ""})()`)
	b.shot("device")
	b.do("24h range", chromedp.Click(chromedp.CSS(`#charts .ranges a[href$="range=24h"]`)), chromedp.WaitVisible(chromedp.CSS(`#charts .ranges a.active[href$="range=24h"]`)))
	b.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.open(h, "/devices/"+a.id, "#device-hostname")
	b.shot("device-phone")
	b.do("desktop width", chromedp.EmulateViewport(1280, 900))

	// Fleet health: one device, online.
	b.open(h, "/fleet", "#failing-checks")
	if got := b.text("#devices-total") + "/" + b.text("#devices-online"); got != "1/1" {
		t.Errorf("fleet devices total/online: %s", got)
	}
	b.waitText("#tickets-by-tier", "Tier 1")
	b.waitText("#fix-rates", "end-process")
	b.shot("fleet")

	// A knowledge-base article with markup payloads: the preview and the
	// page show them as text; nothing runs; it goes through review to
	// published.
	body := "# Printer jams\n\n<script>window.__xss=1</script>\n\n<img src=x onerror=window.__xss=2>\n\n- Open tray 2\n- Remove the paper\n\n[x](javascript:alert(1)) and [the manual](https://printers.example/manual)"
	b.open(h, "/kb/new", "#kb-form")
	b.do("write the article",
		chromedp.SendKeys(chromedp.CSS(`#kb-title-input`), `Printer <b>jams</b> on floor 2`),
		chromedp.SetValue(chromedp.CSS(`#kb-body-input`), body),
		// SetValue fires no input event; type one character to trigger
		// the preview the way a user does.
		chromedp.SendKeys(chromedp.CSS(`#kb-body-input`), "\n"))
	b.waitText("#kb-preview", "<script>window.__xss=1</script>")
	if n := b.eval(`String(document.querySelectorAll("#kb-preview script, #kb-preview img, #kb-preview a[href^=javascript]").length)`); n != "0" {
		t.Errorf("the preview made %s script/img/javascript-link elements", n)
	}
	if href := b.eval(`(document.querySelector("#kb-preview a")||{}).href||""`); href != "https://printers.example/manual" {
		t.Errorf("preview link %q", href)
	}
	b.shot("kb-edit")
	b.do("save the draft", chromedp.Click(chromedp.CSS(`#kb-save`)), chromedp.WaitVisible(chromedp.CSS(`#kb-body`)))
	b.waitText("#kb-state", "draft")
	if got := b.text("#kb-body"); !strings.Contains(got, "<script>window.__xss=1</script>") || !strings.Contains(got, "[x](javascript:alert(1))") ||
		!strings.Contains(got, "<img src=x onerror=window.__xss=2>") {
		t.Errorf("article body does not show the markup literally:\n%s", got)
	}
	if got := b.text("#kb-title"); got != "Printer <b>jams</b> on floor 2" {
		t.Errorf("article title %q", got)
	}
	if n := b.eval(`String(document.querySelectorAll("#kb-body script, #kb-body img, #kb-body a[href^=javascript]").length)`); n != "0" {
		t.Errorf("the article page made %s script/img/javascript-link elements", n)
	}
	b.noXSS("knowledge-base article")
	b.do("mark reviewed", chromedp.Click(chromedp.CSS(`#kb-actions button[data-state=reviewed]`)))
	b.waitText("#kb-state", "reviewed")
	b.do("publish", chromedp.Click(chromedp.CSS(`#kb-actions button[data-state=published]`)))
	b.waitText("#kb-state", "published")
	b.shot("kb")
	b.noXSS("after publishing")

	// SLA settings, edited on the admin page's form in words, are in force;
	// a limit written wrong is refused with the hub's words and changes
	// nothing.
	b.open(h, "/admin#settings", "#sla-limits tr[data-tier='1'] input[name=resolve]")
	b.waitText("#sla-settings .settings-status", "In force now")
	b.do("set Tier 1 to 20 minutes and P1 tickets in it to 5 minutes",
		chromedp.SetValue(chromedp.CSS(`#sla-limits tr[data-tier='1'] input[name=resolve]`), "20 min"),
		chromedp.Click(chromedp.CSS(`#sla-add-priority`)),
		chromedp.SetValue(chromedp.CSS(`#sla-limits tr[data-priority] input[name=resolve]`), "5 min"),
		// Mark the rows drawn now: the hub's answer draws them anew.
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("#sla-limits tbody tr").forEach(function (tr) { tr.dataset.before = "1"; })`),
		chromedp.Click(chromedp.CSS(`#sla-settings button[type=submit]`)))
	type slaView struct {
		TierLimits string `json:"tier_limits"`
	}
	eventually(t, "the SLA setting stored", 30*time.Second, func() bool {
		var sla slaView
		h.get("/api/v1/settings/sla", &sla)
		return sla.TierLimits == "1=20 min,2=4 h,3=2 d,1/P1=5 min"
	})
	b.waitJS("the form drawn again from what is in force", `(function(){var i=document.querySelector("#sla-limits tr[data-priority] input[name=resolve]");return !!i && !i.closest("tr").dataset.before && i.value === "5 min"})()`)
	b.do("write a limit the hub cannot read",
		chromedp.SetValue(chromedp.CSS(`#sla-limits tr[data-tier='2'] input[name=resolve]`), "soon"),
		chromedp.Click(chromedp.CSS(`#sla-settings button[type=submit]`)))
	b.waitText("#sla-settings .error", "write a number and a unit")
	var sla slaView
	if h.get("/api/v1/settings/sla", &sla); sla.TierLimits != "1=20 min,2=4 h,3=2 d,1/P1=5 min" {
		t.Errorf("a refused form changed the SLA: %q", sla.TierLimits)
	}

	// Routing rules, added as a row of fields.
	b.open(h, "/admin#settings", "#routing-add")
	b.waitText("#routing-settings .settings-status", "in force")
	b.do("add a rule sending printing tickets to the printers queue",
		chromedp.Click(chromedp.CSS(`#routing-add`)),
		chromedp.SetValue(chromedp.CSS(`#routing-rules tr:last-child input[name=name]`), "printers"),
		chromedp.SetValue(chromedp.CSS(`#routing-rules tr:last-child input[name=category]`), "printing"),
		chromedp.SetValue(chromedp.CSS(`#routing-rules tr:last-child input[name=queue]`), "printers"),
		chromedp.Click(chromedp.CSS(`#routing-settings button[type=submit]`)))
	eventually(t, "the routing rule stored", 30*time.Second, func() bool {
		var r struct {
			Rules []struct{ Name, Category, Queue string } `json:"rules"`
		}
		h.get("/api/v1/settings/ticket-routing", &r)
		for _, x := range r.Rules {
			if x.Name == "printers" && x.Category == "printing" && x.Queue == "printers" {
				return true
			}
		}
		return false
	})
	// Automatic assignment: Tier 2 by fewest open tickets.
	b.waitText("#assignment-settings .settings-status", "Off in every tier")
	b.do("assign Tier 2 by fewest open tickets",
		chromedp.SetValue(chromedp.CSS(`#assignment-settings select[name=tier2]`), "fewest_open"),
		chromedp.Click(chromedp.CSS(`#assignment-settings button[type=submit]`)))
	b.waitText("#assignment-settings .settings-status", "tier 2: fewest open")
	var as struct{ Tiers map[string]string }
	if h.get("/api/v1/settings/assignment", &as); as.Tiers["2"] != "fewest_open" || len(as.Tiers) != 1 {
		t.Errorf("assignment stored: %v", as.Tiers)
	}
	b.shot("admin-settings")

	b.open(h, "/admin/audit?action=article.", "#audit-rows")
	b.waitText("#audit-rows", "article.state")
	b.shot("admin-audit")

	// Phone width: nothing scrolls sideways.
	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))
	for _, p := range [][3]string{{"/fleet", "#fix-rates", "fleet"}, {"/kb", "#kb-results", "kb"}, {"/admin", "#vendor-rows", "admin"},
		{"/admin/audit?action=vendor.", "#audit-rows", "admin-audit"}, {"/queue?tier=1", "#queue", "queue-named"},
		{"/reports", "#report-tiles", "reports"}} {
		b.open(h, p[0], p[1])
		if p[0] == "/admin" {
			b.waitText("#routing-settings .settings-status", "in force")
		}
		b.fitsWidth(p[0])
		b.shot(p[2] + "-phone")
	}
	b.logout()
	b.fitsWidth("/login")
	b.shot("login-phone")
	b.do("desktop width", chromedp.EmulateViewport(1280, 900))

	// Tier 1: no admin or fleet nav, the pages are refused, and so are the
	// admin API routes; the published article is readable.
	b.login(h, "tina", tier1PW)
	if nav := b.text("nav.nav"); strings.Contains(nav, "Admin") || strings.Contains(nav, "Fleet") {
		t.Errorf("tier1 nav offers %q", nav)
	}
	for _, p := range []string{"/admin", "/fleet", "/admin/audit"} {
		b.open(h, p, "main")
		b.waitText("main", "needs the")
		if st := b.status("GET", p); st != "403" {
			t.Errorf("tier1 GET %s: %s, want 403", p, st)
		}
	}
	for _, r := range [][2]string{{"GET", "/api/v1/users"}, {"POST", "/api/v1/users"}, {"POST", "/api/v1/tokens"}, {"GET", "/api/v1/fleet/health"}, {"POST", "/api/v1/apitokens"}} {
		if st := b.status(r[0], r[1]); st != "403" {
			t.Errorf("tier1 %s %s: %s, want 403", r[0], r[1], st)
		}
	}
	b.open(h, "/kb", "main")
	b.waitText("#kb-results", "Printer <b>jams</b> on floor 2")
	b.noXSS("tier1 knowledge base")
}
