package tickets_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/hub/vendors/vendortest"
)

const hookSecret = "vendor-secret-0123456789abcdef"

// payloads returns what the vendor's webhook accepted, failing the test
// if it refused anything (a bad signature or a stale timestamp).
func payloads(t *testing.T, w *vendortest.Webhook) []vendors.Payload {
	t.Helper()
	if errs := w.Errors(); len(errs) > 0 {
		t.Fatalf("webhook receiver: %v", errs)
	}
	return w.Payloads()
}

// vendorHarness is a ticket service with a real vendor sender, a webhook
// receiver and a mail server, on the harness clock.
type vendorHarness struct {
	*harness
	hook *vendortest.Webhook
	mail *vendortest.Mailbox
}

func newVendorHarness(t *testing.T, st *store.Store, smtpOn bool) vendorHarness {
	t.Helper()
	var vh vendorHarness
	var smtpCfg vendors.SMTPConfig
	if smtpOn {
		vh.mail = vendortest.StartSMTP(t, vendortest.MailOptions{})
		smtpCfg = vendors.SMTPConfig{Addr: vh.mail.Addr, From: "tierline@hub.example"}
	}
	var h *harness
	clock := func() time.Time { return h.clock.Now() }
	sender, err := vendors.New(vendors.Config{SMTP: smtpCfg, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	h = newHarness(t, st, tickets.Policy{Limits: map[int]time.Duration{1: 15 * time.Minute}}, func(c *tickets.Config) {
		c.Vendors, c.RetryBase, c.RetryMax = sender, 10*time.Second, time.Minute
	})
	vh.harness, vh.hook = h, vendortest.StartWebhook(t, hookSecret, clock, time.Minute)
	return vh
}

func (vh vendorHarness) vendor(t *testing.T, name string, target time.Duration, email bool) store.Vendor {
	t.Helper()
	v := store.Vendor{ID: "v-" + name, Name: name, WebhookURL: vh.hook.URL + "/hook", WebhookSecret: hookSecret,
		ContractRef: "C-2291", ResponseTarget: target, CreatedAt: t0}
	if email {
		v.Email = "support@" + strings.ToLower(name) + ".example"
	}
	if err := vh.st.CreateVendor(ctx, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (vh vendorHarness) at(d time.Duration) { vh.clock.Set(t0.Add(d)) }

func kindsOf(t *testing.T, st *store.Store, id string) []string {
	t.Helper()
	evs, err := st.TicketEvents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind())
	}
	return out
}

func count(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

// TestVendorEscalation forwards a ticket to a vendor by webhook and email,
// records the vendor's reference and reminds once per silent period.
func TestVendorEscalation(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		vh := newVendorHarness(t, st, true)
		v := vh.vendor(t, "Acme", time.Hour, true)
		tk, _, err := vh.svc.File(ctx, "dev1", "pc-17", helpRequest("req-1", "VPN drops every hour", "dns-resolution"))
		if err != nil {
			t.Fatal(err)
		}
		id := tk.ID
		vh.at(time.Minute)
		if _, err := vh.svc.Assign(ctx, id, "ana", "ana"); err != nil {
			t.Fatal(err)
		}
		vh.at(2 * time.Minute)
		tk, err = vh.svc.SendToVendor(ctx, id, "ana", "Acme", "Firmware 4.2 suspected")
		if err != nil {
			t.Fatal(err)
		}
		if tk.State != store.TicketWaitingVendor || tk.Tier != 4 || tk.Assignee != "ana" || tk.VendorID != v.ID ||
			tk.VendorDue == nil || !tk.VendorDue.Equal(t0.Add(time.Hour+2*time.Minute)) || tk.ClockRunning {
			t.Fatalf("after forwarding: %+v", tk.TicketState)
		}
		if _, err := vh.svc.SendToVendor(ctx, id, "ana", v.ID, ""); !errors.Is(err, tickets.ErrState) {
			t.Fatalf("forwarding twice to the same vendor: %v", err)
		}

		// The SLA loop delivers: a signed webhook and an email, each
		// recorded on the timeline.
		if n, err := vh.svc.Deliver(ctx); err != nil || n != 2 {
			t.Fatalf("deliver: %d %v", n, err)
		}
		got := payloads(t, vh.hook)
		if len(got) != 1 || got[0].Kind != vendors.KindEscalation || got[0].Ticket.Number != tk.Number || got[0].Note != "Firmware 4.2 suspected" ||
			got[0].Ticket.Signature != "dns-resolution" || !strings.Contains(string(got[0].Evidence.Snapshot), "dns-resolution") ||
			len(got[0].Evidence.Timeline) == 0 || got[0].Vendor.ContractRef != "C-2291" {
			t.Fatalf("webhook payloads %+v", got)
		}
		mail := vh.mail.Messages()
		if len(mail) != 1 || mail[0].To[0] != "support@acme.example" || !strings.Contains(mail[0].Data, "Subject: [Tierline #1] pc-17: VPN drops every hour") ||
			!strings.Contains(mail[0].Data, "Firmware 4.2 suspected") {
			t.Fatalf("mail %+v", mail)
		}
		if k := kindsOf(t, st, id); count(k, tickets.EvVendorDelivered) != 2 {
			t.Fatalf("timeline %v: want two vendor_delivered", k)
		}

		// The vendor answers with its reference: a new period starts.
		vh.at(10 * time.Minute)
		if tk, err = vh.svc.RecordVendorRef(ctx, id, "ana", "ACME-77"); err != nil || tk.VendorRef != "ACME-77" || !tk.VendorDue.Equal(t0.Add(70*time.Minute)) {
			t.Fatalf("reference: %v %+v", err, tk.TicketState)
		}
		vh.at(65 * time.Minute)
		vh.svc.Tick(ctx)
		if k := kindsOf(t, st, id); count(k, tickets.EvVendorOverdue) != 0 {
			t.Fatalf("reminded before the target: %v", k)
		}
		// Silent past the target: one reminder, however often the loop runs.
		for _, d := range []time.Duration{71 * time.Minute, 72 * time.Minute, 100 * time.Minute} {
			vh.at(d)
			vh.svc.Tick(ctx)
			vh.svc.Deliver(ctx)
		}
		if k := kindsOf(t, st, id); count(k, tickets.EvVendorOverdue) != 1 {
			t.Fatalf("timeline %v: want one vendor_overdue", k)
		}
		got = payloads(t, vh.hook)
		if len(got) != 2 || got[1].Kind != vendors.KindReminder || got[1].Ticket.VendorRef != "ACME-77" {
			t.Fatalf("reminder webhook %+v", got)
		}
		if mail = vh.mail.Messages(); len(mail) != 2 || !strings.Contains(mail[1].Data, "Subject: Reminder: [Tierline #1]") || !strings.Contains(mail[1].Data, "ACME-77") {
			t.Fatalf("reminder mail %+v", mail)
		}
		// The next silent period brings the next reminder.
		vh.at(131 * time.Minute)
		vh.svc.Tick(ctx)
		if k := kindsOf(t, st, id); count(k, tickets.EvVendorOverdue) != 2 {
			t.Fatalf("timeline %v: want a second vendor_overdue", k)
		}
		// A technician's message on the vendor's behalf resets the period.
		vh.at(140 * time.Minute)
		if tk, err = vh.svc.Message(ctx, id, "ana", tickets.FromTechnician, "Acme is shipping a patch"); err != nil || !tk.VendorDue.Equal(t0.Add(200*time.Minute)) {
			t.Fatalf("message: %v %+v", err, tk.TicketState)
		}
		checkReplay(t, st, id, vh.svc.Policy())
		vh.at(150 * time.Minute)
		if tk, err = vh.svc.Resolve(ctx, id, "ana", "Firmware 4.3 from Acme"); err != nil || tk.State != store.TicketResolved {
			t.Fatal(err)
		}
		vh.at(300 * time.Minute)
		vh.svc.Tick(ctx)
		if k := kindsOf(t, st, id); count(k, tickets.EvVendorOverdue) != 2 {
			t.Fatalf("reminded after resolving: %v", k)
		}
		checkReplay(t, st, id, vh.svc.Policy())
	})
}

// TestVendorDeliveryRetries: a failed delivery is on the timeline with
// its error and retry time, is retried with backoff, and is delivered.
func TestVendorDeliveryRetries(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		vh := newVendorHarness(t, st, false)
		vh.vendor(t, "Acme", 0, false)
		vh.hook.FailNext(2)
		tk, _, _ := vh.svc.File(ctx, "dev1", "pc-17", helpRequest("req-1", "printer"))
		if _, err := vh.svc.SendToVendor(ctx, tk.ID, "ana", "Acme", ""); err != nil {
			t.Fatal(err)
		}
		if n, _ := vh.svc.Deliver(ctx); n != 1 {
			t.Fatalf("first attempt: %d", n)
		}
		evs, _ := st.TicketEvents(ctx, tk.ID)
		last := evs[len(evs)-1]
		failed, _ := last.Data.(ticketevent.VendorFailed)
		if last.Kind() != tickets.EvVendorFailed || !strings.Contains(failed.Error, "503") || !strings.Contains(failed.Error, "maintenance") ||
			failed.RetryAt != t0.Add(10*time.Second).Format(time.RFC3339Nano) || failed.Name != "Acme" {
			t.Fatalf("failure on the timeline: %+v", last)
		}
		// Not before the backoff.
		vh.at(5 * time.Second)
		if n, _ := vh.svc.Deliver(ctx); n != 0 {
			t.Fatalf("retried before the backoff: %d", n)
		}
		vh.at(10 * time.Second)
		vh.svc.Deliver(ctx) // second failure: next wait 20 s
		ds, _ := st.TicketDeliveries(ctx, tk.ID)
		if len(ds) != 1 || ds[0].Attempts != 2 || ds[0].State != store.DeliveryPending || !ds[0].NextAttemptAt.Equal(t0.Add(30*time.Second)) {
			t.Fatalf("after two failures: %+v", ds)
		}
		vh.at(30 * time.Second)
		vh.svc.Deliver(ctx)
		ds, _ = st.TicketDeliveries(ctx, tk.ID)
		if ds[0].State != store.DeliveryDelivered || ds[0].Attempts != 3 || len(payloads(t, vh.hook)) != 1 {
			t.Fatalf("after the retry: %+v", ds)
		}
		k := kindsOf(t, st, tk.ID)
		if count(k, tickets.EvVendorFailed) != 2 || count(k, tickets.EvVendorDelivered) != 1 {
			t.Fatalf("timeline %v", k)
		}
		checkReplay(t, st, tk.ID, vh.svc.Policy())
	})
}

func TestSendToVendorRefusals(t *testing.T) {
	st := storetest.Open(t)
	vh := newVendorHarness(t, st, false)
	vh.vendor(t, "Acme", 0, false)
	mailOnly := store.Vendor{ID: "v-mail", Name: "MailOnly", Email: "help@mail.example", CreatedAt: t0}
	if err := st.CreateVendor(ctx, mailOnly); err != nil {
		t.Fatal(err)
	}
	off := store.Vendor{ID: "v-off", Name: "Gone", WebhookURL: "http://127.0.0.1:1/x", CreatedAt: t0, DisabledAt: &t0}
	if err := st.CreateVendor(ctx, off); err != nil {
		t.Fatal(err)
	}
	tk, _, _ := vh.svc.File(ctx, "dev1", "pc-17", helpRequest("req-1", "printer"))
	for _, c := range []struct {
		vendor string
		want   error
		says   string
	}{
		{"nobody", tickets.ErrUnknownVendor, "GET /api/v1/vendors"},
		{"Gone", tickets.ErrUnknownVendor, "not an enabled vendor"},
		{"MailOnly", tickets.ErrInvalid, "--smtp-addr"},
		{"", tickets.ErrInvalid, "vendor"},
	} {
		if _, err := vh.svc.SendToVendor(ctx, tk.ID, "ana", c.vendor, ""); !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("vendor %q: %v, want %v saying %q", c.vendor, err, c.want, c.says)
		}
	}
	if _, err := vh.svc.RecordVendorRef(ctx, tk.ID, "ana", "X-1"); !errors.Is(err, tickets.ErrState) {
		t.Errorf("reference before forwarding: %v", err)
	}
	vh.svc.Resolve(ctx, tk.ID, "ana", "done")
	if _, err := vh.svc.SendToVendor(ctx, tk.ID, "ana", "Acme", ""); !errors.Is(err, tickets.ErrState) {
		t.Errorf("forwarding a resolved ticket: %v", err)
	}
}
