package tickets_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/testwait"
	"github.com/tierline/tierline/shared/wire"
)

var ctx = context.Background()

// clock is a settable clock for the service.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

type harness struct {
	st    *store.Store
	svc   *tickets.Service
	clock *clock
	mu    sync.Mutex
	seen  []string // kinds published as changes
}

func newHarness(t *testing.T, st *store.Store, p tickets.Policy, opts ...func(*tickets.Config)) *harness {
	t.Helper()
	h := &harness{st: st, clock: &clock{now: t0}}
	// The technicians the tests assign and swarm with are console users.
	for _, name := range []string{"ana", "bo", "a"} {
		if err := st.CreateUser(ctx, store.User{ID: "u-" + name, Name: name, Role: store.RoleTier2, CreatedAt: t0}); err != nil && !errors.Is(err, store.ErrExists) {
			t.Fatal(err)
		}
	}
	n := 0
	var idMu sync.Mutex
	cfg := tickets.Config{Store: st, Policy: p, Now: h.clock.Now,
		NewID: func() string { idMu.Lock(); defer idMu.Unlock(); n++; return fmt.Sprintf("tk%03d", n) },
		Changes: tickets.PublishFunc(func(c tickets.Change) {
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, e := range c.Events {
				h.seen = append(h.seen, e.Kind())
			}
		})}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := tickets.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	return h
}

func helpRequest(id, text string, failing ...string) wire.HelpRequest {
	r := wire.HelpRequest{RequestID: id, Text: text, Category: "cannot-connect", User: "maria",
		Tried:    wire.SelfHelp{Articles: []string{"kb-7"}, Runs: []wire.TriedFix{{Fix: "flush-dns", Outcome: "failed", Time: t0}}},
		Snapshot: wire.Snapshot{Taken: t0, Checks: []diag.CheckResult{{Name: "disk-space", Status: diag.StatusOK}}}}
	for _, f := range failing {
		r.Snapshot.Checks = append(r.Snapshot.Checks, diag.CheckResult{Name: f, Status: diag.StatusFailing})
	}
	return r
}

// checkReplay: the stored state equals the replay of the stored timeline.
func checkReplay(t *testing.T, st *store.Store, id string, p tickets.Policy) store.Ticket {
	t.Helper()
	tk, err := st.GetTicket(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.TicketEvents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tickets.Replay(evs, p), tk.TicketState); diff != "" {
		t.Fatalf("replay of %d events differs from the live state (-replay +live):\n%s", len(evs), diff)
	}
	return tk
}

// TestReplayMatchesLiveClock is the issue's "SLA clock recomputation from
// the event log matches the live clock, including pauses": a ticket is
// worked step by step through the service (each step loads it from the
// database, applies, stores), with SLA ticks in between; after every step
// the state replayed from the stored log equals the stored state.
//
// Response limits run on the same clock: tier 1 has 1 minute to respond
// (the assignment comes after 2), tier 2 five minutes (its first response
// is the fix run after 15), and tier 1 again after the escalation back
// (resolved two minutes later).
func TestReplayMatchesLiveClock(t *testing.T) {
	responseLimits := map[int]time.Duration{1: time.Minute, 2: 5 * time.Minute}
	hours, err := tickets.ParseBusinessHours("mon-fri 09:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []tickets.Policy{
		{Limits: map[int]time.Duration{1: 10 * time.Minute, 2: time.Hour, 3: 4 * time.Hour}, Response: responseLimits},
		{Limits: map[int]time.Duration{1: 10 * time.Minute, 2: time.Hour, 3: 4 * time.Hour}, Response: responseLimits, Hours: hours},
	} {
		name := "wall clock"
		if p.Hours != nil {
			name = "business hours"
		}
		t.Run(name, func(t *testing.T) {
			storetest.Backends(t, func(t *testing.T, st *store.Store) {
				h := newHarness(t, st, p)
				tk, created, err := h.svc.File(ctx, "dev1", "pc-17", helpRequest("req-1", "VPN drops\nsince Monday", "vpn-reachable"))
				if err != nil || !created {
					t.Fatal(created, err)
				}
				id := tk.ID
				steps := []struct {
					after time.Duration
					do    func() error
				}{
					{2 * time.Minute, func() error { _, err := h.svc.Assign(ctx, id, "ana", "ana"); return err }},
					{time.Minute, func() error {
						_, err := h.svc.Message(ctx, id, "ana", tickets.FromTechnician, "Can you restart the VPN client?")
						return err
					}},
					{time.Minute, func() error {
						_, err := h.svc.SetWaiting(ctx, id, "ana", store.TicketWaitingUser, "user_info")
						return err
					}},
					{3 * time.Hour, nil}, // paused: nothing is due however long
					{time.Minute, func() error {
						_, err := h.svc.Message(ctx, id, "device:dev1", tickets.FromUser, "restarted, still drops")
						return err
					}},
					{5 * time.Minute, nil}, // 50% and 75% of tier 1
					{4 * time.Minute, nil}, // breach, escalation to tier 2
					{10 * time.Minute, func() error { _, err := h.svc.AddCollaborator(ctx, id, "bo", "bo"); return err }},
					{5 * time.Minute, func() error {
						_, err := h.svc.RecordRun(ctx, id, "bo", "run-1", "restart-service", "fixed")
						return err
					}},
					{time.Minute, func() error {
						_, err := h.svc.SetWaiting(ctx, id, "bo", store.TicketWaitingVendor, "vendor_response")
						return err
					}},
					{26 * time.Hour, func() error { _, err := h.svc.Resume(ctx, id, "bo"); return err }},
					{50 * time.Minute, nil},
					{20 * time.Minute, func() error {
						_, err := h.svc.Escalate(ctx, id, "bo", 1, "back to the help desk for the follow-up")
						return err
					}},
					{time.Minute, func() error { _, err := h.svc.Resolve(ctx, id, "ana", "VPN client updated"); return err }},
					{time.Hour, func() error { _, err := h.svc.Reopen(ctx, id, "device:dev1", "drops again"); return err }},
					{6 * time.Minute, nil},
					{time.Minute, func() error { _, err := h.svc.Resolve(ctx, id, "ana", "MTU fixed"); return err }},
					{time.Minute, func() error { _, err := h.svc.Survey(ctx, id, "device:dev1", 5, "quick"); return err }},
					{time.Minute, func() error { _, err := h.svc.Close(ctx, id, "ana"); return err }},
					{100 * time.Hour, nil},
				}
				now := t0
				for i, s := range steps {
					now = now.Add(s.after)
					h.clock.Set(now)
					if _, err := h.svc.Tick(ctx); err != nil {
						t.Fatalf("step %d: tick: %v", i, err)
					}
					checkReplay(t, st, id, p)
					if s.do != nil {
						if err := s.do(); err != nil {
							t.Fatalf("step %d: %v", i, err)
						}
						checkReplay(t, st, id, p)
					}
				}
				final := checkReplay(t, st, id, p)
				if final.State != store.TicketClosed || *final.CSAT != 5 || final.Escalations < 2 || len(final.Collaborators) != 1 {
					t.Errorf("final state %+v", final.TicketState)
				}
				evs, _ := st.TicketEvents(ctx, id)
				for i := 1; i < len(evs); i++ {
					if evs[i].Time.Before(evs[i-1].Time) {
						t.Errorf("event %d (%s) at %s is before event %d (%s) at %s", i, evs[i].Kind(), evs[i].Time, i-1, evs[i-1].Kind(), evs[i-1].Time)
					}
				}
				if p.Hours == nil {
					// On the wall clock, the pause kept tier 1 from
					// breaching during the wait: the breach came 10 minutes
					// of working time after filing.
					var breach *store.TicketEvent
					for i := range evs {
						if b, ok := evs[i].Data.(ticketevent.SLABreach); ok && b.Tier == 1 {
							breach = &evs[i]
							break
						}
					}
					if breach == nil {
						t.Fatal("no tier 1 breach")
					}
					if want := t0.Add(4*time.Minute + 3*time.Hour + time.Minute + 6*time.Minute); !breach.Time.Equal(want) {
						t.Errorf("tier 1 breach at %s, want %s", breach.Time.Sub(t0), want.Sub(t0))
					}
					// Response breaches: tier 1 a minute after filing, tier 2
					// five minutes after the escalation; neither escalates.
					var resp []string
					for _, e := range evs {
						if b, ok := e.Data.(ticketevent.ResponseBreach); ok {
							resp = append(resp, fmt.Sprintf("tier %d at %s", b.Tier, e.Time.Sub(t0)))
						}
					}
					var back time.Time // the manual escalation back to tier 1
					for _, e := range evs {
						if esc, ok := e.Data.(ticketevent.Escalated); ok && esc.To == 1 {
							back = e.Time
						}
					}
					if want := fmt.Sprintf("[tier 1 at 1m0s tier 2 at %s tier 1 at %s]", breach.Time.Sub(t0)+5*time.Minute, back.Sub(t0)+time.Minute); fmt.Sprint(resp) != want {
						t.Errorf("response breaches %v, want %s", resp, want)
					}
				}
				if final.ResponseBreaches != 3 {
					t.Errorf("%d response breaches, want 3 (tier 1, tier 2, tier 1 again after the escalation back)", final.ResponseBreaches)
				}
			})
		})
	}
}

func TestFile(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, tickets.Policy{})
		req := helpRequest("req-1", "  <b>Printer</b> jammed\n\nsecond line", "printer-queue", "dns-resolution")
		req.Screenshot = []byte("\x89PNG")
		tk, created, err := h.svc.File(ctx, "dev1", "pc-17", req)
		if err != nil || !created {
			t.Fatal(created, err)
		}
		if tk.Number != 1 || tk.Tier != 1 || tk.State != store.TicketNew || tk.Signature != "dns-resolution,printer-queue" ||
			tk.Title != "pc-17: <b>Printer</b> jammed" || tk.Requester != "maria" || !tk.CreatedAt.Equal(t0) || !tk.HasScreenshot {
			t.Fatalf("filed %+v", tk)
		}
		// The agent's spool replays the request after a reconnect.
		h.clock.Set(t0.Add(time.Hour))
		again, created, err := h.svc.File(ctx, "dev1", "pc-17", req)
		if err != nil || created || again.ID != tk.ID {
			t.Fatalf("replayed filing: %s created %v err %v", again.ID, created, err)
		}
		full, _ := st.GetTicket(ctx, tk.ID)
		if full.Snapshot == nil || len(full.Snapshot.Checks) != 3 || full.Tried == nil || full.Tried.Runs[0].Fix != "flush-dns" {
			t.Fatalf("snapshot or self-help not frozen: %+v", full)
		}
		evs, _ := st.TicketEvents(ctx, tk.ID)
		if len(evs) != 2 || evs[0].Kind() != tickets.EvFiled || evs[1].Kind() != tickets.EvSelfHelp || evs[0].Data.(ticketevent.Filed).Hostname != "pc-17" {
			t.Fatalf("timeline %+v", evs)
		}
		if fmt.Sprint(h.seen) != "[filed self_help]" {
			t.Errorf("changes published: %v", h.seen)
		}
		for _, bad := range []wire.HelpRequest{{RequestID: "r2"}, {Text: "no id"}, {RequestID: "r3", Text: "x", Category: "<script>"}} {
			if _, _, err := h.svc.File(ctx, "dev1", "pc", bad); !errors.Is(err, tickets.ErrInvalid) {
				t.Errorf("bad request %+v: %v", bad, err)
			}
		}
	})
}

func TestRouting(t *testing.T) {
	st := storetest.Open(t)
	secret := []byte("enroll-secret-hash-0123456789abcd")
	if err := st.CreateToken(ctx, store.Token{ID: "tok", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), MaxUses: 1}, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnrollDevice(ctx, secret, store.Device{ID: "lab1", PublicKey: []byte("pk"), Hostname: "lab1", OS: "linux"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDeviceGroup(ctx, "lab1", "lab"); err != nil {
		t.Fatal(err)
	}
	rules := `[{"name":"printers","category":"printing","tier":1,"queue":"printers"},
		{"name":"vpn outage","check":"vpn-reachable","tier":2,"queue":"network"},
		{"name":"lab machines","group":"lab","tier":3}]`
	if err := st.PutSetting(ctx, tickets.RoutingSetting, rules); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, st, tickets.Policy{})
	for i, tt := range []struct {
		device, category string
		failing          []string
		tier             int
		queue            string
	}{
		{"dev1", "printing", []string{"vpn-reachable"}, 1, "printers"},
		{"dev1", "other", []string{"dns-resolution", "vpn-reachable"}, 2, "network"},
		{"lab1", "other", nil, 3, ""},
		{"dev1", "other", []string{"dns-resolution"}, 1, ""},
	} {
		req := helpRequest(fmt.Sprintf("req-%d", i), "help", tt.failing...)
		req.Category = tt.category
		tk, _, err := h.svc.File(ctx, tt.device, "", req)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Tier != tt.tier || tk.Queue != tt.queue {
			t.Errorf("case %d: tier %d queue %q, want %d %q", i, tk.Tier, tk.Queue, tt.tier, tt.queue)
		}
	}
	// A broken setting files to tier 1 rather than losing the request.
	st.PutSetting(ctx, tickets.RoutingSetting, `[{"name":"all","tier":2}]`)
	tk, _, err := h.svc.File(ctx, "lab1", "", helpRequest("req-x", "help"))
	if err != nil || tk.Tier != 1 {
		t.Errorf("with broken rules: tier %d %v", tk.Tier, err)
	}
	for _, bad := range []string{`{}`, `[{"name":"x","tier":2}]`, `[{"name":"x","group":"g","tier":7}]`, `[{"group":"g","tier":2}]`, `[{"name":"x","group":"g","tier":2,"colour":"red"}]`} {
		if _, err := tickets.ParseRules([]byte(bad)); err == nil {
			t.Errorf("rules %s accepted", bad)
		}
	}
}

func TestServiceRefusals(t *testing.T) {
	st := storetest.Open(t)
	h := newHarness(t, st, tickets.Policy{})
	tk, _, err := h.svc.File(ctx, "dev1", "pc", helpRequest("req-1", "help"))
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := h.svc.File(ctx, "dev1", "pc", helpRequest("req-2", "help"))
	id := tk.ID
	for _, tt := range []struct {
		name string
		do   func() error
		want error
	}{
		{"escalate to tier 9", func() error { _, err := h.svc.Escalate(ctx, id, "a", 9, "x"); return err }, tickets.ErrInvalid},
		{"escalate without a note", func() error { _, err := h.svc.Escalate(ctx, id, "a", 2, " "); return err }, tickets.ErrInvalid},
		{"escalate to the same tier", func() error { _, err := h.svc.Escalate(ctx, id, "a", 1, "x"); return err }, tickets.ErrState},
		{"wait with a made-up reason", func() error { _, err := h.svc.SetWaiting(ctx, id, "a", store.TicketWaitingUser, "lunch"); return err }, tickets.ErrInvalid},
		{"wait in a made-up state", func() error { _, err := h.svc.SetWaiting(ctx, id, "a", "sleeping", "user_info"); return err }, tickets.ErrInvalid},
		{"resume what is not waiting", func() error { _, err := h.svc.Resume(ctx, id, "a"); return err }, tickets.ErrState},
		{"empty message", func() error { _, err := h.svc.Message(ctx, id, "a", tickets.FromTechnician, ""); return err }, tickets.ErrInvalid},
		{"message from nobody", func() error { _, err := h.svc.Message(ctx, id, "a", "robot", "hi"); return err }, tickets.ErrInvalid},
		{"resolve without resolution", func() error { _, err := h.svc.Resolve(ctx, id, "a", ""); return err }, tickets.ErrInvalid},
		{"reopen an open ticket", func() error { _, err := h.svc.Reopen(ctx, id, "a", ""); return err }, tickets.ErrState},
		{"close an unresolved ticket", func() error { _, err := h.svc.Close(ctx, id, "a"); return err }, tickets.ErrState},
		{"survey before resolve", func() error { _, err := h.svc.Survey(ctx, id, "a", 5, ""); return err }, tickets.ErrState},
		{"survey score 6", func() error { _, err := h.svc.Survey(ctx, id, "a", 6, ""); return err }, tickets.ErrInvalid},
		{"link kind", func() error { _, err := h.svc.Link(ctx, id, "a", other.ID, "cousin"); return err }, tickets.ErrInvalid},
		{"link to itself", func() error { _, err := h.svc.Link(ctx, id, "a", id, store.LinkRelated); return err }, tickets.ErrInvalid},
		{"link to an unknown ticket", func() error { _, err := h.svc.Link(ctx, id, "a", "nope", store.LinkRelated); return err }, store.ErrNotFound},
		{"assign an unknown ticket", func() error { _, err := h.svc.Assign(ctx, "nope", "a", "a"); return err }, store.ErrNotFound},
		{"priority 0", func() error { _, err := h.svc.SetPriority(ctx, id, "a", 0, 1); return err }, tickets.ErrInvalid},
	} {
		if err := tt.do(); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if evs, _ := st.TicketEvents(ctx, id); len(evs) != 2 {
		t.Errorf("refusals left %d events, want the 2 of filing", len(evs))
	}
	// Repeats that change nothing add nothing.
	h.svc.Assign(ctx, id, "a", "ana")
	h.svc.Assign(ctx, id, "a", "ana")
	h.svc.AddCollaborator(ctx, id, "bo", "bo")
	h.svc.AddCollaborator(ctx, id, "bo", "bo")
	if evs, _ := st.TicketEvents(ctx, id); len(evs) != 4 {
		t.Errorf("repeats: %d events, want 4", len(evs))
	}
	if _, err := h.svc.Link(ctx, id, "a", other.ID, store.LinkDuplicate); err != nil {
		t.Fatal(err)
	}
	if links, _ := st.TicketLinks(ctx, other.ID); len(links) != 1 || links[0].Kind != "duplicated_by" {
		t.Errorf("links %+v", links)
	}
	// After resolve: refused until reopened; one survey only.
	h.svc.Resolve(ctx, id, "a", "done")
	if _, err := h.svc.Assign(ctx, id, "a", "bo"); !errors.Is(err, tickets.ErrState) {
		t.Errorf("assign a resolved ticket: %v", err)
	}
	h.svc.Survey(ctx, id, "u", 2, "")
	h.svc.Survey(ctx, id, "u", 5, "")
	if tk, _ := st.GetTicket(ctx, id); *tk.CSAT != 2 {
		t.Errorf("csat %d, want the first answer", *tk.CSAT)
	}
}

// TestLoop: the loop escalates a ticket left alone, without sleeping for
// the limit: the clock is moved, the loop polls fast.
func TestLoop(t *testing.T) {
	st := storetest.Open(t)
	h := newHarness(t, st, tickets.Policy{Limits: map[int]time.Duration{1: time.Minute, 2: time.Hour}})
	tk, _, err := h.svc.File(ctx, "dev1", "pc", helpRequest("req-1", "help"))
	if err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { h.svc.Loop(lctx, 5*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()
	h.clock.Set(t0.Add(61 * time.Second))
	var got store.Ticket
	testwait.Until(t, "the ticket escalated by the loop", func() bool {
		got, _ = st.GetTicket(ctx, tk.ID)
		return got.Tier == 2
	})
	if got.Breaches != 1 || got.State != store.TicketNew || !got.TierEnteredAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("escalated ticket %+v", got.TicketState)
	}
	// A check time the policy no longer explains is moved on, not
	// retried forever.
	st.SetTicketNextCheck(ctx, tk.ID, &t0)
	if n, err := h.svc.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("tick: %d %v", n, err)
	}
	if due, _ := st.DueTickets(ctx, h.clock.Now(), 10); len(due) != 0 {
		t.Errorf("still due: %v", due)
	}
}

// TestResync: a hub restarted with a shorter limit checks open tickets by
// the new limit, not the check time the old one set.
func TestResync(t *testing.T) {
	st := storetest.Open(t)
	old := newHarness(t, st, tickets.Policy{Limits: map[int]time.Duration{1: time.Hour}})
	tk, _, err := old.svc.File(ctx, "dev1", "pc", helpRequest("req-1", "help"))
	if err != nil {
		t.Fatal(err)
	}
	done, _, _ := old.svc.File(ctx, "dev1", "pc", helpRequest("req-2", "help"))
	old.svc.Resolve(ctx, done.ID, "ana", "ok")
	h := newHarness(t, st, tickets.Policy{Limits: map[int]time.Duration{1: time.Minute, 2: time.Hour}})
	if err := h.svc.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetTicket(ctx, tk.ID)
	if got.NextCheckAt == nil || !got.NextCheckAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("next check %v, want 30s after filing", got.NextCheckAt)
	}
	h.clock.Set(t0.Add(2 * time.Minute))
	if n, err := h.svc.Tick(ctx); err != nil || n != 1 {
		t.Fatalf("tick: %d %v", n, err)
	}
	if got, _ := st.GetTicket(ctx, tk.ID); got.Tier != 2 {
		t.Errorf("tier %d after the new limit passed", got.Tier)
	}
	if got, _ := st.GetTicket(ctx, done.ID); got.NextCheckAt != nil {
		t.Errorf("resolved ticket gets checked")
	}
}

func TestMetrics(t *testing.T) {
	st := storetest.Open(t)
	h := newHarness(t, st, tickets.Policy{Limits: map[int]time.Duration{1: 15 * time.Minute, 2: 4 * time.Hour, 3: 48 * time.Hour}})
	file := func(req string) string {
		tk, _, err := h.svc.File(ctx, "dev1", "pc", helpRequest(req, "help"))
		if err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	step := func(d time.Duration) { h.clock.Set(h.clock.Now().Add(d)); h.svc.Tick(ctx) }
	// A: first contact: answered after 2m, resolved at 5m in tier 1, CSAT 5.
	a := file("a")
	step(2 * time.Minute)
	h.svc.Message(ctx, a, "ana", tickets.FromTechnician, "on it")
	step(3 * time.Minute)
	h.svc.Resolve(ctx, a, "ana", "fixed")
	h.svc.Survey(ctx, a, "u", 5, "")
	// B: escalated automatically to tier 2, a run there after 20m total,
	// resolved at 30m, CSAT 3.
	b := file("b")
	step(16 * time.Minute)
	h.svc.RecordRun(ctx, b, "bo", "r1", "restart-service", "fixed")
	step(14 * time.Minute)
	h.svc.Resolve(ctx, b, "bo", "service restarted")
	h.svc.Survey(ctx, b, "u", 3, "")
	// C: still open in tier 1, filed 10 minutes before now.
	file("c")
	step(10 * time.Minute)
	// s1 fixed its problem on a device that does not come back (dev9).
	st.RecordHelpSession(ctx, store.HelpSessionRecord{DeviceID: "dev9", HelpSession: wire.HelpSession{SessionID: "s1", Started: t0, Ended: t0.Add(time.Minute), Failing: []string{"x"}, Recovered: []string{"x"}}})
	st.RecordHelpSession(ctx, store.HelpSessionRecord{DeviceID: "dev1", HelpSession: wire.HelpSession{SessionID: "s2", Started: t0, Ended: t0.Add(time.Minute), Ticket: true}})

	m, err := h.svc.Metrics(ctx, t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if m.Tickets != 3 || m.Overall.Resolved != 2 || m.Overall.FirstContact != 1 || m.FirstContactResolution != 0.5 {
		t.Errorf("overall %+v fcr %v", m.Overall, m.FirstContactResolution)
	}
	t1, t2 := m.Tiers[0], m.Tiers[1]
	if t1.Tier != 1 || t1.Entered != 3 || t1.Escalated != 1 || t1.Breached != 1 || t1.Resolved != 1 || t1.FirstContact != 1 {
		t.Errorf("tier 1 %+v", t1)
	}
	if t1.EscalationRate != 1.0/3 || t1.BreachRate != 1.0/3 {
		t.Errorf("tier 1 rates %v %v", t1.EscalationRate, t1.BreachRate)
	}
	// First responses are counted in the tier filed in: 2m and 16m.
	if t1.FirstResponse.Count != 2 || t1.FirstResponse.Mean != 540 || t1.FirstResponse.Max != 960 {
		t.Errorf("tier 1 first response %+v", t1.FirstResponse)
	}
	if t2.Tier != 2 || t2.Entered != 1 || t2.Resolved != 1 || t2.TimeToResolve.Mean != 1800 || t2.CSAT.Answers != 1 || t2.CSAT.Mean != 3 {
		t.Errorf("tier 2 %+v", t2)
	}
	if t1.TimeToResolve.Mean != 300 || t1.CSAT.Mean != 5 || m.Overall.CSAT.Mean != 4 {
		t.Errorf("tier 1 resolve %+v csat %+v overall csat %+v", t1.TimeToResolve, t1.CSAT, m.Overall.CSAT)
	}
	if t1.Backlog.Open != 1 || t1.Backlog.MaxAge != 600 || m.Overall.Backlog.Open != 1 {
		t.Errorf("backlog %+v", t1.Backlog)
	}
	// The same measures by channel and type: all three came from a device.
	for name, g := range map[string]tickets.GroupMetrics{"channel agent": m.ByChannel[store.IntakeAgent], "type incident": m.ByType[store.TypeIncident]} {
		if g.Tickets != 3 || g.Resolved != 2 || g.FirstContact != 1 || g.FirstContactResolution != 0.5 || g.Escalated != 1 ||
			g.Breached != 1 || g.CSAT.Answers != 2 || g.CSAT.Mean != 4 || g.FirstResponse.Count != 2 || g.TimeToResolve.Mean != 1050 {
			t.Errorf("%s: %+v", name, g)
		}
	}
	if len(m.ByChannel) != 1 || len(m.ByType) != 1 {
		t.Errorf("groups: %v %v", m.ByChannel, m.ByType)
	}
	// Every day of the period is listed; the counts add up.
	filed, resolved, fc, answers := 0, 0, 0, 0
	for i, d := range m.Days {
		if i > 0 && d.Day <= m.Days[i-1].Day {
			t.Errorf("days out of order: %v", m.Days)
		}
		filed, resolved, fc, answers = filed+d.Filed, resolved+d.Resolved, fc+d.FirstContact, answers+d.CSAT.Answers
	}
	if len(m.Days) < 1 || len(m.Days) > 2 || m.Days[0].Day != t0.UTC().Format(time.DateOnly) || filed != 3 || resolved != 2 || fc != 1 || answers != 2 {
		t.Errorf("days %+v", m.Days)
	}
	// s1's window is still open: pending, not yet deflected.
	if m.SelfHelp.Sessions != 2 || m.SelfHelp.Pending != 1 || m.SelfHelp.Deflected != 0 {
		t.Errorf("self-help %+v", m.SelfHelp)
	}
	h.clock.Set(t0.Add(tickets.DefaultDeflectionWindow + time.Hour))
	if m, err = h.svc.Metrics(ctx, t0, t0.Add(24*time.Hour)); err != nil || m.SelfHelp.Deflected != 1 || m.SelfHelp.Pending != 0 || m.SelfHelp.DeflectionRate != 0.5 {
		t.Errorf("self-help after the window: %+v %v", m.SelfHelp, err)
	}
	if _, err := h.svc.Metrics(ctx, t0, t0); !errors.Is(err, tickets.ErrInvalid) {
		t.Errorf("empty period: %v", err)
	}
}

// TestLinkParent: linking B to A as its parent shows A as B's parent and
// B as A's child, with the numbers and titles to show them; the link is
// on B's timeline, from the technician who made it.
func TestLinkParent(t *testing.T) {
	st := storetest.Open(t)
	h := newHarness(t, st, tickets.Policy{})
	parent, _, err := h.svc.File(ctx, "dev1", "pc1", helpRequest("req-p", "the whole floor has no network"))
	if err != nil {
		t.Fatal(err)
	}
	child, _, err := h.svc.File(ctx, "dev2", "pc2", helpRequest("req-c", "my mail does not load"))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := st.TicketEvents(ctx, parent.ID)
	if _, err := h.svc.Link(ctx, child.ID, "ana", parent.ID, store.LinkParent); err != nil {
		t.Fatal(err)
	}
	if links, err := st.TicketLinks(ctx, child.ID); err != nil || len(links) != 1 ||
		links[0] != (store.TicketLink{Other: parent.ID, Kind: "parent", Number: parent.Number, Title: parent.Title}) {
		t.Errorf("the child's links: %+v %v, want parent #%d", links, err, parent.Number)
	}
	if links, err := st.TicketLinks(ctx, parent.ID); err != nil || len(links) != 1 ||
		links[0] != (store.TicketLink{Other: child.ID, Kind: "child", Number: child.Number, Title: child.Title}) {
		t.Errorf("the parent's links: %+v %v, want child #%d", links, err, child.Number)
	}
	evs, err := st.TicketEvents(ctx, child.ID)
	if err != nil || len(evs) == 0 {
		t.Fatalf("child events: %v %v", evs, err)
	}
	last := evs[len(evs)-1]
	if last.Actor != "ana" || last.Data != (ticketevent.Link{Other: parent.ID, LinkKind: store.LinkParent}) {
		t.Errorf("the child's last event %+v, want ana's link to parent %s", last, parent.ID)
	}
	// The parent's own timeline is unchanged: its links list shows the child.
	if after, _ := st.TicketEvents(ctx, parent.ID); len(after) != len(before) {
		t.Errorf("linking the child added %d events to the parent", len(after)-len(before))
	}
	// The link does not change either ticket's tier or state.
	for _, id := range []string{parent.ID, child.ID} {
		if tk, err := st.GetTicket(ctx, id); err != nil || tk.Tier != 1 || tk.State != store.TicketNew && tk.State != store.TicketOpen {
			t.Errorf("ticket %s after linking: tier %d state %s %v", id, tk.Tier, tk.State, err)
		}
	}
}
