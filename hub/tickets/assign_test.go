package tickets_test

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
)

// Tickets entering a tier go to its available technicians: round robin
// takes turns, fewest open picks the least loaded; unavailable, disabled
// and other tiers' technicians get none; a ticket a technician took
// meanwhile is left alone; with the tier off nobody is assigned. On
// SQLite and PostgreSQL.
func TestAutomaticAssignment(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		for _, u := range []store.User{
			{ID: "u1", Name: "amy", Role: store.RoleTier1}, {ID: "u2", Name: "ben", Role: store.RoleTier1},
			{ID: "u3", Name: "cat", Role: store.RoleTier1}, {ID: "u4", Name: "dan", Role: store.RoleTier2},
			{ID: "u5", Name: "eve", Role: store.RoleTier2}, {ID: "u6", Name: "fay", Role: store.RoleAdmin},
		} {
			u.CreatedAt = t0
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"u1", "u2", "u4", "u5", "u6"} { // cat stays unavailable
			if err := st.SetUserAvailable(ctx, id, true); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SetUserDisabled(ctx, "u5", t0); err != nil { // eve is disabled
			t.Fatal(err)
		}
		h := newHarness(t, st, tickets.Policy{})
		as := tickets.NewAssigner(h.svc, st, slog.New(slog.DiscardHandler))
		open := func(text string) store.Ticket {
			t.Helper()
			tk, _, err := h.svc.Open(ctx, "ana", tickets.Intake{Requester: "maria", Text: text}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return tk
		}
		assign := func(tk store.Ticket) string {
			t.Helper()
			got, err := as.Assign(ctx, tk.ID, tk.Tier)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}

		// Off: nobody.
		if got := assign(open("off")); got != "" {
			t.Errorf("tier 1 off: assigned to %q", got)
		}
		if _, err := h.svc.SetAssignment(ctx, tickets.Assignment{Tiers: map[string]string{"1": tickets.AssignRoundRobin, "2": tickets.AssignFewestOpen}}); err != nil {
			t.Fatal(err)
		}
		// Round robin between amy and ben, never cat (unavailable).
		var turns []string
		for i := range 4 {
			h.clock.Set(t0.Add(time.Duration(i+1) * time.Minute))
			turns = append(turns, assign(open("rr")))
		}
		if want := []string{"amy", "ben", "amy", "ben"}; !slices.Equal(turns, want) {
			t.Errorf("round robin: %v, want %v", turns, want)
		}
		// A ticket someone took meanwhile stays theirs.
		taken := open("taken")
		if _, err := h.svc.Assign(ctx, taken.ID, "ana", "cat"); err != nil {
			t.Fatal(err)
		}
		if got := assign(taken); got != "" {
			t.Errorf("a ticket cat took was given to %q", got)
		}
		// Fewest open in tier 2: only dan is available and enabled.
		esc := open("escalate me")
		if _, err := h.svc.Escalate(ctx, esc.ID, "ana", 2, "needs tier 2"); err != nil {
			t.Fatal(err)
		}
		if got, err := as.Assign(ctx, esc.ID, 2); err != nil || got != "dan" {
			t.Errorf("tier 2 fewest open: %q %v, want dan", got, err)
		}
		tk, _ := st.GetTicket(ctx, esc.ID)
		if tk.Assignee != "dan" || tk.State != store.TicketOpen {
			t.Errorf("escalated ticket: assignee %q state %s", tk.Assignee, tk.State)
		}
		evs, _ := st.TicketEvents(ctx, esc.ID)
		if last := evs[len(evs)-1]; last.Actor != tickets.ActorAutoAssign {
			t.Errorf("assigned by %q, want %s", last.Actor, tickets.ActorAutoAssign)
		}
		// Fewest open picks the least loaded technician of tier 1.
		if _, err := h.svc.SetAssignment(ctx, tickets.Assignment{Tiers: map[string]string{"1": tickets.AssignFewestOpen}}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{turnsTicket(t, h, "amy")} {
			if _, err := h.svc.Resolve(ctx, id, "amy", "done"); err != nil {
				t.Fatal(err)
			}
		}
		// amy has 1 open, ben 2: amy gets the next.
		if got := assign(open("load")); got != "amy" {
			t.Errorf("fewest open: %q, want amy (1 open against ben's 2)", got)
		}
		// Bad settings are refused.
		for _, bad := range []tickets.Assignment{{Tiers: map[string]string{"4": tickets.AssignRoundRobin}}, {Tiers: map[string]string{"1": "random"}}, {Tiers: map[string]string{"x": tickets.AssignRoundRobin}}} {
			if _, err := h.svc.SetAssignment(ctx, bad); err == nil {
				t.Errorf("setting %v accepted", bad.Tiers)
			}
		}
	})
}

// turnsTicket returns the id of one open ticket assigned to name.
func turnsTicket(t *testing.T, h *harness, name string) string {
	t.Helper()
	list, err := h.svc.List(ctx, store.TicketFilter{Assignee: name})
	if err != nil || len(list) == 0 {
		t.Fatalf("tickets of %s: %v %d", name, err, len(list))
	}
	return list[0].ID
}
