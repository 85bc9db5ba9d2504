package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// newTicket is a ticket as the service would file it, with its filed event.
func newTicket(id, dev, req string, at time.Time) (store.Ticket, []store.TicketEvent) {
	t := store.Ticket{ID: id, DeviceID: dev, RequestID: req, Requester: "maria", Title: "printer " + id, Body: "the printer on floor 2 is jammed",
		Category: "printing", Signature: "dns-resolution,printer-queue",
		Snapshot: &wire.Snapshot{Taken: at, Checks: []diag.CheckResult{{Name: "printer-queue", Status: diag.StatusFailing}}},
		TicketState: store.TicketState{State: store.TicketNew, Tier: 1, Impact: 3, Urgency: 3, Priority: 3, TierEnteredAt: at,
			ClockSince: &at, ClockRunning: true, Events: 1}}
	next := at.Add(time.Minute)
	t.NextCheckAt = &next
	return t, []store.TicketEvent{{Time: at, Actor: "device:" + dev, Data: ticketevent.Filed{Tier: 1}}}
}

func mustCreateTicket(t *testing.T, s *store.Store, id, dev, req string, at time.Time, edit ...func(*store.Ticket)) store.Ticket {
	t.Helper()
	tk, evs := newTicket(id, dev, req, at)
	for _, fn := range edit {
		fn(&tk)
	}
	got, created, err := s.CreateTicket(ctx, tk, evs, nil)
	if err != nil || !created {
		t.Fatalf("create ticket %s: created %v, %v", id, created, err)
	}
	return got
}

func TestTicketCreateIdempotentAndNumbered(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		tk, evs := newTicket("t1", "d1", "req-1", t0)
		got, created, err := s.CreateTicket(ctx, tk, evs, []byte("\x89PNG"))
		if err != nil || !created || got.Number != 1 {
			t.Fatalf("first create: number %d created %v err %v", got.Number, created, err)
		}
		// The same device and request id: the same ticket, not a new one,
		// even with another ticket id (the agent's spool replays it).
		tk2, evs2 := newTicket("t1-again", "d1", "req-1", t0.Add(time.Minute))
		again, created, err := s.CreateTicket(ctx, tk2, evs2, nil)
		if err != nil || created || again.ID != "t1" || again.Number != 1 {
			t.Fatalf("replayed create: %+v created %v err %v", again.ID, created, err)
		}
		// Another device may use the same request id.
		other := mustCreateTicket(t, s, "t2", "d2", "req-1", t0.Add(time.Second))
		if other.Number != 2 {
			t.Fatalf("second ticket numbered %d, want 2", other.Number)
		}
		if _, _, err := s.CreateTicket(ctx, store.Ticket{ID: "x"}, nil, nil); err == nil {
			t.Error("a ticket without title and events was stored")
		}

		full, err := s.GetTicket(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		if full.Snapshot == nil || len(full.Snapshot.Checks) != 1 || full.Tried == nil || !full.HasScreenshot {
			t.Fatalf("snapshot, self-help or screenshot lost: %+v", full)
		}
		if full.State != store.TicketNew || full.Tier != 1 || full.ClockSince == nil || !full.ClockSince.Equal(t0) || !full.CreatedAt.Equal(t0) {
			t.Fatalf("projection not stored: %+v", full.TicketState)
		}
		shot, err := s.TicketScreenshot(ctx, "t1")
		if err != nil || string(shot) != "\x89PNG" {
			t.Fatalf("screenshot %q %v", shot, err)
		}
		wantErr(t, "screenshot of t2", func() error { _, err := s.TicketScreenshot(ctx, "t2"); return err }(), store.ErrNotFound)
		wantErr(t, "unknown ticket", func() error { _, err := s.GetTicket(ctx, "nope"); return err }(), store.ErrNotFound)
		evs, err = s.TicketEvents(ctx, "t1")
		if err != nil || len(evs) != 1 || evs[0].Data != (ticketevent.Filed{Tier: 1}) || evs[0].ID == 0 {
			t.Fatalf("events of t1: %+v %v", evs, err)
		}
	})
}

// TestTicketConcurrentCreate: many filings at once, some replays of the
// same request: each request makes one ticket, numbers are 1..n.
func TestTicketConcurrentCreate(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := 0; i < 2*n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				tk, evs := newTicket(fmt.Sprintf("c%d", i), "d1", fmt.Sprintf("req-%d", i%n), t0)
				if _, _, err := s.CreateTicket(ctx, tk, evs, nil); err != nil {
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		all, err := s.ListTickets(ctx, store.TicketFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != n {
			t.Fatalf("%d tickets for %d requests", len(all), n)
		}
		seen := map[int64]bool{}
		for _, tk := range all {
			if tk.Number < 1 || tk.Number > n || seen[tk.Number] {
				t.Errorf("ticket %s numbered %d", tk.ID, tk.Number)
			}
			seen[tk.Number] = true
		}
	})
}

func TestTicketUpdateAtomic(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustCreateTicket(t, s, "t1", "d1", "r1", t0)
		mustCreateTicket(t, s, "t2", "d1", "r2", t0)

		// An error from fn: no event, no change.
		boom := errors.New("boom")
		_, _, err := s.UpdateTicket(ctx, "t1", func(tk *store.Ticket) ([]store.TicketEvent, error) {
			tk.State = store.TicketResolved
			return []store.TicketEvent{{Time: t0.Add(time.Minute), Actor: "ana", Data: ticketevent.Resolved{}}}, boom
		})
		wantErr(t, "failing update", err, boom)
		// A failure while appending (link to an unknown ticket) also rolls
		// back the state change made by fn.
		_, _, err = s.UpdateTicket(ctx, "t1", func(tk *store.Ticket) ([]store.TicketEvent, error) {
			tk.State = store.TicketResolved
			return []store.TicketEvent{{Time: t0.Add(time.Minute), Actor: "ana", Data: ticketevent.Link{Other: "nope", LinkKind: store.LinkRelated}}}, nil
		})
		wantErr(t, "link to an unknown ticket", err, store.ErrNotFound)
		_, _, err = s.UpdateTicket(ctx, "t1", func(tk *store.Ticket) ([]store.TicketEvent, error) {
			return []store.TicketEvent{{Time: t0.Add(time.Minute), Actor: "ana", Data: ticketevent.Link{Other: "t1", LinkKind: store.LinkRelated}}}, nil
		})
		wantErr(t, "link to itself", err, store.ErrSelfLink)
		tk, _ := s.GetTicket(ctx, "t1")
		evs, _ := s.TicketEvents(ctx, "t1")
		if tk.State != store.TicketNew || len(evs) != 1 {
			t.Fatalf("failed updates left state %s and %d events", tk.State, len(evs))
		}
		// No events: nothing is saved even if fn changed the ticket.
		if _, _, err := s.UpdateTicket(ctx, "t1", func(tk *store.Ticket) ([]store.TicketEvent, error) {
			tk.Assignee = "ghost"
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "unknown ticket", func() error {
			_, _, err := s.UpdateTicket(ctx, "nope", func(*store.Ticket) ([]store.TicketEvent, error) { return nil, nil })
			return err
		}(), store.ErrNotFound)

		// A real change: events appended with ids, state saved with them.
		at := t0.Add(2 * time.Minute)
		got, evs, err := s.UpdateTicket(ctx, "t1", func(tk *store.Ticket) ([]store.TicketEvent, error) {
			tk.State, tk.Assignee, tk.Events = store.TicketOpen, "ana", tk.Events+3
			tk.Collaborators = append(tk.Collaborators, "bob")
			tk.FirstResponseAt = &at
			tk.ClockUsed = 2 * time.Minute
			return []store.TicketEvent{
				{Time: at, Actor: "ana", Data: ticketevent.Assigned{To: "ana"}},
				{Time: at, Actor: "bob", Data: ticketevent.Collaborator{User: "bob"}},
				{Time: at, Actor: "ana", Data: ticketevent.Link{Other: "t2", LinkKind: store.LinkDuplicate}},
			}, nil
		})
		if err != nil || len(evs) != 3 || evs[0].ID == 0 || evs[2].ID <= evs[0].ID || !got.UpdatedAt.Equal(at) {
			t.Fatalf("update: %+v %v", evs, err)
		}
		tk, _ = s.GetTicket(ctx, "t1")
		if tk.State != store.TicketOpen || tk.Assignee != "ana" || tk.Events != 4 || tk.ClockUsed != 2*time.Minute ||
			tk.FirstResponseAt == nil || !tk.FirstResponseAt.Equal(at) || len(tk.Collaborators) != 1 || !tk.UpdatedAt.Equal(at) {
			t.Fatalf("stored ticket %+v", tk.TicketState)
		}
		if c, _ := s.Collaborators(ctx, "t1"); len(c) != 1 || c[0] != "bob" {
			t.Errorf("collaborators %v", c)
		}
		links, err := s.TicketLinks(ctx, "t1")
		if err != nil || len(links) != 1 || links[0].Other != "t2" || links[0].Kind != store.LinkDuplicate || links[0].Number != 2 {
			t.Errorf("links of t1: %+v %v", links, err)
		}
		links, _ = s.TicketLinks(ctx, "t2")
		if len(links) != 1 || links[0].Other != "t1" || links[0].Kind != "duplicated_by" {
			t.Errorf("links of t2: %+v", links)
		}
		all, err := s.TicketEvents(ctx, "t1")
		if err != nil || len(all) != 4 || all[3].Data.(ticketevent.Link).Other != "t2" {
			t.Fatalf("timeline %+v %v", all, err)
		}
	})
}

func TestTicketFiltersAndDue(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustCreateTicket(t, s, "a", "d1", "r1", t0)
		mustCreateTicket(t, s, "b", "d2", "r2", t0.Add(time.Second), func(tk *store.Ticket) {
			tk.Title, tk.Body = "VPN drops every hour", "since Monday"
		})
		mustCreateTicket(t, s, "c", "d1", "r3", t0.Add(2*time.Second))
		set := func(id string, fn func(*store.Ticket)) {
			t.Helper()
			if _, _, err := s.UpdateTicket(ctx, id, func(tk *store.Ticket) ([]store.TicketEvent, error) {
				fn(tk)
				return []store.TicketEvent{{Time: t0.Add(time.Minute), Actor: "x", Data: ticketevent.Unknown{Name: "test"}}}, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		set("b", func(tk *store.Ticket) {
			tk.Tier, tk.State, tk.Assignee = 2, store.TicketOpen, "ana"
			n := t0.Add(10 * time.Minute)
			tk.NextCheckAt = &n
		})
		set("c", func(tk *store.Ticket) { tk.State, tk.NextCheckAt = store.TicketResolved, nil })

		for _, tt := range []struct {
			name string
			f    store.TicketFilter
			want string
		}{
			{"all, oldest first", store.TicketFilter{}, "a,b,c"},
			{"tier", store.TicketFilter{Tier: 2}, "b"},
			{"states", store.TicketFilter{States: []string{store.TicketNew, store.TicketResolved}}, "a,c"},
			{"device", store.TicketFilter{DeviceID: "d1"}, "a,c"},
			{"assignee", store.TicketFilter{Assignee: "ana"}, "b"},
			{"words in title or body, any case", store.TicketFilter{Q: "vpn HOUR"}, "b"},
			{"words in body", store.TicketFilter{Q: "jammed"}, "a,c"},
			{"like wildcards are text", store.TicketFilter{Q: "%"}, "a,b,c"},
			{"ticket number", store.TicketFilter{Q: "#2"}, "b"},
			{"ticket number and a word", store.TicketFilter{Q: "3 jammed"}, "c"},
			{"signature", store.TicketFilter{Signature: "dns-resolution,printer-queue"}, "a,b,c"},
			{"limit and offset", store.TicketFilter{Limit: 1, Offset: 1}, "b"},
			{"newest first", store.TicketFilter{NewestFirst: true}, "c,b,a"},
			{"a device's newest", store.TicketFilter{DeviceID: "d1", NewestFirst: true, Limit: 1}, "c"},
			{"nothing", store.TicketFilter{Tier: 3}, ""},
		} {
			got, err := s.ListTickets(ctx, tt.f)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if ids := ticketIDs(got); ids != tt.want {
				t.Errorf("%s: %s, want %s", tt.name, ids, tt.want)
			}
		}
		counts, err := s.CountTickets(ctx)
		if err != nil || counts[1][store.TicketNew] != 1 || counts[1][store.TicketResolved] != 1 || counts[2][store.TicketOpen] != 1 {
			t.Errorf("counts %v %v", counts, err)
		}

		// Due: a is checked at t0+1m, b at t0+10m, c never.
		for _, tt := range []struct {
			now  time.Time
			want string
		}{{t0, ""}, {t0.Add(time.Minute), "a"}, {t0.Add(time.Hour), "a,b"}} {
			ids, err := s.DueTickets(ctx, tt.now, 10)
			if err != nil {
				t.Fatal(err)
			}
			if got := runIDList(ids); got != tt.want {
				t.Errorf("due at %s: %s, want %s", tt.now.Sub(t0), got, tt.want)
			}
		}
		if ids, _ := s.DueTickets(ctx, t0.Add(time.Hour), 1); len(ids) != 1 || ids[0] != "a" {
			t.Errorf("due with limit 1: %v", ids)
		}

		// Events of tickets created in a period.
		evs, err := s.TicketEventsOf(ctx, t0.Add(time.Second), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, e := range evs {
			got[e.TicketID]++
		}
		if len(got) != 2 || got["b"] != 2 || got["c"] != 2 {
			t.Errorf("events of b and c: %v", got)
		}
	})
}

func TestHelpSessionCounts(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		rec := func(dev, id string, ended time.Time, ticket bool, failing, recovered []string) {
			t.Helper()
			if err := s.RecordHelpSession(ctx, store.HelpSessionRecord{DeviceID: dev, HelpSession: wire.HelpSession{SessionID: id,
				Started: ended.Add(-time.Minute), Ended: ended, Ticket: ticket, Failing: failing, Recovered: recovered}}); err != nil {
				t.Fatal(err)
			}
		}
		in := t0.Add(time.Hour)
		rec("d1", "s1", in, true, []string{"dns-resolution"}, nil)                                                     // ticket
		rec("d1", "s2", in, false, []string{"dns-resolution", "disk-space"}, []string{"disk-space", "dns-resolution"}) // deflected
		rec("d1", "s3", in, false, []string{"dns-resolution", "disk-space"}, []string{"disk-space"})                   // partly recovered: not confirmed
		rec("d1", "s4", in, false, nil, nil)                                                                           // nothing failing: not confirmed
		rec("d2", "s2", in, false, []string{"printer-queue"}, []string{"printer-queue"})                               // same id, other device: deflected
		rec("d3", "s6", in, false, []string{"disk-space", "app-crashing"}, []string{"disk-space"})                     // a lasting check cannot recover in a session: deflected
		rec("d3", "s7", in, false, []string{"app-crashing", "oom-kills"}, []string{"app-crashing", "oom-kills"})       // only lasting checks: not confirmed
		rec("d1", "s2", in, true, nil, nil)                                                                            // replay: ignored
		rec("d1", "s5", t0.Add(48*time.Hour), false, []string{"x"}, []string{"x"})                                     // outside the period
		// No window: every recovered session counts as deflected at once.
		c, err := s.HelpSessionCounts(ctx, t0, t0.Add(24*time.Hour), 0, t0.Add(24*time.Hour))
		if err != nil || c.Total != 7 || c.Ticket != 1 || c.Recovered != 3 || c.Deflected != 3 {
			t.Fatalf("%+v (%v), want 7 sessions, 1 ticket, 3 recovered and deflected", c, err)
		}
	})
}

// A recovered session counts as deflected only once its window has passed
// without its device coming back about it: another Get help session or a
// ticket from the same device within the window takes it back; another
// device coming back does not; until the window closes it is pending.
func TestHelpSessionDeflectionWindow(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		rec := func(dev, id string, started, ended time.Time, ticket bool, failing, recovered []string) {
			t.Helper()
			if err := s.RecordHelpSession(ctx, store.HelpSessionRecord{DeviceID: dev, HelpSession: wire.HelpSession{SessionID: id,
				Started: started, Ended: ended, Ticket: ticket, Failing: failing, Recovered: recovered}}); err != nil {
				t.Fatal(err)
			}
		}
		fixed := []string{"disk-almost-full"}
		at := t0.Add(time.Hour)
		rec("a", "a1", at.Add(-time.Minute), at, false, fixed, fixed)                               // came back: a2 a day later
		rec("a", "a2", at.Add(24*time.Hour), at.Add(24*time.Hour+time.Minute), true, fixed, nil)    // (its own period: outside)
		rec("b", "b1", at.Add(-time.Minute), at, false, fixed, fixed)                               // came back: a ticket 2 days later
		rec("c", "c1", at.Add(-time.Minute), at, false, fixed, fixed)                               // deflected: c2 came after the window
		rec("c", "c2", at.Add(100*time.Hour), at.Add(100*time.Hour+time.Minute), false, nil, nil)   // (outside)
		rec("d", "d1", at.Add(-time.Minute), at, false, fixed, fixed)                               // deflected: only another device came back
		rec("e", "e1", at.Add(20*time.Hour-time.Minute), at.Add(20*time.Hour), false, fixed, fixed) // pending: window still open
		tk, evs := newTicket("tb", "b", "rb", at.Add(48*time.Hour))
		if _, _, err := s.CreateTicket(ctx, tk, evs, nil); err != nil {
			t.Fatal(err)
		}
		now := at.Add(73 * time.Hour)
		c, err := s.HelpSessionCounts(ctx, t0, t0.Add(24*time.Hour), 72*time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.SessionCounts{Total: 5, Recovered: 5, CameBack: 2, Deflected: 2, Pending: 1}); c != want {
			t.Errorf("counts %+v, want %+v", c, want)
		}
	})
}

func ticketIDs(ts []store.Ticket) string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return runIDList(ids)
}

// What the user tried before filing is stored once, as the self_help
// event; the ticket's Tried is read from it. Tickets filed before keep it
// in the tried column as well, and read it from there.
func TestTicketSelfHelpStoredOnce(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ran := t0.Add(-time.Minute).UTC()
		tried := wire.SelfHelp{Articles: []string{"kb-1"}, Runs: []wire.TriedFix{{Fix: "flush-dns", Outcome: "not_fixed", Reason: "still slow", Time: ran}}}
		tk, evs := newTicket("t1", "d1", "r1", t0)
		tk.Tried = &tried // not stored: the event is the record
		evs = append(evs, store.TicketEvent{Time: t0, Actor: "device:d1", Data: ticketevent.NewSelfHelp(tried)})
		if _, _, err := s.CreateTicket(ctx, tk, evs, nil); err != nil {
			t.Fatal(err)
		}
		full, err := s.GetTicket(ctx, "t1")
		if err != nil || full.Tried == nil || fmt.Sprint(*full.Tried) != fmt.Sprint(tried) {
			t.Fatalf("tried read from the event: %+v %v; want %+v", full.Tried, err, tried)
		}
		var column sql.NullString
		if err := s.DB().QueryRow(`SELECT tried FROM tickets WHERE id = 't1'`).Scan(&column); err != nil || column.Valid {
			t.Errorf("tried column %+v %v: want NULL", column, err)
		}

		// A ticket filed before: the column and the event in the old
		// format (runs without a time).
		mustCreateTicket(t, s, "t2", "d1", "r2", t0)
		old := `{"articles":["kb-9"],"runs":[{"fix":"flush-dns","outcome":"fixed","time":"2026-03-02T08:59:00Z"}]}`
		if _, err := s.DB().Exec(`UPDATE tickets SET tried = '` + old + `' WHERE id = 't2'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().Exec(fmt.Sprintf(`INSERT INTO ticket_events (ticket_id, time, actor, kind, data) VALUES ('t2', %d, 'device:d1', 'self_help', '%s')`,
			t0.UnixNano(), `{"articles":["kb-9"],"runs":[{"fix":"flush-dns","outcome":"fixed","reason":""}]}`)); err != nil {
			t.Fatal(err)
		}
		full, err = s.GetTicket(ctx, "t2")
		if err != nil || full.Tried == nil || len(full.Tried.Runs) != 1 || full.Tried.Runs[0].Time.Format(time.RFC3339) != "2026-03-02T08:59:00Z" || full.Tried.Articles[0] != "kb-9" {
			t.Fatalf("old ticket's tried: %+v %v", full.Tried, err)
		}

		// A device's ticket where nothing was tried says so.
		mustCreateTicket(t, s, "t3", "d1", "r3", t0)
		if full, err := s.GetTicket(ctx, "t3"); err != nil || full.Tried == nil || len(full.Tried.Runs)+len(full.Tried.Articles) != 0 {
			t.Errorf("nothing tried: %+v %v", full.Tried, err)
		}
	})
}

// A row of a kind this hub does not know, or with data its kind cannot
// read, loads as ticketevent.Unknown with its data as stored; the rest of
// the timeline loads with it.
func TestTicketEventUnknownKindLoads(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustCreateTicket(t, s, "t1", "d1", "r1", t0)
		for i, row := range [][2]string{{"teleported", `{"to":"mars"}`}, {"filed", `{"tier":"one"}`}} {
			if _, err := s.DB().Exec(fmt.Sprintf(`INSERT INTO ticket_events (ticket_id, time, actor, kind, data) VALUES ('t1', %d, 'x', '%s', '%s')`,
				t0.Add(time.Duration(i+1)*time.Second).UnixNano(), row[0], row[1])); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := s.TicketEvents(ctx, "t1")
		if err != nil || len(evs) != 3 {
			t.Fatalf("timeline %+v %v", evs, err)
		}
		if evs[0].Data != (ticketevent.Filed{Tier: 1}) {
			t.Errorf("first event %#v", evs[0].Data)
		}
		for i, want := range []string{`{"to":"mars"}`, `{"tier":"one"}`} {
			u, ok := evs[i+1].Data.(ticketevent.Unknown)
			if !ok || string(u.Raw) != want {
				t.Errorf("event %d: %#v, want Unknown %s", i+1, evs[i+1].Data, want)
			}
		}
	})
}

// Every kind of event is stored as its ticketevent encoding and reads
// back as the same typed event, on both databases.
func TestTicketEventKindsRoundTrip(t *testing.T) {
	due := "2026-03-02T17:00:00Z"
	events := []ticketevent.Data{
		ticketevent.Filed{Tier: 1, Impact: 3, Urgency: 3, Category: "network", Hostname: "pc-17", User: "maria"},
		ticketevent.NewSelfHelp(wire.SelfHelp{Articles: []string{"kb-1"}, Runs: []wire.TriedFix{{Fix: "flush-dns", Outcome: "fixed", Time: t0}}}),
		ticketevent.Assigned{To: "ana"}, ticketevent.Collaborator{User: "bo"},
		ticketevent.Message{From: "technician", Text: "Try <b>this</b> & that", MsgID: "m1"},
		ticketevent.Waiting{State: "waiting_user", Reason: "user_info"}, ticketevent.Resumed{},
		ticketevent.Escalated{From: 1, To: 2, Auto: true, Reason: "limit"}, ticketevent.SLAWarning{Tier: 2, Pct: 50, Limit: "4h0m0s"},
		ticketevent.SLABreach{Tier: 2, Limit: "4h0m0s"}, ticketevent.ResponseBreach{Tier: 2, Limit: "1h0m0s"},
		ticketevent.Run{Run: "r1", Fix: "flush-dns", Outcome: "fixed"}, ticketevent.Resolved{Resolution: "done"},
		ticketevent.Reopened{}, ticketevent.Closed{}, ticketevent.Survey{Score: 5, Comment: "quick"},
		ticketevent.Priority{Impact: 1, Urgency: 2}, ticketevent.Problem{Problem: ""}, ticketevent.Link{Other: "t2", LinkKind: store.LinkRelated},
		ticketevent.VendorSent{Vendor: "v1", Name: "Acme", Channels: []string{"webhook"}, Due: due, Target: "8h0m0s"},
		ticketevent.VendorRef{Ref: "A-1", Vendor: "v1"}, ticketevent.VendorOverdue{Vendor: "v1", Due: due, Reminder: "not sent"},
		ticketevent.VendorDelivered{Delivery: "d1", DeliveryKind: "escalation", Channel: "webhook", Attempt: 1, Vendor: "v1", Name: "Acme"},
		ticketevent.VendorFailed{Delivery: "d1", DeliveryKind: "escalation", Channel: "email", Attempt: 2, Vendor: "v1", Error: "503", RetryAt: due},
		ticketevent.KBDraft{Article: "a1", Title: "VPN"},
		ticketevent.Unknown{Name: "from_a_newer_hub", Raw: []byte(`{"x":[1,2]}`)},
	}
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustCreateTicket(t, s, "t1", "d1", "r1", t0)
		mustCreateTicket(t, s, "t2", "d1", "r2", t0)
		var in []store.TicketEvent
		for i, d := range events {
			in = append(in, store.TicketEvent{Time: t0.Add(time.Duration(i+1) * time.Second), Actor: "ana", Data: d})
		}
		if _, _, err := s.UpdateTicket(ctx, "t1", func(*store.Ticket) ([]store.TicketEvent, error) { return in, nil }); err != nil {
			t.Fatal(err)
		}
		got, err := s.TicketEvents(ctx, "t1")
		if err != nil || len(got) != len(events)+1 {
			t.Fatalf("timeline of %d events, %v; want %d", len(got), err, len(events)+1)
		}
		rows, err := s.DB().Query(`SELECT kind, data FROM ticket_events WHERE ticket_id = 't1' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for i := 0; rows.Next(); i++ {
			n++
			var kind, data string
			if err := rows.Scan(&kind, &data); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				continue // the filed event mustCreateTicket wrote
			}
			want, _ := ticketevent.Encode(events[i-1])
			if kind != events[i-1].Kind() || data != string(want) {
				t.Errorf("stored %s %s, want %s %s", kind, data, events[i-1].Kind(), want)
			}
			if !reflect.DeepEqual(got[i].Data, events[i-1]) {
				t.Errorf("read back %#v, want %#v", got[i].Data, events[i-1])
			}
		}
		if err := rows.Err(); err != nil || n != len(events)+1 {
			t.Errorf("%d rows, %v; want %d", n, err, len(events)+1)
		}
	})
}

// The same user coming back from another computer takes a session's
// deflection back too: with another Get help session or a ticket they
// file there. Another user on another computer does not.
func TestHelpSessionDeflectionSameUser(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		rec := func(dev, user, id string, started time.Time, failing, recovered []string) {
			t.Helper()
			if err := s.RecordHelpSession(ctx, store.HelpSessionRecord{DeviceID: dev, HelpSession: wire.HelpSession{SessionID: id,
				Started: started, Ended: started.Add(time.Minute), Failing: failing, Recovered: recovered, User: user}}); err != nil {
				t.Fatal(err)
			}
		}
		fixed := []string{"disk-almost-full"}
		at := t0.Add(time.Hour)
		rec("laptop", "alice", "a1", at, fixed, fixed)                // came back: alice's session on her desktop
		rec("desktop", "alice", "a2", at.Add(30*time.Hour), nil, nil) // (outside the period)
		rec("laptop2", "bob", "b1", at, fixed, fixed)                 // came back: bob's ticket from another computer
		rec("laptop3", "carol", "c1", at, fixed, fixed)               // deflected: dave came back, not carol
		rec("pc4", "dave", "d2", at.Add(30*time.Hour), nil, nil)      // (outside)
		rec("pc5", "", "e1", at, fixed, fixed)                        // no user named: its device alone decides
		tk, evs := newTicket("tb", "desk-bob", "rb", at.Add(40*time.Hour))
		tk.Requester = "bob"
		if _, _, err := s.CreateTicket(ctx, tk, evs, nil); err != nil {
			t.Fatal(err)
		}
		c, err := s.HelpSessionCounts(ctx, t0, t0.Add(24*time.Hour), 72*time.Hour, at.Add(100*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.SessionCounts{Total: 4, Recovered: 4, CameBack: 2, Deflected: 2}); c != want {
			t.Errorf("counts %+v, want %+v", c, want)
		}
	})
}
