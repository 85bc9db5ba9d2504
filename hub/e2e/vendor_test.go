package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/hub/vendors/vendortest"
)

// TestVendorEscalation: a user files help with the real agent; a Tier 3
// engineer forwards the ticket to a vendor that has a webhook and an
// email address; the hub (started with --smtp-addr) delivers both, the
// webhook signed; the ticket waits on the vendor; the vendor's reference
// is recorded; the vendor then stays silent past its (short) response
// target and gets one reminder by both channels; the ticket is resolved.
func TestVendorEscalation(t *testing.T) {
	const secret = "e2e-vendor-secret-0123456789"
	// The vendor as the test plays it: a webhook that checks every
	// request's signature, and a real mail server.
	hook := vendortest.StartWebhook(t, secret, time.Now, 5*time.Minute)
	mail := vendortest.StartSMTP(t, vendortest.MailOptions{})
	seen := func() (hooks []vendors.Payload, mails []vendortest.Message) { return hook.Payloads(), mail.Messages() }

	h := startHub(t, "--smtp-addr", mail.Addr, "--smtp-from", "tierline@hub.example", "--vendor-retry", "1s", "--response-limits", "1=1h,3=2h")
	var sla struct {
		ResponseLimits string `json:"response_limits"`
	}
	if code := h.get("/api/v1/settings/sla", &sla); code != 200 || sla.ResponseLimits != "1=1 h,3=2 h" {
		t.Fatalf("SLA settings: %d %+v", code, sla)
	}
	must(t, "tier three password\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "eng", "--role", "tier3")
	eng := must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "eng")
	must(t, secret+"\n", "tierline-hub", "vendor", "add", "--data", h.data, "--name", "Acme", "--email", "support@acme.example",
		"--webhook", hook.URL+"/tierline", "--secret-stdin", "--contract", "C-2291", "--response-target", "3s")
	if out := h.cli("vendor", "list"); !strings.Contains(out, "Acme") || !strings.Contains(out, "support@acme.example") || strings.Contains(out, secret) {
		t.Fatalf("vendor list:\n%s", out)
	}
	// The CLI holds a vendor to the API's rules, with the API's words.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "Meta", "--webhook", "http://169.254.169.254/latest"}, "may not name a link-local"},
		{[]string{"--name", "Far", "--email", "a@far.example", "--response-target", "9000h"}, "response_target must be a duration from 1s to 8760h"},
		{[]string{"--name", "Line\nbreak", "--email", "a@x.example"}, "name is required: one line"},
	} {
		_, stderr, code := run(t, "", "tierline-hub", append([]string{"vendor", "add", "--data", h.data}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("vendor add %v: exit %d, %q; want refused with %q", c.args, code, stderr, c.want)
		}
	}

	a := enroll(t, h.tokenCreate())
	a.run()
	eventually(t, "the agent online", 30*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online
	})
	ans := helpCmd(t, a, "The VPN drops every hour since the router update")
	if ans.TicketID == "" {
		t.Fatalf("help answer %+v", ans)
	}
	base := "/api/v1/tickets/" + ans.TicketID

	var d ticketDetail
	if code := h.do("POST", base+"/vendor", eng, strings.NewReader(`{"vendor":"Acme","note":"Router firmware 4.2 suspected"}`), &d); code != 200 {
		t.Fatalf("forward to the vendor: %d %+v", code, d)
	}
	h.do("GET", base, eng, nil, &d)
	if d.Ticket.State != "waiting_vendor" || d.Ticket.Tier != 4 {
		t.Fatalf("after forwarding: state %s tier %d, want waiting_vendor in tier 4", d.Ticket.State, d.Ticket.Tier)
	}

	// The vendor answers with its own reference at once; the reminder is
	// due a response target (3 s) after it, so it is recorded before the
	// deliveries are waited for.
	if code := h.do("POST", base+"/vendor/reference", eng, strings.NewReader(`{"reference":"ACME-4711"}`), nil); code != 200 {
		t.Fatalf("record the reference: %d", code)
	}

	eventually(t, "the vendor's webhook and email", 30*time.Second, func() bool {
		hooks, mails := seen()
		return len(hooks) >= 1 && len(mails) >= 1
	})
	hooks, mails := seen()
	if errs := hook.Errors(); len(errs) > 0 {
		t.Fatalf("the receiver refused requests: %v", errs)
	}
	p := hooks[0]
	if p.Kind != vendors.KindEscalation || p.Ticket.Number != ans.Number || p.Note != "Router firmware 4.2 suspected" || p.Vendor.ContractRef != "C-2291" ||
		len(p.Evidence.Snapshot) == 0 || p.Evidence.Device == nil || p.Evidence.Device.ID != a.id || len(p.Evidence.Timeline) == 0 {
		raw, _ := json.Marshal(p)
		t.Fatalf("webhook payload lacks the ticket or its evidence: %s", raw)
	}
	if m := mails[0]; !strings.Contains(m.Data, "Subject: [Tierline #") || !strings.Contains(m.Data, "The VPN drops every hour") ||
		!strings.Contains(m.Data, "Router firmware 4.2 suspected") || len(m.To) != 1 || m.To[0] != "support@acme.example" {
		t.Fatalf("vendor email to %v:\n%s", m.To, m.Data)
	}

	// Silent for the 3 s target after the reference: one reminder, both ways.
	eventually(t, "the reminder", 30*time.Second, func() bool {
		hooks, mails := seen()
		return len(hooks) >= 2 && len(mails) >= 2
	})
	hooks, mails = seen()
	if hooks[1].Kind != vendors.KindReminder || hooks[1].Ticket.VendorRef != "ACME-4711" || !strings.Contains(mails[1].Data, "Subject: Reminder: [Tierline #") {
		t.Fatalf("reminder: %+v\n%s", hooks[1], mails[1].Data)
	}
	h.do("GET", base, eng, nil, &d)
	kinds := strings.Join(d.kinds(), ",")
	for _, want := range []string{"vendor_sent", "vendor_delivered", "vendor_ref", "vendor_overdue"} {
		if !strings.Contains(kinds, want) {
			t.Errorf("timeline %s has no %s", kinds, want)
		}
	}
	if code := h.do("POST", base+"/resolve", eng, strings.NewReader(`{"resolution":"Acme shipped firmware 4.3"}`), &d); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	h.do("GET", base, eng, nil, &d)
	if d.Ticket.State != "resolved" {
		t.Fatalf("state %s after resolving", d.Ticket.State)
	}
	h.cli("vendor", "disable", "Acme")
	if out := h.cli("vendor", "list"); strings.Contains(out, "Acme") {
		t.Fatalf("disabled vendor still listed:\n%s", out)
	}
}
