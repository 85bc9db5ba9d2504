package notify_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/notify"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/vendors"
)

// BenchmarkNewTicketFanOut is the notifier's work for one new ticket on
// the changes bus when 100 technicians watch its tier, each with the bell
// and email on: read the users and their choices, store 100 notifications
// with their email deliveries. It runs off the request path; this says
// how many new tickets a second the notifier keeps up with.
func BenchmarkNewTicketFanOut(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchFanOut(b, storetest.Open(b)) })
	if pg := os.Getenv(storetest.PostgresEnv); pg != "" {
		b.Run("postgres", func(b *testing.B) { benchFanOut(b, storetest.OpenPostgres(b, pg)) })
	}
}

func benchFanOut(b *testing.B, st *store.Store) {
	{
		for i := range 100 {
			u := store.User{ID: fmt.Sprintf("u%03d", i), Name: fmt.Sprintf("tech%03d", i), Role: store.RoleTier1, PasswordHash: "x", CreatedAt: t0}
			if err := st.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			if err := notify.SavePrefs(ctx, st, u.ID, notify.Prefs{Email: u.Name + "@support.test", WatchTiers: []int{1},
				Events: map[string]notify.Rule{notify.EvTicketNew: {Bell: true, Email: true}}}, t0); err != nil {
				b.Fatal(err)
			}
		}
		// The emails are only queued here; the sender is never reached.
		sender, err := vendors.New(vendors.Config{})
		if err != nil {
			b.Fatal(err)
		}
		n, err := notify.New(notify.Config{Store: st, Sender: sender, From: "hub@support.test", Now: func() time.Time { return t0 }})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			tk := store.Ticket{ID: fmt.Sprintf("t%d", i), Number: int64(i + 1), Title: "pc: printer jams", TicketState: store.TicketState{Tier: 1}}
			c := tickets.Change{Ticket: tk, Events: []store.TicketEvent{{ID: 1, TicketID: tk.ID, Time: t0, Actor: "device:d1", Data: ticketevent.Filed{Tier: 1}}}}
			if err := n.HandleChange(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(100, "notifications/op")
	}
}
