package server

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

// A help receipt carries the ticket's time by the hub's clock, the clock
// of the ticket's updates, so the agent's copy does not start from its
// own clock (which may run ahead and hide the updates).
func TestHelpReceiptCarriesHubTime(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc, err := tickets.New(tickets.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	d := &helpDesk{svc: svc, st: st, log: slog.New(slog.DiscardHandler)}
	rec, err := d.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: "req-1", Text: "VPN drops", User: "maria",
		Snapshot: wire.Snapshot{Taken: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := st.GetTicket(ctx, rec.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Updated.IsZero() || !rec.Updated.Equal(tk.UpdatedAt) {
		t.Fatalf("receipt time %v, want the ticket's %v", rec.Updated, tk.UpdatedAt)
	}
}
