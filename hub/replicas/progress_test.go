package replicas

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/testwait"
	"github.com/tierline/tierline/shared/wire"
)

// runsConsole records the runs and ticket changes a replica publishes to
// its pages.
type runsConsole struct {
	fakeConsole
	mu      sync.Mutex
	runs    []store.Run
	tickets []tickets.Change
}

func (c *runsConsole) PublishTicket(ch tickets.Change) {
	c.mu.Lock()
	c.tickets = append(c.tickets, ch)
	c.mu.Unlock()
}

func (c *runsConsole) ticketChanges() []tickets.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.tickets)
}

func (c *runsConsole) PublishRun(r store.Run) {
	c.mu.Lock()
	c.runs = append(c.runs, r)
	c.mu.Unlock()
}

func (c *runsConsole) last() (store.Run, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.runs) == 0 {
		return store.Run{}, 0
	}
	return c.runs[len(c.runs)-1], len(c.runs)
}

// TestRunProgressReachesOtherReplicas: a progress step stored by the
// replica holding the device reaches the pages of another replica with
// the step itself (read from the store), and without that replica taking
// the run for finished.
func TestRunProgressReachesOtherReplicas(t *testing.T) {
	st, ctx, start := replicaHarness(t)
	now := time.Now()
	if err := st.CreateRuns(ctx, nil, []store.Run{{ID: "p1", DeviceID: "d1", Fix: "install-software", RequestedBy: "admin",
		RequesterRole: store.RoleAdmin, Tier: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkRunSent(ctx, "p1", now); err != nil {
		t.Fatal(err)
	}
	conA, conB := &runsConsole{}, &runsConsole{}
	a := start("aaaaaaaaaaaaaaaa", &fakeGateway{}, conA)
	start("bbbbbbbbbbbbbbbb", &fakeGateway{}, conB)

	step := wire.RunProgress{RunID: "p1", Percent: 40, Text: "Unpacking hello (amd64)"}
	if ok, err := st.SetRunProgress(ctx, "d1", step, now.Add(time.Second)); !ok || err != nil {
		t.Fatalf("store the step: %v %v", ok, err)
	}
	a.RunProgress("p1")
	testwait.Until(t, "b's pages hearing the step", func() bool { _, n := conB.last(); return n == 1 })
	r, _ := conB.last()
	if r.ID != "p1" || r.State != store.RunSent || r.ProgressLine() != "Installing… 40% Unpacking hello (amd64)" {
		t.Fatalf("b published %s %s %q; want p1 sent with the step", r.ID, r.State, r.ProgressLine())
	}
	if _, n := conA.last(); n != 0 {
		t.Fatalf("a published its own step %d times from the notification (its pages have it already)", n)
	}
}

// TestFinishedRunsAndTicketsReachOtherReplicas: a run's result stored on
// one replica reaches another's pages with its state and outcome from the
// notification (the run is not in the store: nothing is read back), and a
// ticket change with the events it added.
func TestFinishedRunsAndTicketsReachOtherReplicas(t *testing.T) {
	st, ctx, start := replicaHarness(t)
	conB := &runsConsole{}
	a := start("aaaaaaaaaaaaaaaa", &fakeGateway{}, &runsConsole{})
	start("bbbbbbbbbbbbbbbb", &fakeGateway{}, conB)

	a.RunFinished(store.Run{ID: "not-stored", DeviceID: "d1", Ticket: "t9", State: store.RunDone, Outcome: "succeeded"})
	testwait.Until(t, "b's pages hearing the result", func() bool { _, n := conB.last(); return n == 1 })
	if r, _ := conB.last(); r.ID != "not-stored" || r.DeviceID != "d1" || r.Ticket != "t9" || r.State != store.RunDone || r.Outcome != "succeeded" {
		t.Fatalf("b published %+v; want the finished run of d1", r)
	}

	now := time.Now()
	tk := store.Ticket{ID: "t1", DeviceID: "d1", Requester: "maria", Title: "printer jammed", Body: "floor 2",
		TicketState: store.TicketState{State: store.TicketNew, Tier: 1, Impact: 3, Urgency: 3, Priority: 3, TierEnteredAt: now, Events: 1}}
	tk, created, err := st.CreateTicket(ctx, tk, []store.TicketEvent{{Time: now, Actor: "device:d1", Data: ticketevent.Filed{Tier: 1}}}, nil)
	if err != nil || !created {
		t.Fatalf("create ticket: %v %v", created, err)
	}
	evs, err := st.TicketEvents(ctx, "t1")
	if err != nil || len(evs) != 1 {
		t.Fatalf("ticket events: %v %v", evs, err)
	}
	a.TicketChanged(tickets.Change{Ticket: tk, Events: evs})
	testwait.Until(t, "b's pages hearing the ticket", func() bool { return len(conB.ticketChanges()) == 1 })
	if c := conB.ticketChanges()[0]; c.Ticket.ID != "t1" || len(c.Events) != 1 || c.Events[0].Kind() != evs[0].Kind() {
		t.Fatalf("b published ticket %s with %d events; want t1 with its filed event", c.Ticket.ID, len(c.Events))
	}
}
