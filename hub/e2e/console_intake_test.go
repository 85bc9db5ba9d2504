//go:build linux

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleNewTicket: a Tier 1 technician takes a phone call in the
// console. From the caller's computer's page, "New ticket for this
// computer" opens the intake form; filed, the ticket page shows how it came
// in and the health checks the computer ran for it. From the queue, a
// walk-in without a device files a ticket that says it has no computer.
// The form fits a phone's width; a refused form says why and files nothing.
func TestConsoleNewTicket(t *testing.T) {
	h := startHub(t)
	const pw = "tier one intake pw"
	conAddUser(t, h, "sam", "tier1", pw)
	a := enroll(t, h.tokenCreate())
	a.run("--check-interval", "1h")
	var d device
	eventually(t, "the device online with its first checks", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online && len(d.Health) > 0
	})

	// Tier 1 assigns round robin; sam says he is available in the header.
	if code := h.do("PUT", "/api/v1/settings/assignment", h.token, strings.NewReader(`{"tiers":{"1":"round_robin"}}`), nil); code != http.StatusOK {
		t.Fatalf("set assignment: %d", code)
	}
	b := newConsoleBrowser(t)
	b.login(h, "sam", pw)
	b.open(h, "/devices/"+a.id, "#device-new-ticket")
	b.waitText("#availability", "Away")
	b.do("say available", chromedp.Click(chromedp.CSS(`#availability`)))
	b.waitText("#availability", "Available")
	b.do("open the intake form from the device",
		chromedp.Click(chromedp.CSS(`#device-new-ticket`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-ticket textarea[name=text]`)))
	if s := b.text("#new-ticket"); !strings.Contains(s, "online, its health checks run when you file the ticket") {
		t.Errorf("the form for an online device says %q", s)
	}
	b.do("fill in the call",
		chromedp.SendKeys(chromedp.CSS(`#new-ticket input[name=requester]`), "maria"),
		chromedp.SendKeys(chromedp.CSS(`#new-ticket textarea[name=text]`), "Outlook asks for my password again and again"),
		chromedp.SetValue(chromedp.CSS(`#new-ticket select[name=category]`), "sign-in"),
		chromedp.SetValue(chromedp.CSS(`#new-ticket select[name=urgency]`), "1"),
		chromedp.Click(chromedp.CSS(`#new-ticket-file`)))
	b.waitJS("the new ticket's page", `document.getElementById("snapshot-checks") !== null`)
	id := b.eval(`document.getElementById("ticket").getAttribute("data-id")`)
	eventually(t, "the new ticket assigned to sam, the available Tier 1 technician", 30*time.Second, func() bool {
		var d ticketDetail
		h.get("/api/v1/tickets/"+id, &d)
		return d.Ticket.Assignee == "sam"
	})
	b.open(h, "/tickets/"+id, "#ticket-assignee")
	b.waitText("#ticket-assignee", "sam")
	if s := b.text("#timeline"); !strings.Contains(s, "auto-assign") || !strings.Contains(s, "Assigned to sam") {
		t.Errorf("the timeline does not say who assigned it: %q", s)
	}
	b.waitText("#ticket-title", "maria: Outlook asks for my password again and again")
	b.waitText("#ticket-channel", "phone call")
	if s := b.text("#snapshot-checks"); !strings.Contains(s, "disk-almost-full") {
		t.Errorf("the ticket's health checks show %q", s)
	}
	if s := b.text("#ticket-priority"); s != "P3" { // impact 3 (one person) + urgency 1 (work stopped) - 1
		t.Errorf("priority %q, want P3", s)
	}
	b.shot("new-ticket-device")

	// A walk-in without a device; first a form the hub refuses.
	b.open(h, "/queue", "#queue-new-ticket")
	b.do("open the intake form from the queue",
		chromedp.Click(chromedp.CSS(`#queue-new-ticket`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-ticket textarea[name=text]`)))
	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))
	b.fitsWidth("/tickets/new")
	b.shot("new-ticket-phone")
	b.do("desktop width", chromedp.EmulateViewport(1280, 900))
	b.do("send a text of only spaces",
		chromedp.SendKeys(chromedp.CSS(`#new-ticket input[name=requester]`), "Bo Berg"),
		chromedp.SendKeys(chromedp.CSS(`#new-ticket textarea[name=text]`), "   "),
		chromedp.Click(chromedp.CSS(`#new-ticket-file`)))
	b.waitText("#new-ticket-error", "text is required")
	var list struct{ Tickets []ticketJSON }
	if h.get("/api/v1/tickets?channel=phone", &list); len(list.Tickets) != 1 {
		t.Errorf("%d phone tickets after a refused form, want 1", len(list.Tickets))
	}
	b.do("describe the problem and file it as a walk-in",
		chromedp.SendKeys(chromedp.CSS(`#new-ticket textarea[name=text]`), "My laptop won't boot"),
		chromedp.SetValue(chromedp.CSS(`#new-ticket select[name=channel]`), "walk-in"),
		chromedp.Click(chromedp.CSS(`#new-ticket-file`)))
	b.waitText("#ticket-channel", "walk-in visit")
	b.waitText("#no-snapshot", "No computer: the ticket was filed for a person")
	b.noXSS("new ticket pages")
}
