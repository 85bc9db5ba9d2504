package tickets_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/testwait"
	"github.com/tierline/tierline/shared/wire"
)

// A device whose link blocks holds up only its own updates: another
// device hears its ticket's message at once, in order; the stuck device's
// updates past its queue are dropped and counted; Close sends what is
// queued once the link moves again.
func TestDeviceNotifierIsolatesDevices(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	got := map[string][]string{}
	notify := func(ctx context.Context, deviceID string, body wire.Body) error {
		if deviceID == "stuck" {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		mu.Lock()
		got[deviceID] = append(got[deviceID], body.(wire.TicketUpdate).Message)
		mu.Unlock()
		return nil
	}
	var dropped atomic.Int64
	n := tickets.NewDeviceNotifier(notify, slog.New(slog.DiscardHandler), func() { dropped.Add(1) })
	message := func(device, text string) tickets.Change {
		return tickets.Change{Ticket: store.Ticket{ID: "t-" + device, DeviceID: device},
			Events: []store.TicketEvent{{Time: time.Now(), Actor: "ana", Data: ticketevent.Message{From: ticketevent.FromTechnician, Text: text}},
				{Time: time.Now(), Actor: "ana", Data: ticketevent.Priority{Impact: 1, Urgency: 1}}}} // the user hears nothing of this one
	}
	for i := range 100 {
		n.Handle(message("stuck", "s"+string(rune('0'+i%10))))
	}
	for _, text := range []string{"one", "two", "three"} {
		n.Handle(message("fine", text))
	}
	var fine []string
	testwait.Until(t, "the other device's three updates while one device is stuck", func() bool {
		mu.Lock()
		defer mu.Unlock()
		fine = append([]string(nil), got["fine"]...)
		return len(fine) == 3
	})
	if fine[0] != "one" || fine[1] != "two" || fine[2] != "three" {
		t.Fatalf("the other device heard %v, want one two three", fine)
	}
	// One update is being sent, 64 wait; the rest were dropped.
	if d := dropped.Load(); d != 100-1-64 && d != 100-64 {
		t.Errorf("dropped %d updates for the stuck device, want 35 or 36", d)
	}
	close(release)
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if sent := int64(len(got["stuck"])); sent+dropped.Load() != 100 {
		t.Errorf("stuck device: %d sent and %d dropped of 100", sent, dropped.Load())
	}
}
