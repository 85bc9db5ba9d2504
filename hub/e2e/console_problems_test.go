//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleProblemsAndTicketLinks: a Tier 3 engineer works a real
// agent's ticket in the browser: "Create problem from this ticket" opens
// the new problem's page, where the root cause and workaround are written
// and the ticket is listed; the Problems page lists it as a known error.
// A collect-logs run on the ticket brings a log bundle; resolving with a
// knowledge-base draft links the draft. The ticket page then links to its
// problem, its draft and its bundle (which downloads), and says the
// resolution with one full stop.
func TestConsoleProblemsAndTicketLinks(t *testing.T) {
	h := startHub(t)
	const pw = "tier three problems pw"
	conAddUser(t, h, "eli", "tier3", pw)
	a := enroll(t, h.tokenCreate())
	a.run("--check-interval", "1h")
	eventually(t, "the agent online", 60*time.Second, func() bool {
		var d device
		return h.get("/api/v1/devices/"+a.id, &d) == 200 && d.Online
	})
	filed := helpCmd(t, a, "No websites load since the router was replaced")
	if filed.TicketID == "" {
		t.Fatalf("no ticket number from help: %+v", filed)
	}
	id := filed.TicketID

	b := newConsoleBrowser(t)
	b.login(h, "eli", pw)
	b.open(h, "/tickets/"+id, "#problem-create-form")
	b.do("create a problem from the ticket",
		chromedp.SetValue(chromedp.CSS(`#problem-create-form input[name=title]`), "Branch router drops DNS"),
		chromedp.Click(chromedp.CSS(`#problem-create-form button`)))
	b.waitJS("the new problem's page", `!!document.getElementById("problem-form")`)
	b.waitText("#problem-title", "Branch router drops DNS")
	b.waitText("#problem-tickets", fmt.Sprintf("#%d", filed.Number))
	b.do("write the root cause and workaround",
		chromedp.SendKeys(chromedp.CSS(`#problem-form textarea[name=root_cause]`), "The new router's DNS proxy drops EDNS queries"),
		chromedp.SendKeys(chromedp.CSS(`#problem-form textarea[name=workaround]`), "Use the secondary resolver"),
		chromedp.SetValue(chromedp.CSS(`#problem-form select[name=state]`), "known_error"),
		chromedp.Click(chromedp.CSS(`#problem-form button`)))
	b.waitText("#problem-root-cause", "drops EDNS queries")
	b.waitText("#problem-workaround", "Use the secondary resolver")
	b.waitText("#problem-state", "known_error")
	b.shot("problem")
	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))
	b.fitsWidth("a problem's page")
	b.open(h, "/problems", "#problems")
	b.fitsWidth("/problems")
	b.do("desktop width", chromedp.EmulateViewport(1280, 900))
	if s := b.text("#problems"); !strings.Contains(s, "Branch router drops DNS") || !strings.Contains(s, "known_error") {
		t.Errorf("the Problems page lists %q", s)
	}

	// A log bundle collected on the ticket.
	code, r := h.requestRun(h.token, a.id, `{"fix":"collect-logs","params":{"hours":1,"max_mib":1},"ticket":"`+id+`"}`)
	if code != 202 {
		t.Fatalf("collect-logs: %d %+v", code, r)
	}
	if r = h.waitRun(h.token, r.ID); r.Outcome != "succeeded" || r.BundleName == "" {
		t.Fatalf("collect-logs: %s %q bundle %q", r.Outcome, r.Reason, r.BundleName)
	}

	// Resolved with a knowledge-base draft; the note ends with its own
	// full stop.
	b.open(h, "/tickets/"+id, "#resolve-form")
	b.do("resolve with a draft",
		chromedp.SendKeys(chromedp.CSS(`#resolve-form textarea[name=resolution]`), "Switched the branch to the secondary resolver."),
		chromedp.Click(chromedp.CSS(`#resolve-form input[name=kb]`)),
		chromedp.Click(chromedp.CSS(`#resolve-form button[type=submit]`)))
	b.waitJS("the resolved ticket", `!!document.getElementById("ticket-outcome")`)
	if s := b.text("#ticket-outcome"); s != "The ticket is resolved: Switched the branch to the secondary resolver." {
		t.Errorf("the resolved ticket says %q", s)
	}
	b.waitJS("the draft linked", `!!document.querySelector("#related-kb a[href^='/kb/']")`)
	if s := b.text("#related-problem"); !strings.Contains(s, "Branch router drops DNS") {
		t.Errorf("the ticket's problem shows %q", s)
	}
	if href := b.eval(`document.querySelector("#related-problem a").getAttribute("href")`); !strings.HasPrefix(href, "/problems/") {
		t.Errorf("the problem link goes to %q", href)
	}
	bundle := fmt.Sprintf(`#related-bundles a[href="/api/v1/runs/%s/bundle"]`, r.ID)
	b.waitJS("the bundle linked", fmt.Sprintf(`!!document.querySelector(%q)`, bundle))
	if s := b.text("#related-bundles"); !strings.Contains(s, r.BundleName) {
		t.Errorf("the bundle shows as %q, want its name %q", s, r.BundleName)
	}
	// The link downloads the gzip the agent uploaded, with the session.
	got := b.eval(fmt.Sprintf(`fetch(document.querySelector(%q).href, {credentials: "same-origin"}).then(function (res) {
		return res.arrayBuffer().then(function (buf) { var u = new Uint8Array(buf); return res.status + " " + u.length + " " + u[0] + "," + u[1]; });
	})`, bundle))
	if !strings.HasPrefix(got, "200 ") || !strings.HasSuffix(got, " 31,139") {
		t.Errorf("downloading the bundle: %q, want 200 and a gzip", got)
	}
	b.shot("ticket-related")
	b.noXSS("problem and ticket pages")
}
