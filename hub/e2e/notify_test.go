//go:build linux

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tierline/tierline/hub/notify"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/hub/vendors/vendortest"
)

// TestNotifyBell: a Tier 1 technician chooses in the console to hear of
// new Tier 1 tickets by email and by a signed webhook; a real agent's
// "Get help" then rings the bell on her open queue page live, without a
// reload, and the email reaches a real SMTP server and the webhook a real
// HTTP receiver that checks the signature; she reads it in the bell's
// list and marks it read. Another technician who chose nothing hears
// nothing.
func TestNotifyBell(t *testing.T) {
	b := newConsoleBrowser(t)
	box := vendortest.StartSMTP(t, vendortest.MailOptions{})
	const secret = "bell-webhook-secret-0123456789"
	hook := vendortest.StartWebhook(t, secret, time.Now, 5*time.Minute)
	h := startHub(t, "--smtp-addr", box.Addr, "--smtp-from", "hub@support.test", "--vendor-retry", "1s", "--tier-limits", "1=1h,2=4h,3=2d")
	conAddUser(t, h, "tessa", "tier1", "tessa password 1")
	conAddUser(t, h, "tom", "tier1", "tom password 1")

	b.login(h, "tessa", "tessa password 1")
	b.open(h, "/notifications/settings", "#notify-form")
	b.do("choose email and webhook for new Tier 1 tickets",
		chromedp.SetValue(chromedp.CSS(`#notify-form input[name=email]`), "tessa@support.test"),
		chromedp.SetValue(chromedp.CSS(`#notify-form input[name=webhook_url]`), hook.URL+"/tessa"),
		chromedp.SetValue(chromedp.CSS(`#notify-form select[name=webhook_format]`), "generic"),
		chromedp.SetValue(chromedp.CSS(`#notify-form input[name=webhook_secret]`), "short"),
		chromedp.Click(chromedp.CSS(`#notify-form input[name=watch_tier][value="1"]`)),
		chromedp.Click(chromedp.CSS(`tr[data-event=ticket_new] input[name=rule-email]`)),
		chromedp.Click(chromedp.CSS(`tr[data-event=ticket_new] input[name=rule-webhook]`)),
		chromedp.Click(chromedp.CSS(`#notify-save`)))
	// A secret too short is refused with a clear error and nothing saved.
	b.waitText("#notify-error", "webhook_secret must be at least 16 bytes")
	b.do("give a real secret and save",
		chromedp.SetValue(chromedp.CSS(`#notify-form input[name=webhook_secret]`), secret),
		chromedp.Click(chromedp.CSS(`#notify-save`)))
	b.waitJS("the saved settings shown after the reload",
		`(function(){var f=document.getElementById("notify-form");return !!f && f.getAttribute("data-has-secret")==="true" &&
		  f.elements.email.value==="tessa@support.test" && document.querySelector('tr[data-event=ticket_new] input[name=rule-webhook]').checked})()`)
	if v := b.eval(`document.querySelector("#notify-form input[name=webhook_secret]").value`); v != "" {
		t.Fatalf("the page shows the webhook secret back: %q", v)
	}
	b.shot("notification-settings")
	b.do("phone-width settings", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#notify-form`)))
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the settings page is %s px wide at a 390 px phone width", w)
	}
	b.shot("notification-settings-phone")
	b.do("desktop again", chromedp.EmulateViewport(1280, 900), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#notify-form`)))

	b.open(h, "/queue", "#queue-rows")
	if got := b.eval(`document.getElementById("bell-count").hidden ? "hidden" : document.getElementById("bell-count").textContent`); got != "hidden" {
		t.Fatalf("bell before any ticket: %q", got)
	}
	b.eval(`(function(){window.__notReloaded = true; return "ok"})()`)

	a := enroll(t, h.tokenCreate())
	a.run()
	eventually(t, "the agent online", 30*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online
	})
	ans := helpCmd(t, a, "Outlook <b>crashes</b> when I open the calendar")
	if ans.Number == 0 || ans.Tier != 1 {
		t.Fatalf("help answer %+v: want a Tier 1 ticket", ans)
	}

	// The bell rings on the open page, live.
	b.waitJS("the bell showing 1 unread", `(function(){var c=document.getElementById("bell-count");return !!c && !c.hidden && c.textContent==="1"})()`)
	if b.eval(`String(window.__notReloaded === true)`) != "true" {
		t.Fatal("the queue page reloaded to show the bell; it must update live")
	}

	eventually(t, "the notification email", 30*time.Second, func() bool { return len(box.Messages()) > 0 })
	m := box.Messages()[0]
	if len(m.To) != 1 || m.To[0] != "tessa@support.test" || !strings.Contains(m.Data, "Subject: [Tierline] New ticket in Tier 1: #") ||
		!strings.Contains(m.Data, "Outlook <b>crashes</b> when I open the calendar") || !strings.Contains(m.Data, h.url()+"/tickets/"+ans.TicketID) {
		t.Fatalf("notification email:\n%+v", m)
	}
	eventually(t, "the notification webhook", 30*time.Second, func() bool { return len(hook.Requests()) > 0 })
	req := hook.Requests()[0]
	var p notify.Payload
	if err := json.Unmarshal(req.Body, &p); err != nil || p.Kind != "notification" || p.User != "tessa" || p.Notification.Event != notify.EvTicketNew ||
		p.Notification.TicketID != ans.TicketID || req.Header.Get(vendors.HeaderSignature) == "" || req.Path != "/tessa" {
		t.Fatalf("webhook %s %v: %+v (refused: %v)", req.Body, err, p, hook.Errors())
	}
	if errs := hook.Errors(); len(errs) > 0 {
		t.Fatalf("the receiver refused requests: %v", errs)
	}

	// The bell's list: read it there.
	b.do("open the bell", chromedp.Click(chromedp.CSS(`#bell`)), chromedp.WaitVisible(chromedp.CSS(`#notify-list li.unread`)))
	b.waitText("#notify-list li.unread .notify-title", "Outlook <b>crashes</b>")
	b.noXSS("notifications list")
	b.shot("notifications")
	b.do("mark it read", chromedp.Click(chromedp.CSS(`#notify-list li.unread .notify-read`)))
	b.waitJS("the bell at zero", `(function(){var c=document.getElementById("bell-count");return !!c && c.hidden && !document.querySelector("#notify-list li.unread")})()`)

	// Tom chose nothing: he has no notification (new tickets are not on
	// by default without a watched tier).
	tom := must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "tom")
	var inbox struct {
		Unread        int
		Notifications []json.RawMessage
	}
	if code := h.do("GET", "/api/v1/me/notifications/inbox", tom, nil, &inbox); code != 200 || inbox.Unread != 0 || len(inbox.Notifications) != 0 {
		t.Fatalf("tom's inbox: %d %+v", code, inbox)
	}
	if len(box.Messages()) != 1 || len(hook.Requests()) != 1 {
		t.Fatalf("deliveries: %d mails, %d webhooks; want one each (deduplicated)", len(box.Messages()), len(hook.Requests()))
	}
}
