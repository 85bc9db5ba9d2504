package server

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// A device's reply delivered twice (the hub stored it, then lost the
// connection before its acknowledgement reached the agent, which resends
// it) is one message on the ticket; replies from agents that send no id
// are added per delivery, as before; another device's ticket is refused.
func TestUserReplyAddedOncePerID(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc, err := tickets.New(tickets.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	d := &helpDesk{svc: svc, st: st, log: slog.New(slog.DiscardHandler)}
	rec, err := d.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: "req-1", Text: "VPN drops", User: "maria",
		Snapshot: wire.Snapshot{Taken: time.Now(), Checks: []diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusFailing}}}})
	if err != nil {
		t.Fatal(err)
	}

	reply := wire.UserReply{TicketID: rec.TicketID, Text: "still dropping", User: "maria", ID: wire.NewID()}
	for range 3 {
		if err := d.UserReply(ctx, "dev1", reply); err != nil {
			t.Fatalf("reply: %v", err)
		}
	}
	old := wire.UserReply{TicketID: rec.TicketID, Text: "from an old agent", User: "maria"}
	for range 2 {
		if err := d.UserReply(ctx, "dev1", old); err != nil {
			t.Fatalf("reply without id: %v", err)
		}
	}
	if err := d.UserReply(ctx, "dev2", wire.UserReply{TicketID: rec.TicketID, Text: "not mine", ID: wire.NewID()}); !errors.Is(err, gateway.ErrRefused) {
		t.Fatalf("another device's reply: %v, want refused", err)
	}

	evs, err := st.TicketEvents(ctx, rec.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range evs {
		if e.Kind == tickets.EvMessage {
			text, _ := e.Data["text"].(string)
			got[text]++
			if e.Actor != "user:maria" {
				t.Errorf("message %q by %q, want user:maria", text, e.Actor)
			}
		}
	}
	if len(got) != 2 || got["still dropping"] != 1 || got["from an old agent"] != 2 {
		t.Fatalf("messages on the ticket: %v; want the reply with an id once and the two without one both", got)
	}
}
