package tickets_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
)

var (
	t0     = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday
	policy = tickets.Policy{Limits: tickets.DefaultLimits()}
)

func at(d time.Duration) time.Time { return t0.Add(d) }

// event makes an event from its data as the hub stores it (a JSON
// object), so these cases also read the stored format.
func event(d time.Duration, kind string, data map[string]any) store.TicketEvent {
	return store.TicketEvent{TicketID: "t", Time: at(d), Actor: "ana", Data: typed(kind, data)}
}

func typed(kind string, data map[string]any) ticketevent.Data {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	if data == nil {
		b = []byte("{}")
	}
	d, err := ticketevent.Decode(kind, b)
	if err != nil {
		panic(err)
	}
	return d
}

// build applies events to a fresh ticket.
func build(p tickets.Policy, events ...store.TicketEvent) store.Ticket {
	t := store.Ticket{ID: "t"}
	for _, e := range events {
		tickets.Apply(&t, e, p)
	}
	return t
}

func filed(tier int) store.TicketEvent {
	return event(0, tickets.EvFiled, map[string]any{"tier": tier})
}

// describe renders events as "kind@offset(data)" for compact comparison.
func describe(evs []store.TicketEvent) string {
	var parts []string
	for _, e := range evs {
		s := fmt.Sprintf("%s@%s", e.Kind(), e.Time.Sub(t0))
		switch d := e.Data.(type) {
		case ticketevent.SLAWarning:
			s += fmt.Sprintf("(%d%%)", d.Pct)
		case ticketevent.Escalated:
			s += fmt.Sprintf("(%d->%d)", d.From, d.To)
		case ticketevent.SLABreach:
			s += fmt.Sprintf("(t%d)", d.Tier)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestApplyStates(t *testing.T) {
	for _, tt := range []struct {
		name   string
		events []store.TicketEvent
		check  func(t *testing.T, tk store.Ticket)
	}{
		{"filed: new in its tier, clock running, priority from defaults", []store.TicketEvent{filed(1)}, func(t *testing.T, tk store.Ticket) {
			if tk.State != store.TicketNew || tk.Tier != 1 || !tk.ClockRunning || tk.Priority != 4 || tk.NextCheckAt == nil || !tk.NextCheckAt.Equal(at(450*time.Second)) {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
		{"assigned opens, unassigned is new again", []store.TicketEvent{filed(1), event(time.Minute, tickets.EvAssigned, map[string]any{"to": "ana"})}, func(t *testing.T, tk store.Ticket) {
			if tk.State != store.TicketOpen || tk.Assignee != "ana" || tk.FirstResponseAt != nil {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
		{"technician message is the first response; the second is not", []store.TicketEvent{filed(1),
			event(2*time.Minute, tickets.EvMessage, map[string]any{"from": "technician", "text": "hi"}),
			event(3*time.Minute, tickets.EvMessage, map[string]any{"from": "technician", "text": "again"})}, func(t *testing.T, tk store.Ticket) {
			if tk.FirstResponseAt == nil || !tk.FirstResponseAt.Equal(at(2*time.Minute)) {
				t.Errorf("first response %v", tk.FirstResponseAt)
			}
		}},
		{"a run is a first response", []store.TicketEvent{filed(1), event(time.Minute, tickets.EvRun, map[string]any{"fix": "flush-dns"})}, func(t *testing.T, tk store.Ticket) {
			if tk.FirstResponseAt == nil {
				t.Error("no first response")
			}
		}},
		{"waiting pauses, the user's answer resumes", []store.TicketEvent{filed(1),
			event(2*time.Minute, tickets.EvAssigned, map[string]any{"to": "ana"}),
			event(4*time.Minute, tickets.EvWaiting, map[string]any{"state": store.TicketWaitingUser, "reason": "user_info"}),
			event(time.Hour, tickets.EvMessage, map[string]any{"from": "user", "text": "done"})}, func(t *testing.T, tk store.Ticket) {
			if tk.State != store.TicketOpen || tk.WaitingReason != "" || !tk.ClockRunning || tk.ClockUsed != 4*time.Minute ||
				!tk.ClockSince.Equal(at(time.Hour)) || !tk.NextCheckAt.Equal(at(time.Hour+210*time.Second)) {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
		{"while waiting nothing is checked", []store.TicketEvent{filed(1),
			event(4*time.Minute, tickets.EvWaiting, map[string]any{"state": store.TicketWaitingUser, "reason": "user_info"})}, func(t *testing.T, tk store.Ticket) {
			if tk.State != store.TicketWaitingUser || tk.WaitingReason != "user_info" || tk.ClockRunning || tk.NextCheckAt != nil {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
		{"escalation resets the clock, unassigns, back to new", []store.TicketEvent{filed(1),
			event(time.Minute, tickets.EvAssigned, map[string]any{"to": "ana"}),
			event(10*time.Minute, tickets.EvSLAWarning, map[string]any{"pct": 50}),
			event(12*time.Minute, tickets.EvEscalated, map[string]any{"from": 1, "to": 2, "note": "needs admin rights"})}, func(t *testing.T, tk store.Ticket) {
			if tk.Tier != 2 || tk.State != store.TicketNew || tk.Assignee != "" || tk.WarnedPct != 0 || tk.ClockUsed != 0 ||
				!tk.TierEnteredAt.Equal(at(12*time.Minute)) || tk.Escalations != 1 || !tk.NextCheckAt.Equal(at(12*time.Minute+2*time.Hour)) {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
		{"resolved stops the clock; reopened runs it on", []store.TicketEvent{filed(1),
			event(5*time.Minute, tickets.EvResolved, map[string]any{"resolution": "flushed dns"}),
			event(time.Hour, tickets.EvReopened, nil)}, func(t *testing.T, tk store.Ticket) {
			if tk.State != store.TicketNew || tk.ResolvedAt != nil || tk.ClockUsed != 5*time.Minute || !tk.ClockRunning {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
		{"resolved, survey, closed", []store.TicketEvent{filed(1),
			event(5*time.Minute, tickets.EvResolved, map[string]any{"resolution": "flushed dns"}),
			event(6*time.Minute, tickets.EvSurvey, map[string]any{"score": 4}),
			event(7*time.Minute, tickets.EvClosed, nil)}, func(t *testing.T, tk store.Ticket) {
			if tk.State != store.TicketClosed || tk.Resolution != "flushed dns" || *tk.CSAT != 4 || tk.ClosedAt == nil || tk.NextCheckAt != nil || tk.ClockRunning {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
		{"priority from the matrix", []store.TicketEvent{filed(1), event(time.Minute, tickets.EvPriority, map[string]any{"impact": 1, "urgency": 2})}, func(t *testing.T, tk store.Ticket) {
			if tk.Priority != 2 || tk.Impact != 1 || tk.Urgency != 2 {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
		{"vendor: waiting, due checked", []store.TicketEvent{filed(3),
			event(time.Minute, tickets.EvVendorSent, map[string]any{"vendor": "acme", "due": at(24 * time.Hour).Format(time.RFC3339Nano)}),
			event(2*time.Minute, tickets.EvVendorRef, map[string]any{"ref": "ACME-1"})}, func(t *testing.T, tk store.Ticket) {
			if tk.State != store.TicketWaitingVendor || tk.VendorRef != "ACME-1" || tk.ClockRunning || tk.NextCheckAt == nil || !tk.NextCheckAt.Equal(at(24*time.Hour)) {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
		{"collaborators once each; unknown kinds only count", []store.TicketEvent{filed(1),
			event(time.Minute, tickets.EvCollaborator, map[string]any{"user": "bo"}),
			event(time.Minute, tickets.EvCollaborator, map[string]any{"user": "bo"}),
			event(time.Minute, "from_the_future", nil)}, func(t *testing.T, tk store.Ticket) {
			if len(tk.Collaborators) != 1 || tk.Events != 4 {
				t.Errorf("%+v", tk.TicketState)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, build(policy, tt.events...)) })
	}
}

func TestTriggers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tier   int
		events []store.TicketEvent
		now    time.Duration
		want   string
	}{
		{"nothing due yet", 1, nil, 7 * time.Minute, ""},
		{"50%", 1, nil, 8 * time.Minute, "sla_warning@7m30s(50%)"},
		{"50% and 75% at once", 1, nil, 12 * time.Minute, "sla_warning@7m30s(50%) sla_warning@11m15s(75%)"},
		{"already warned at 50%", 1, []store.TicketEvent{event(7*time.Minute+30*time.Second, tickets.EvSLAWarning, map[string]any{"pct": 50})},
			12 * time.Minute, "sla_warning@11m15s(75%)"},
		{"100%: breach and escalation to tier 2", 1, nil, 15 * time.Minute,
			"sla_warning@7m30s(50%) sla_warning@11m15s(75%) sla_breach@15m0s(t1) escalated@15m0s(1->2)"},
		{"never before the last event", 1, []store.TicketEvent{event(20*time.Minute, tickets.EvCollaborator, map[string]any{"user": "bo"})},
			21 * time.Minute, "sla_warning@20m0s(50%) sla_warning@20m0s(75%) sla_breach@20m0s(t1) escalated@20m0s(1->2)"},
		{"a long outage walks the tiers", 1, nil, 15*time.Minute + 48*time.Hour + 4*time.Hour,
			"sla_warning@7m30s(50%) sla_warning@11m15s(75%) sla_breach@15m0s(t1) escalated@15m0s(1->2) " +
				"sla_warning@2h15m0s(50%) sla_warning@3h15m0s(75%) sla_breach@4h15m0s(t2) escalated@4h15m0s(2->3) " +
				"sla_warning@28h15m0s(50%) sla_warning@40h15m0s(75%) sla_breach@52h15m0s(t3)"},
		{"tier 3: a breach only, once", 3, nil, 100 * time.Hour, "sla_warning@24h0m0s(50%) sla_warning@36h0m0s(75%) sla_breach@48h0m0s(t3)"},
		{"paused: nothing", 1, []store.TicketEvent{event(time.Minute, tickets.EvWaiting, map[string]any{"state": store.TicketWaitingUser, "reason": "user_info"})},
			time.Hour, ""},
		{"pause counted out", 1, []store.TicketEvent{
			event(5*time.Minute, tickets.EvWaiting, map[string]any{"state": store.TicketWaitingUser, "reason": "user_info"}),
			event(time.Hour, tickets.EvResumed, nil)}, time.Hour + 5*time.Minute, "sla_warning@1h2m30s(50%)"},
		{"resolved: nothing", 1, []store.TicketEvent{event(time.Minute, tickets.EvResolved, map[string]any{"resolution": "ok"})}, time.Hour, ""},
		{"tier without a limit: nothing", 4, nil, 1000 * time.Hour, ""},
		{"vendor overdue", 3, []store.TicketEvent{event(time.Minute, tickets.EvVendorSent, map[string]any{"vendor": "acme", "due": at(2 * time.Hour).Format(time.RFC3339Nano)})},
			3 * time.Hour, "vendor_overdue@2h0m0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tk := build(policy, append([]store.TicketEvent{filed(tt.tier)}, tt.events...)...)
			before := tk
			got := tickets.Triggers(&tk, policy, at(tt.now))
			if d := describe(got); d != tt.want {
				t.Errorf("triggers at %s:\n got %s\nwant %s", tt.now, d, tt.want)
			}
			if diff := cmp.Diff(before, tk); diff != "" {
				t.Errorf("Triggers changed the ticket:\n%s", diff)
			}
			// Applying them leaves nothing due at the same instant, and
			// the next check is after now.
			for _, e := range got {
				tickets.Apply(&tk, e, policy)
			}
			if again := tickets.Triggers(&tk, policy, at(tt.now)); len(again) > 0 {
				t.Errorf("still due after applying: %s", describe(again))
			}
			if tk.NextCheckAt != nil && !tk.NextCheckAt.After(at(tt.now)) {
				t.Errorf("next check %s is not after now", tk.NextCheckAt.Sub(t0))
			}
		})
	}
}

// With business hours, the limit counts only business time: a Tier 1
// ticket filed Friday 16:55 breaches Monday 09:10.
func TestTriggersBusinessHours(t *testing.T) {
	hours, err := tickets.ParseBusinessHours("mon-fri 09:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	p := tickets.Policy{Limits: tickets.DefaultLimits(), Hours: hours}
	fri := time.Date(2026, 3, 6, 16, 55, 0, 0, time.UTC)
	tk := store.Ticket{ID: "t"}
	tickets.Apply(&tk, store.TicketEvent{Time: fri, Data: ticketevent.Filed{Tier: 1}}, p)
	if got := tickets.Triggers(&tk, p, fri.Add(48*time.Hour)); len(got) != 0 {
		t.Fatalf("over the weekend: %v", got)
	}
	if got := tickets.Triggers(&tk, p, time.Date(2026, 3, 9, 9, 3, 0, 0, time.UTC)); len(got) != 1 || got[0].Data.(ticketevent.SLAWarning).Pct != 50 ||
		!got[0].Time.Equal(time.Date(2026, 3, 9, 9, 2, 30, 0, time.UTC)) {
		t.Fatalf("monday 09:03: %v", got)
	}
	mon := time.Date(2026, 3, 9, 9, 10, 0, 0, time.UTC)
	got := tickets.Triggers(&tk, p, mon)
	if len(got) != 4 || got[2].Kind() != tickets.EvSLABreach || !got[2].Time.Equal(mon) {
		t.Fatalf("monday 09:10: %v", got)
	}
}
