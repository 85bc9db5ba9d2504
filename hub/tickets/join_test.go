package tickets_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

// TestRepeatedHelpRequestJoinsItsTicket: the same user asks again with
// the same words (spacing and case aside) within tickets.JoinWindow: the
// words go onto the open ticket as the user's message, once however often
// that request is delivered, and no second ticket opens. Another user,
// other words, or the same words after the window open tickets of their
// own.
func TestRepeatedHelpRequestJoinsItsTicket(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	var mu sync.Mutex
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	svc, err := tickets.New(tickets.Config{Store: st, Logger: slog.New(slog.DiscardHandler), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	d := tickets.NewDevices(svc, st, slog.New(slog.DiscardHandler), nil)
	file := func(id, user, text string) wire.HelpReceipt {
		t.Helper()
		r, err := d.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: id, Text: text, User: user, Snapshot: wire.Snapshot{Taken: clock()}})
		if err != nil {
			t.Fatalf("file %s: %v", id, err)
		}
		return r
	}
	first := file("q1", "maria", "The printer jams")
	if first.Joined {
		t.Fatalf("first request joined: %+v", first)
	}
	advance(time.Minute)
	for range 3 { // delivered three times: one message
		again := file("q2", "maria", "  the PRINTER   jams ")
		if !again.Joined || again.TicketID != first.TicketID || again.Number != first.Number {
			t.Fatalf("repeat: %+v, want joined to #%d", again, first.Number)
		}
	}
	// The first request delivered again is its ticket, not a join.
	if r := file("q1", "maria", "The printer jams"); r.Joined || r.TicketID != first.TicketID {
		t.Fatalf("first request again: %+v", r)
	}
	others := []wire.HelpReceipt{file("q3", "omar", "The printer jams"), file("q4", "maria", "The scanner jams")}
	advance(tickets.JoinWindow)
	others = append(others, file("q5", "maria", "The printer jams"))
	for _, r := range others {
		if r.Joined || r.TicketID == first.TicketID {
			t.Errorf("request %s joined ticket #%d; want a ticket of its own", r.RequestID, first.Number)
		}
	}
	ts, err := st.ListTickets(ctx, store.TicketFilter{DeviceID: "dev1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 4 {
		t.Fatalf("%d tickets, want 4", len(ts))
	}
	evs, err := st.TicketEvents(ctx, first.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	msgs := 0
	for _, e := range evs {
		if m, ok := e.Data.(ticketevent.Message); ok {
			msgs++
			if m.Text != "  the PRINTER   jams " || e.Actor != "user:maria" {
				t.Errorf("message %q by %s", m.Text, e.Actor)
			}
		}
	}
	if msgs != 1 {
		t.Fatalf("%d messages on the joined ticket, want 1", msgs)
	}
}
