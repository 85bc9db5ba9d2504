package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/notify"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/hub/vendors/vendortest"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

var ctx = context.Background()

// t0 is 11:00 in Berlin on a Monday in winter (CET, UTC+1).
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const secret = "notify-secret-0123456789"

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// rig is a ticket service whose changes go straight to a notifier, over a
// real store, a real SMTP server and real webhook receivers.
type rig struct {
	st    *store.Store
	clock *clock
	svc   *tickets.Service
	n     *notify.Notifier
	mail  *vendortest.Mailbox
	hook  *vendortest.Webhook // generic, signed
	slack *vendortest.Webhook // unsigned
	users map[string]store.User
	mu    sync.Mutex
	rang  []string // "user: title" of each bell ring
}

func newRig(t *testing.T, st *store.Store, opts ...func(*notify.Config)) *rig {
	t.Helper()
	r := &rig{st: st, clock: &clock{now: t0}, users: map[string]store.User{}}
	for _, u := range []struct {
		name string
		role store.Role
	}{{"ana", store.RoleTier1}, {"cy", store.RoleTier1}, {"bo", store.RoleTier2}} {
		us := store.User{ID: "u-" + u.name, Name: u.name, Role: u.role, PasswordHash: "x", CreatedAt: t0}
		if err := st.CreateUser(ctx, us); err != nil {
			t.Fatal(err)
		}
		r.users[u.name] = us
	}
	r.mail = vendortest.StartSMTP(t, vendortest.MailOptions{})
	r.hook = vendortest.StartWebhook(t, secret, r.clock.Now, time.Minute)
	r.slack = vendortest.StartWebhook(t, "", r.clock.Now, time.Minute)
	sender, err := vendors.New(vendors.Config{SMTP: vendors.SMTPConfig{Addr: r.mail.Addr, From: "Tierline <hub@support.test>"}, Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := notify.Config{Store: st, Sender: sender, From: sender.From(), HubURL: "https://hub.test:8443/", Now: r.clock.Now,
		RetryBase: 10 * time.Second, RetryMax: time.Minute,
		Notified: func(u store.User, n store.Notification, unread int) {
			r.mu.Lock()
			r.rang = append(r.rang, fmt.Sprintf("%s(%d): %s", u.Name, unread, n.Title))
			r.mu.Unlock()
		}}
	for _, o := range opts {
		o(&cfg)
	}
	if r.n, err = notify.New(cfg); err != nil {
		t.Fatal(err)
	}
	r.svc, err = tickets.New(tickets.Config{Store: st, Now: r.clock.Now, Vendors: sender, Policy: tickets.Policy{Limits: map[int]time.Duration{1: 20 * time.Minute, 2: 4 * time.Hour}},
		Changes: tickets.PublishFunc(func(c tickets.Change) {
			if err := r.n.HandleChange(ctx, c); err != nil {
				t.Errorf("notify: %v", err)
			}
		})})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) prefs(t *testing.T, user string, p notify.Prefs) {
	t.Helper()
	if err := notify.SavePrefs(ctx, r.st, r.users[user].ID, p, r.clock.Now()); err != nil {
		t.Fatalf("save %s's choices: %v", user, err)
	}
}

func (r *rig) file(t *testing.T, id, text string) store.Ticket {
	t.Helper()
	tk, _, err := r.svc.File(ctx, "dev-1", "pc-7", wire.HelpRequest{RequestID: id, Text: text, User: "maria",
		Snapshot: wire.Snapshot{Taken: r.clock.Now(), Checks: []diag.CheckResult{{Name: "dns", Status: diag.StatusFailing}}}})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (r *rig) pass(t *testing.T) int {
	t.Helper()
	n, err := r.n.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (r *rig) inbox(t *testing.T, user string) []store.Notification {
	t.Helper()
	l, err := r.st.Notifications(ctx, r.users[user].ID, false, 100)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (r *rig) rings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.rang...)
}

func mailsTo(box *vendortest.Mailbox, to string) []vendortest.Message {
	var out []vendortest.Message
	for _, m := range box.Messages() {
		if len(m.To) == 1 && m.To[0] == to {
			out = append(out, m)
		}
	}
	return out
}

func genericPayloads(t *testing.T, w *vendortest.Webhook) []notify.Payload {
	t.Helper()
	var out []notify.Payload
	for _, req := range w.Requests() {
		var p notify.Payload
		if err := json.Unmarshal(req.Body, &p); err != nil {
			t.Fatalf("webhook body %s: %v", req.Body, err)
		}
		out = append(out, p)
	}
	return out
}

func on(r ...string) notify.Rule {
	var out notify.Rule
	for _, s := range r {
		switch s {
		case "bell":
			out.Bell = true
		case "email":
			out.Bell, out.Email = true, true
		case "webhook":
			out.Bell, out.Webhook = true, true
		case "always":
			out.Always = true
		}
	}
	return out
}

// TestTicketEventsNotify: each ticket event reaches whom it concerns over
// the channels they chose, never the technician who did it, once.
func TestTicketEventsNotify(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		r.prefs(t, "ana", notify.Prefs{Email: "ana@support.test", WebhookURL: r.hook.URL + "/ana", WebhookSecret: secret,
			WatchTiers: []int{1},
			Events: map[string]notify.Rule{notify.EvTicketNew: on("email", "webhook"), notify.EvAssigned: on("email"),
				notify.EvUserReplied: on("webhook"), notify.EvSLA75: on("bell"), notify.EvCollaborator: on("bell")}})
		r.prefs(t, "bo", notify.Prefs{WebhookURL: r.slack.URL + "/slack", WebhookFormat: notify.FormatSlack,
			Events: map[string]notify.Rule{notify.EvEscalated: on("webhook"), notify.EvCollaborator: on("bell")}})

		tk := r.file(t, "r1", "Outlook <b>cannot</b> reach the server")
		if got := r.inbox(t, "ana"); len(got) != 1 || got[0].Event != notify.EvTicketNew || !strings.Contains(got[0].Title, "New ticket in Tier 1: #1 pc-7: Outlook") ||
			got[0].Link != "/tickets/"+tk.ID || got[0].ReadAt != nil {
			t.Fatalf("ana's bell after filing: %+v", got)
		}
		if got := r.inbox(t, "cy"); len(got) != 0 {
			t.Fatalf("cy watches nothing but was told: %+v", got)
		}
		if n := r.pass(t); n != 2 {
			t.Fatalf("pass sent %d, want the email and the webhook", n)
		}
		mails := mailsTo(r.mail, "ana@support.test")
		if len(mails) != 1 || !strings.Contains(mails[0].Data, "Subject: [Tierline] New ticket in Tier 1: #1 pc-7: Outlook") ||
			!strings.Contains(mails[0].Data, "https://hub.test:8443/tickets/"+tk.ID) || !strings.Contains(mails[0].Data, "Outlook <b>cannot</b> reach the server") ||
			mails[0].From != "hub@support.test" {
			t.Fatalf("ana's mail: %+v", mails)
		}
		ps := genericPayloads(t, r.hook)
		if len(ps) != 1 || ps[0].Notification.Event != notify.EvTicketNew || ps[0].User != "ana" || ps[0].Notification.TicketID != tk.ID ||
			ps[0].Notification.URL != "https://hub.test:8443/tickets/"+tk.ID {
			t.Fatalf("ana's webhook: %+v (refused: %v)", ps, r.hook.Errors())
		}
		if h := r.hook.Requests()[0].Header; h.Get(vendors.HeaderEvent) != "notification" || h.Get(vendors.HeaderSignature) == "" {
			t.Fatalf("webhook headers: %v", h)
		}

		// Ana takes it herself: nobody is told of what they did.
		if _, err := r.svc.Assign(ctx, tk.ID, "ana", "ana"); err != nil {
			t.Fatal(err)
		}
		if got := r.inbox(t, "ana"); len(got) != 1 {
			t.Fatalf("ana was told of her own assignment: %+v", got)
		}
		// Cy gives it back to her: she is told, by email.
		if _, err := r.svc.Assign(ctx, tk.ID, "cy", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Assign(ctx, tk.ID, "cy", "ana"); err != nil {
			t.Fatal(err)
		}
		r.pass(t)
		if mails = mailsTo(r.mail, "ana@support.test"); len(mails) != 2 || !strings.Contains(mails[1].Data, "Subject: [Tierline] Assigned to you: #1") {
			t.Fatalf("assignment mail: %+v", mails)
		}
		// The user replies: ana's webhook says so, with the words.
		if _, err := r.svc.Message(ctx, tk.ID, "user:maria", "user", "Still broken after the restart"); err != nil {
			t.Fatal(err)
		}
		r.pass(t)
		if ps = genericPayloads(t, r.hook); len(ps) != 2 || ps[1].Notification.Event != notify.EvUserReplied || ps[1].Notification.Body != "Still broken after the restart" {
			t.Fatalf("reply webhook: %+v", ps)
		}
		// Bo joins; then ana adds cy... and bo is told only of himself.
		if _, err := r.svc.AddCollaborator(ctx, tk.ID, "ana", "bo"); err != nil {
			t.Fatal(err)
		}
		if got := r.inbox(t, "bo"); len(got) != 1 || got[0].Event != notify.EvCollaborator {
			t.Fatalf("bo's bell: %+v", got)
		}
		// 75% of Tier 1's 20 minutes: ana and bo work it, and ana has it on.
		r.clock.Add(16 * time.Minute)
		if _, err := r.svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.inbox(t, "ana"); got[0].Event != notify.EvSLA75 || !strings.Contains(got[0].Title, "75% of the Tier 1 time limit (20m) is used on #1") {
			t.Fatalf("ana's SLA warning: %+v", got[0])
		}
		// Ana escalates to Tier 2: bo's Slack hears it (he is a tier2 technician).
		if _, err := r.svc.Escalate(ctx, tk.ID, "ana", 2, "needs a look at the mail server"); err != nil {
			t.Fatal(err)
		}
		r.pass(t)
		reqs := r.slack.Requests()
		var slack struct{ Text string }
		if len(reqs) != 1 || json.Unmarshal(reqs[0].Body, &slack) != nil || !strings.Contains(slack.Text, "*Escalated from Tier 1 to Tier 2: #1 pc-7: Outlook &lt;b&gt;cannot&lt;/b&gt;") ||
			!strings.Contains(slack.Text, "<https://hub.test:8443/tickets/"+tk.ID+"|Open in Tierline>") || reqs[0].Header.Get(vendors.HeaderSignature) != "" {
			t.Fatalf("bo's Slack message: %+v %q", reqs, slack.Text)
		}

		// The same change heard again (a replayed change): nobody is told twice.
		before := len(r.inbox(t, "ana"))
		evs, err := st.TicketEvents(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.n.HandleChange(ctx, tickets.Change{Ticket: tk, Events: evs}); err != nil {
			t.Fatal(err)
		}
		if after := len(r.inbox(t, "ana")); after != before {
			t.Fatalf("a replayed change notified ana again: %d -> %d: %+v", before, after, r.inbox(t, "ana"))
		}
		if rings := r.rings(); len(rings) != 6 || !strings.HasPrefix(rings[0], "ana(1): New ticket") || !strings.HasPrefix(rings[5], "bo(2): Escalated") {
			t.Fatalf("bell rings: %q", rings)
		}
	})
}

// TestQuietHours: during a user's quiet hours email waits until they end
// (by the service clock), the bell rings at once, and an event marked
// always goes out anyway.
func TestQuietHours(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		r.prefs(t, "ana", notify.Prefs{Email: "ana@support.test", WatchTiers: []int{1},
			QuietHours: &notify.QuietHours{From: "22:00", To: "07:00", TimeZone: "Europe/Berlin"},
			Events:     map[string]notify.Rule{notify.EvTicketNew: on("email"), notify.EvSLABreach: on("email", "always")}})
		// 22:30 in Berlin.
		r.clock.Set(time.Date(2026, 3, 2, 21, 30, 0, 0, time.UTC))
		tk := r.file(t, "r1", "Printer on fire")
		if got := r.inbox(t, "ana"); len(got) != 1 {
			t.Fatalf("the bell did not ring in quiet hours: %+v", got)
		}
		if r.pass(t); len(r.mail.Messages()) != 0 {
			t.Fatalf("mail went out in quiet hours: %+v", r.mail.Messages())
		}
		// The breach (always) at 22:50 goes out at once.
		r.clock.Add(20 * time.Minute)
		if _, err := r.svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		r.pass(t)
		if m := mailsTo(r.mail, "ana@support.test"); len(m) != 1 || !strings.Contains(m[0].Data, "time limit (20m) passed on #1") {
			t.Fatalf("the breach marked always: %+v", m)
		}
		// 06:59 Berlin: still quiet.
		r.clock.Set(time.Date(2026, 3, 3, 5, 59, 0, 0, time.UTC))
		if r.pass(t); len(r.mail.Messages()) != 1 {
			t.Fatalf("mail before quiet hours ended: %d", len(r.mail.Messages()))
		}
		r.clock.Set(time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC))
		if n := r.pass(t); n != 1 {
			t.Fatalf("at 07:00 Berlin %d sent, want the new ticket's mail", n)
		}
		if m := mailsTo(r.mail, "ana@support.test"); len(m) != 2 || !strings.Contains(m[1].Data, "New ticket in Tier 1: #1") ||
			!strings.Contains(m[1].Data, "/tickets/"+tk.ID) {
			t.Fatalf("after quiet hours: %+v", m)
		}

		// Quiet hours count when sending too: a mail made at 21:59 that
		// had not gone out by 22:00 waits for the morning.
		r.clock.Set(time.Date(2026, 3, 3, 20, 59, 0, 0, time.UTC))
		r.file(t, "r2", "Scanner jammed")
		r.clock.Set(time.Date(2026, 3, 3, 21, 0, 0, 0, time.UTC))
		if n := r.pass(t); n != 0 {
			t.Fatalf("%d sent at 22:00 Berlin", n)
		}
		ds, _ := st.DueNotifyDeliveries(ctx, time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC), 10)
		if len(ds) != 1 || !strings.Contains(ds[0].LastError, "quiet hours from 22:00 to 07:00 (Europe/Berlin)") {
			t.Fatalf("held for quiet hours: %+v", ds)
		}
		// A channel turned off meanwhile ends what waits for it.
		r.prefs(t, "ana", notify.Prefs{Email: "ana@support.test", WatchTiers: []int{1}, Events: map[string]notify.Rule{notify.EvTicketNew: on("bell")}})
		r.clock.Set(time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC))
		if n := r.pass(t); n != 0 || len(mailsTo(r.mail, "ana@support.test")) != 2 {
			t.Fatalf("sent %d after the user turned email off", n)
		}
	})
}

// TestDeliveryRetriesAndLimit: a webhook that fails is tried again after
// the backoff; past the per-user limit deliveries wait for room, and a
// removed channel ends them.
func TestDeliveryRetriesAndLimit(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st, func(c *notify.Config) { c.Limit, c.Window = 2, time.Hour })
		r.prefs(t, "ana", notify.Prefs{WebhookURL: r.hook.URL + "/ana", WebhookSecret: secret, WatchTiers: []int{1},
			Events: map[string]notify.Rule{notify.EvTicketNew: on("webhook")}})
		r.hook.FailNext(1)
		r.file(t, "r1", "one")
		if n := r.pass(t); n != 0 {
			t.Fatalf("sent %d to a failing webhook", n)
		}
		ds, _ := st.DueNotifyDeliveries(ctx, r.clock.Now().Add(time.Hour), 10)
		if len(ds) != 1 || ds[0].Attempts != 1 || !strings.Contains(ds[0].LastError, "503") {
			t.Fatalf("after the failure: %+v", ds)
		}
		r.clock.Add(10 * time.Second)
		if n := r.pass(t); n != 1 || len(r.hook.Payloads()) != 1 {
			t.Fatalf("retry sent %d; receiver has %d", n, len(r.hook.Payloads()))
		}
		r.file(t, "r2", "two")
		r.file(t, "r3", "three")
		if n := r.pass(t); n != 1 {
			t.Fatalf("sent %d with one place left in the limit", n)
		}
		ds, _ = st.DueNotifyDeliveries(ctx, r.clock.Now().Add(time.Hour), 10)
		if len(ds) != 1 || !strings.Contains(ds[0].LastError, "held back: at most 2 per hour by webhook") || ds[0].Attempts != 0 {
			t.Fatalf("held back: %+v", ds)
		}
		if got := r.inbox(t, "ana"); len(got) != 3 {
			t.Fatalf("the bell lost held-back notifications: %d", len(got))
		}
		// A webhook that cannot be reached: the error names its host, not
		// its URL (a Slack or Teams URL is the channel's credential).
		r.prefs(t, "cy", notify.Prefs{WebhookURL: "http://127.0.0.1:1/services/T0/B0/secret-token", WebhookFormat: notify.FormatSlack,
			WatchTiers: []int{1}, Events: map[string]notify.Rule{notify.EvTicketNew: on("webhook")}})
		r.clock.Add(time.Hour)
		if n := r.pass(t); n != 1 || len(r.hook.Payloads()) != 3 {
			t.Fatalf("after the window: sent %d, received %d", n, len(r.hook.Payloads()))
		}
		r.file(t, "r3b", "three and a half")
		r.pass(t)
		ds, _ = st.DueNotifyDeliveries(ctx, r.clock.Now().Add(time.Hour), 10)
		var cys []store.NotifyDelivery
		for _, d := range ds {
			if d.UserID == r.users["cy"].ID {
				cys = append(cys, d)
			}
		}
		if len(cys) != 1 || cys[0].Attempts != 1 || strings.Contains(cys[0].LastError, "secret-token") || !strings.Contains(cys[0].LastError, "webhook POST 127.0.0.1:1") {
			t.Fatalf("cy's failing webhook: %+v", cys)
		}
		r.prefs(t, "cy", notify.Prefs{})
		r.clock.Add(10 * time.Second)
		r.pass(t)
		// A user who removes their webhook: what waits is dropped.
		r.file(t, "r4", "four")
		before := len(r.hook.Payloads())
		r.prefs(t, "ana", notify.Prefs{WatchTiers: []int{1}, Events: map[string]notify.Rule{notify.EvTicketNew: on("bell")}})
		if n := r.pass(t); n != 0 || len(r.hook.Payloads()) != before {
			t.Fatalf("sent to a removed webhook")
		}
		if ds, _ = st.DueNotifyDeliveries(ctx, r.clock.Now().Add(24*time.Hour), 10); len(ds) != 0 {
			t.Fatalf("still pending: %+v", ds)
		}
	})
}

// TestDeviceOffline: a device of a watched group that stays away longer
// than OfflineAfter is notified once; one that comes back is not.
func TestDeviceOffline(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st, func(c *notify.Config) { c.OfflineAfter = 10 * time.Minute })
		r.prefs(t, "ana", notify.Prefs{WatchGroups: []string{"lab"}, Events: map[string]notify.Rule{notify.EvDeviceOffline: on("bell")}})
		for _, id := range []string{"d1", "d2"} {
			if err := st.CreateToken(ctx, store.Token{ID: "tok-" + id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), MaxUses: 1}, []byte("hash-"+id)); err != nil {
				t.Fatal(err)
			}
			if _, err := st.EnrollDevice(ctx, []byte("hash-"+id), store.Device{ID: id, PublicKey: []byte(id), Hostname: "host-" + id, OS: "linux", Arch: "amd64"}, t0); err != nil {
				t.Fatal(err)
			}
			if err := st.SetDeviceGroup(ctx, id, "lab"); err != nil {
				t.Fatal(err)
			}
			if err := st.MarkConnected(ctx, id, store.DeviceHello{Hostname: "host-" + id}, t0); err != nil {
				t.Fatal(err)
			}
			if err := st.MarkDisconnected(ctx, id, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		r.clock.Add(5 * time.Minute)
		if err := r.n.ScanOffline(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.inbox(t, "ana"); len(got) != 0 {
			t.Fatalf("told before OfflineAfter: %+v", got)
		}
		// d2 comes back.
		if err := st.MarkConnected(ctx, "d2", store.DeviceHello{Hostname: "host-d2"}, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(7 * time.Minute)
		for range 2 {
			if err := r.n.ScanOffline(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := r.inbox(t, "ana")
		if len(got) != 1 || got[0].DeviceID != "d1" || got[0].Link != "/devices/d1" || !strings.Contains(got[0].Title, "host-d1 (group lab) is offline since 2026-03-02 10:01 UTC") {
			t.Fatalf("offline notifications: %+v", got)
		}
	})
}

// TestVendorOverdueAndTeams: the technician who has a ticket hears when
// its vendor did not answer in time, here in a Teams channel.
func TestVendorOverdueAndTeams(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		r.prefs(t, "ana", notify.Prefs{WebhookURL: r.slack.URL + "/teams", WebhookFormat: notify.FormatTeams,
			Events: map[string]notify.Rule{notify.EvVendorOverdue: on("webhook")}})
		vendorHook := vendortest.StartWebhook(t, secret, r.clock.Now, time.Minute)
		if err := st.CreateVendor(ctx, store.Vendor{ID: "v1", Name: "Acme", WebhookURL: vendorHook.URL + "/acme", WebhookSecret: secret,
			ResponseTarget: time.Hour, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		tk := r.file(t, "r1", "Plotter firmware")
		if _, err := r.svc.Assign(ctx, tk.ID, "ana", "ana"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.SendToVendor(ctx, tk.ID, "ana", "Acme", "please look"); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Hour + time.Second)
		if _, err := r.svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		got := r.inbox(t, "ana")
		if len(got) != 1 || got[0].Event != notify.EvVendorOverdue || !strings.Contains(got[0].Title, "The vendor has not answered in time on #1") {
			t.Fatalf("ana's bell: %+v", got)
		}
		if n := r.pass(t); n != 1 {
			t.Fatalf("sent %d", n)
		}
		reqs := r.slack.Requests()
		var msg struct {
			Type        string `json:"type"`
			Attachments []struct {
				ContentType string `json:"contentType"`
				Content     struct {
					Type string `json:"type"`
					Body []struct {
						Text string `json:"text"`
					} `json:"body"`
					Actions []struct {
						Type, URL string
					} `json:"actions"`
				} `json:"content"`
			} `json:"attachments"`
		}
		if len(reqs) != 1 || reqs[0].Path != "/teams" || json.Unmarshal(reqs[0].Body, &msg) != nil || msg.Type != "message" || len(msg.Attachments) != 1 ||
			msg.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || msg.Attachments[0].Content.Type != "AdaptiveCard" ||
			!strings.Contains(msg.Attachments[0].Content.Body[0].Text, "The vendor has not answered in time on #1 pc-7: Plotter firmware") ||
			msg.Attachments[0].Content.Actions[0].URL != "https://hub.test:8443/tickets/"+tk.ID {
			t.Fatalf("Teams message: %s", reqs[0].Body)
		}
	})
}

func TestQuietHoursEnd(t *testing.T) {
	q := notify.QuietHours{From: "22:00", To: "07:00", TimeZone: "Europe/Berlin"}
	day := notify.QuietHours{From: "12:00", To: "13:30", TimeZone: "UTC"}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, c := range []struct {
		q    notify.QuietHours
		now  time.Time
		want time.Time // zero: not quiet
	}{
		{q, time.Date(2026, 3, 2, 21, 59, 0, 0, berlin), time.Time{}},
		{q, time.Date(2026, 3, 2, 22, 0, 0, 0, berlin), time.Date(2026, 3, 3, 7, 0, 0, 0, berlin)},
		{q, time.Date(2026, 3, 3, 3, 0, 0, 0, berlin), time.Date(2026, 3, 3, 7, 0, 0, 0, berlin)},
		{q, time.Date(2026, 3, 3, 7, 0, 0, 0, berlin), time.Time{}},
		// The night clocks go forward (29 March 2026) still ends at 07:00 local.
		{q, time.Date(2026, 3, 28, 23, 0, 0, 0, berlin), time.Date(2026, 3, 29, 7, 0, 0, 0, berlin)},
		{day, time.Date(2026, 3, 2, 12, 30, 0, 0, time.UTC), time.Date(2026, 3, 2, 13, 30, 0, 0, time.UTC)},
		{day, time.Date(2026, 3, 2, 13, 30, 0, 0, time.UTC), time.Time{}},
		{day, time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC), time.Time{}},
	} {
		got, quiet := c.q.End(c.now)
		if quiet != !c.want.IsZero() || (quiet && !got.Equal(c.want)) {
			t.Errorf("%s at %s: %v %v, want %v", c.q.Words(), c.now, got, quiet, c.want)
		}
	}
}

func TestPrefsValidate(t *testing.T) {
	for _, c := range []struct {
		p    notify.Prefs
		want string
	}{
		{notify.Prefs{Email: "not an address"}, "email must be a plain address"},
		{notify.Prefs{Email: "Ana <ana@x.test>"}, "email must be a plain address"},
		{notify.Prefs{WebhookURL: "ftp://x.test/h"}, "webhook_url must be an http(s) URL"},
		{notify.Prefs{WebhookURL: "http://169.254.169.254/latest"}, "link-local"},
		{notify.Prefs{WebhookURL: "https://x.test/h", WebhookSecret: "short"}, "at least 16 bytes"},
		{notify.Prefs{WebhookURL: "https://x.test/h", WebhookFormat: "pager"}, `webhook_format "pager": use generic, slack or teams`},
		{notify.Prefs{Events: map[string]notify.Rule{"coffee": {Bell: true}}}, `"coffee" is not an event`},
		{notify.Prefs{Events: map[string]notify.Rule{notify.EvAssigned: {Email: true}}}, "events.assigned: email, webhook and always need bell on"},
		{notify.Prefs{Events: map[string]notify.Rule{notify.EvAssigned: {Bell: true, Email: true}}}, "events.assigned: email is on but no email address is set"},
		{notify.Prefs{Events: map[string]notify.Rule{notify.EvAssigned: {Bell: true, Webhook: true}}}, "no webhook_url is set"},
		{notify.Prefs{WatchTiers: []int{5}}, "watch_tiers: 5 is not a tier"},
		{notify.Prefs{WatchQueues: []string{"a\nb"}}, "watch_queues and watch_groups take names"},
		{notify.Prefs{QuietHours: &notify.QuietHours{From: "25:00", To: "07:00", TimeZone: "UTC"}}, "quiet_hours.from"},
		{notify.Prefs{QuietHours: &notify.QuietHours{From: "7:00", To: "08:00", TimeZone: "UTC"}}, "quiet_hours.from"},
		{notify.Prefs{QuietHours: &notify.QuietHours{From: "22:00", To: "22:00", TimeZone: "UTC"}}, "the same time"},
		{notify.Prefs{QuietHours: &notify.QuietHours{From: "22:00", To: "07:00"}}, "quiet_hours.time_zone is required"},
		{notify.Prefs{QuietHours: &notify.QuietHours{From: "22:00", To: "07:00", TimeZone: "Mars/Olympus"}}, "not a time zone"},
		{notify.Prefs{Email: "ana@x.test", WebhookURL: "https://chat.x.test/hook", WebhookFormat: notify.FormatTeams,
			Events:     map[string]notify.Rule{notify.EvAssigned: {Bell: true, Email: true, Webhook: true, Always: true}},
			QuietHours: &notify.QuietHours{From: "22:00", To: "07:00", TimeZone: "Europe/Berlin"}}, ""},
	} {
		err := c.p.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.p, err, c.want)
		}
	}
}

// FuzzPrefs: whatever a PUT carries, decoding and checking it never
// panics, and what passes is stored and read back the same.
func FuzzPrefs(f *testing.F) {
	f.Add(`{"email":"ana@x.test","events":{"assigned":{"bell":true,"email":true}},"watch_tiers":[1]}`)
	f.Add(`{"quiet_hours":{"from":"22:00","to":"07:00","time_zone":"Europe/Berlin"}}`)
	f.Add(`{"webhook_url":"https://x.test/h","webhook_format":"slack","events":{"sla_breach":{"bell":true,"webhook":true,"always":true}}}`)
	f.Add(`{"events":null,"watch_groups":["lab",""]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := notify.DecodePrefs([]byte(raw))
		if err != nil {
			return
		}
		again, err := notify.DecodePrefs([]byte(notify.EncodePrefs(p)))
		if err != nil {
			t.Fatalf("stored choices do not read back: %v", err)
		}
		if notify.EncodePrefs(again) != notify.EncodePrefs(p) {
			t.Fatalf("round trip changed the choices:\n%s\n%s", notify.EncodePrefs(p), notify.EncodePrefs(again))
		}
	})
}

func TestParseLimit(t *testing.T) {
	if n, w, err := notify.ParseLimit("30/1h"); err != nil || n != 30 || w != time.Hour {
		t.Fatalf("30/1h: %d %s %v", n, w, err)
	}
	for _, bad := range []string{"", "30", "0/1h", "x/1h", "30/", "30/0s", "30/1000h", "-1/1h"} {
		if _, _, err := notify.ParseLimit(bad); err == nil || !strings.Contains(err.Error(), "such as") {
			t.Errorf("%q: %v, want an error that shows how", bad, err)
		}
	}
}
