//go:build linux

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRequestTemplateEndToEnd: an admin makes a service request template
// in the console (three typed fields, Tier 2, P3); on a real agent's Get
// help page the user chooses "Request something", picks it, is told a
// required answer is missing, fills the fields and sends; the request
// arrives on the hub as a Tier 2 request with the answers; a Tier 2
// technician sees it in the Tier 2 queue and reads the answers on its
// page, markup in them shown as text.
func TestRequestTemplateEndToEnd(t *testing.T) {
	needSelfHelpChromium(t)
	h := startHub(t)
	const adminPW, techPW = "templates admin pw", "templates tier two pw"
	conAddUser(t, h, "ada", "admin", adminPW)
	conAddUser(t, h, "tess", "tier2", techPW)
	a := enroll(t, h.tokenCreate())
	a.run("--check-interval", "1h")
	eventually(t, "the agent online", 60*time.Second, func() bool {
		var d device
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online
	})

	// The admin writes the template in the console.
	b := newConsoleBrowser(t)
	b.login(h, "ada", adminPW)
	b.open(h, "/admin/templates", "#tpl-form")
	b.do("name the template and add three fields",
		chromedp.SendKeys(chromedp.CSS(`#tpl-form input[name=name]`), "A new monitor"),
		chromedp.SendKeys(chromedp.CSS(`#tpl-form textarea[name=description]`), "A second screen for your desk"),
		chromedp.Click(chromedp.ID("tpl-add-field")), chromedp.Click(chromedp.ID("tpl-add-field")), chromedp.Click(chromedp.ID("tpl-add-field")),
		chromedp.SendKeys(chromedp.CSS(`#tpl-fields li:nth-child(1) input[name=label]`), "Size"),
		chromedp.SendKeys(chromedp.CSS(`#tpl-fields li:nth-child(2) input[name=label]`), "What for"),
		chromedp.SendKeys(chromedp.CSS(`#tpl-fields li:nth-child(3) input[name=label]`), "Standing desk?"))
	// Kinds, choices, lengths and the tier through the page's own selects
	// (with the change events a user's choice fires).
	b.eval(`(function(){
		function set(sel, v){ var e = document.querySelector(sel); e.value = v; e.dispatchEvent(new Event("change", {bubbles: true})); }
		set("#tpl-form select[name=tier]", "2");
		set("#tpl-form select[name=priority]", "3");
		set("#tpl-form select[name=category]", "other");
		set("#tpl-fields li:nth-child(1) select[name=kind]", "choice");
		set("#tpl-fields li:nth-child(3) select[name=kind]", "yesno");
		document.querySelector("#tpl-fields li:nth-child(1) input[name=required]").checked = true;
		document.querySelector("#tpl-fields li:nth-child(2) input[name=required]").checked = true;
		return "";
	})()`)
	b.waitJS("the choices box for the choice field", `!document.querySelector("#tpl-fields li:nth-child(1) .tpl-choices").hidden`)
	b.do("choices and a length",
		chromedp.SendKeys(chromedp.CSS(`#tpl-fields li:nth-child(1) textarea[name=choices]`), "24 inch\n27 inch"),
		chromedp.SendKeys(chromedp.CSS(`#tpl-fields li:nth-child(2) input[name=min_len]`), "5"),
		chromedp.Click(chromedp.ID("tpl-save")))
	b.waitText("#templates", "A new monitor")
	if s := b.text("#templates"); !strings.Contains(s, "Tier 2") || !strings.Contains(s, "Size (choice, required)") || !strings.Contains(s, "Standing desk? (yes/no)") {
		t.Errorf("the template list shows %q", s)
	}
	b.shot("request-templates-admin")
	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))
	b.fitsWidth("/admin/templates")
	b.do("desktop width", chromedp.EmulateViewport(1280, 900))
	var list struct {
		Templates []struct {
			ID     string `json:"id"`
			Tier   int    `json:"tier"`
			Fields []struct{ Key, Kind string }
		} `json:"templates"`
	}
	if h.get("/api/v1/request-templates", &list); len(list.Templates) != 1 || list.Templates[0].Tier != 2 || len(list.Templates[0].Fields) != 3 ||
		list.Templates[0].Fields[1].Key != "what-for" || list.Templates[0].Fields[2].Kind != "yesno" {
		t.Fatalf("templates on the hub: %+v", list)
	}
	var audit struct {
		Events []struct{ Action, Actor string }
	}
	h.get("/api/v1/audit?action=template.create", &audit)
	if len(audit.Events) != 1 || audit.Events[0].Actor != "ada" {
		t.Errorf("audit of the template: %+v", audit.Events)
	}

	// The user asks for it on Get help.
	_, link := startGetHelp(t, a.state)
	ctx := selfHelpBrowser(t)
	if err := uiDo(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("mode-request"))); err != nil {
		t.Fatalf("open Get help and see \"Request something\": %v", err)
	}
	if err := uiDo(ctx, chromedp.Click(chromedp.ID("mode-request")),
		chromedp.WaitVisible(chromedp.CSS(`#templates button[data-template]`)),
		chromedp.Click(chromedp.CSS(`#templates button[data-template]`)),
		chromedp.WaitVisible(chromedp.ID("req-size"))); err != nil {
		t.Fatalf("choose the template: %v", err)
	}
	if s := pageText(t, ctx, "#req-card"); !strings.Contains(s, "A new monitor") || !strings.Contains(s, "A second screen for your desk") {
		t.Errorf("the request form shows %q", s)
	}
	// Sent without the size: the page says so and files nothing.
	if err := uiDo(ctx, chromedp.SendKeys(chromedp.ID("req-what-for"), `<img src=x onerror=window.__xss=1> design work`),
		chromedp.Click(chromedp.ID("req-send"))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the missing answer named", `!document.querySelector("[data-field=size] .field-error").hidden`)
	if s := pageText(t, ctx, "[data-field=size] .field-error"); s != "An answer is required." {
		t.Errorf("the missing size says %q", s)
	}
	if err := uiDo(ctx, chromedp.SetValue(chromedp.ID("req-size"), "27 inch"), chromedp.Click(chromedp.ID("req-standing-desk-yes")),
		chromedp.Click(chromedp.ID("req-send"))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the request's number", `document.querySelector('#req-filed[data-state="filed"]') !== null`)
	if s := pageText(t, ctx, "#req-filed"); !strings.Contains(s, "is with the Tier 2 help desk") {
		t.Errorf("after sending the page says %q", s)
	}
	if x, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.__xss !== "undefined"`)); x {
		t.Errorf("markup in an answer ran on the Get help page")
	}
	selfHelpShot(t, ctx, selfHelpShotDir(t), "20-request-filed")
	// The request form fits a phone.
	if err := uiDo(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	if overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); err != nil || overflow {
		t.Errorf("the request form scrolls sideways at 390 px (%v)", err)
	}

	// On the hub: a Tier 2 request with the answers as given.
	var tickets struct{ Tickets []ticketJSON }
	eventually(t, "the request on the hub", 30*time.Second, func() bool {
		h.get("/api/v1/tickets?type=request&device="+a.id, &tickets)
		return len(tickets.Tickets) == 1
	})
	tk := tickets.Tickets[0]
	var detail struct {
		Ticket struct {
			Type     string `json:"type"`
			Tier     int    `json:"tier"`
			Priority int    `json:"priority"`
			Request  *struct {
				Name    string                               `json:"name"`
				Answers []struct{ Key, Label, Value string } `json:"answers"`
			} `json:"request"`
		} `json:"ticket"`
	}
	h.get("/api/v1/tickets/"+tk.ID, &detail)
	if d := detail.Ticket; d.Type != "request" || d.Tier != 2 || d.Priority != 3 || d.Request == nil || d.Request.Name != "A new monitor" ||
		len(d.Request.Answers) != 3 || d.Request.Answers[0].Value != "27 inch" || d.Request.Answers[2].Value != "yes" {
		t.Fatalf("the request on the hub: %+v %+v", d, d.Request)
	}

	// A Tier 2 technician finds it in the Tier 2 queue and reads it.
	b.logout()
	b.login(h, "tess", techPW)
	b.open(h, "/queue?tier=2", "#queue")
	row := fmt.Sprintf(`#queue-rows tr[data-id=%q]`, tk.ID)
	b.waitJS("the request in the Tier 2 queue", fmt.Sprintf(`!!document.querySelector(%q)`, row))
	if s := b.text(row); !strings.Contains(s, "A new monitor") {
		t.Errorf("the queue row says %q", s)
	}
	b.open(h, "/tickets/"+tk.ID, "#request-answers")
	b.waitText("#request-name", "A new monitor")
	answers := b.text("#request-answers")
	for _, want := range []string{"Size", "27 inch", "What for", "<img src=x onerror=window.__xss=1> design work", "Standing desk?", "yes"} {
		if !strings.Contains(answers, want) {
			t.Errorf("the ticket's answers show %q, want %q among them", answers, want)
		}
	}
	if s := b.text("#ticket-type"); s != "service request from Get help" {
		t.Errorf("the ticket's type shows %q", s)
	}
	b.noXSS("the request's ticket page")
	b.shot("request-ticket")

	// Someone calls for a monitor: the technician files it from the same
	// template in New ticket; a wrong answer is refused with the reason.
	b.open(h, "/tickets/new", "#new-ticket-template")
	b.eval(`(function(){ var s = document.getElementById("new-ticket-template"); s.value = s.options[1].value; s.dispatchEvent(new Event("change")); return ""; })()`)
	b.waitJS("the template's fields", `!!document.getElementById("tf-size")`)
	if s := b.text("#template-fields"); !strings.Contains(s, "Size (required)") || !strings.Contains(s, "A second screen for your desk") {
		t.Errorf("the New ticket form shows the template as %q", s)
	}
	b.do("fill in the call, the reason too short",
		chromedp.SendKeys(chromedp.CSS(`#new-ticket input[name=requester]`), "Maria Lopez"),
		chromedp.SetValue(chromedp.ID("tf-size"), "24 inch"),
		chromedp.SendKeys(chromedp.ID("tf-what-for"), "cad"),
		chromedp.Click(chromedp.ID("new-ticket-file")))
	// The browser holds the form back (the field's minlength); the hub
	// would refuse it too (TestRequestTemplatesAPI).
	b.waitJS("the reason marked too short", `document.getElementById("tf-what-for").validity.tooShort`)
	if n := len(tickets.Tickets); h.get("/api/v1/tickets?type=request", &tickets) != http.StatusOK || len(tickets.Tickets) != n {
		t.Errorf("a form with a too short answer filed a ticket")
	}
	b.do("a longer reason",
		chromedp.SendKeys(chromedp.ID("tf-what-for"), " drawings"),
		chromedp.Click(chromedp.ID("new-ticket-file")))
	b.waitText("#request-name", "A new monitor")
	if s := b.text("#request-answers"); !strings.Contains(s, "24 inch") || !strings.Contains(s, "cad drawings") {
		t.Errorf("the phoned-in request's answers show %q", s)
	}
	b.waitText("#ticket-tier", "Tier 2")
	b.waitText("#ticket-title", "Maria Lopez: A new monitor")
}
