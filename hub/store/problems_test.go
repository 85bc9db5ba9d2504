package store_test

import (
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
)

func TestProblemsAndProposals(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		// Three devices' tickets share a signature, one device has two; a
		// fourth ticket has another signature; a resolved one is left out.
		sig := func(v string) func(*store.Ticket) { return func(tk *store.Ticket) { tk.Signature = v } }
		mustCreateTicket(t, s, "t1", "dev-a", "r1", t0, sig("dns-resolution"))
		mustCreateTicket(t, s, "t2", "dev-b", "r2", t0.Add(time.Second), sig("dns-resolution"))
		mustCreateTicket(t, s, "t3", "dev-b", "r3", t0.Add(2*time.Second), sig("dns-resolution"))
		mustCreateTicket(t, s, "t4", "dev-c", "r4", t0.Add(3*time.Second), sig("disk-almost-full"))
		mustCreateTicket(t, s, "t5", "dev-d", "r5", t0.Add(4*time.Second), sig("disk-almost-full"), func(tk *store.Ticket) { tk.State = store.TicketResolved })
		ps, err := s.ProblemProposals(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 || ps[0].Signature != "dns-resolution" || ps[0].Devices != 2 || len(ps[0].Tickets) != 3 {
			t.Fatalf("proposals %+v: want dns-resolution across 2 devices with 3 tickets", ps)
		}

		p := store.Problem{ID: "p1", Title: "Resolver on branch router drops queries", Signature: "dns-resolution", CreatedBy: "eng", CreatedAt: t0}
		if err := s.CreateProblem(ctx, p); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "duplicate problem", s.CreateProblem(ctx, p), store.ErrExists)
		// Linking happens through a ticket event; here the projection column.
		for _, id := range []string{"t1", "t2"} {
			if _, _, err := s.UpdateTicket(ctx, id, func(tk *store.Ticket) ([]store.TicketEvent, error) {
				tk.ProblemID = "p1"
				return []store.TicketEvent{{Time: t0.Add(time.Minute), Actor: "eng", Data: ticketevent.Problem{Problem: "p1"}}}, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetProblem(ctx, "p1")
		if err != nil || got.Tickets != 2 || got.State != store.ProblemOpen {
			t.Fatalf("problem %+v %v: want 2 tickets, open", got, err)
		}
		got.State, got.RootCause, got.Workaround = store.ProblemKnownError, "MTU on the branch link", "Use the secondary resolver"
		if err := s.UpdateProblem(ctx, got, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "update unknown", s.UpdateProblem(ctx, store.Problem{ID: "nope", Title: "x"}, t0), store.ErrNotFound)
		list, err := s.ListProblems(ctx, store.ProblemKnownError, 0)
		if err != nil || len(list) != 1 || list[0].Workaround != "Use the secondary resolver" {
			t.Fatalf("known errors %+v %v", list, err)
		}
		// Linked tickets are no longer proposed; one left on one device is
		// not a fleet pattern.
		ps, _ = s.ProblemProposals(ctx, 2)
		if len(ps) != 0 {
			t.Fatalf("proposals after linking: %+v", ps)
		}
		_, err = s.GetProblem(ctx, "nope")
		wantErr(t, "get unknown", err, store.ErrNotFound)
	})
}
