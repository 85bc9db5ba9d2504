package gethelp

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/wire"
)

// offsetLink is a connected link whose handshake measured the hub's clock
// offset; it keeps what is sent.
type offsetLink struct {
	offset time.Duration
	mu     sync.Mutex
	sent   []wire.Body
}

func (l *offsetLink) Send(_ context.Context, b wire.Body) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, b)
	return uint64(len(l.sent)), nil
}

func (l *offsetLink) State() link.State {
	return link.State{Connected: true, HubOffset: l.offset, HubOffsetKnown: true}
}

// TestDeviceClockAhead: on a computer whose clock runs two minutes ahead
// of the hub's, the hub's updates to a ticket just filed are not taken for
// older ones: the resolution and the survey show at once, whether or not
// the receipt carries the hub's time, and the user's own reply sits among
// the technicians' messages by the hub's clock.
func TestDeviceClockAhead(t *testing.T) {
	const ahead = 2 * time.Minute
	hub := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) // the hub's clock now
	var mu sync.Mutex
	device := func() time.Time { mu.Lock(); defer mu.Unlock(); return hub.Add(ahead) }
	pass := func(d time.Duration) { mu.Lock(); hub = hub.Add(d); mu.Unlock() }
	hubNow := func() time.Time { mu.Lock(); defer mu.Unlock(); return hub }
	root := localipc.Caller{UID: 0, User: "root", Privileged: true}

	for _, withHubTime := range []bool{true, false} {
		l := &offsetLink{offset: -ahead}
		d := NewDesk(Config{Link: l, Dir: t.TempDir(), Clock: device})
		filed := hubNow()
		r := wire.HelpReceipt{RequestID: wire.NewID(), TicketID: "tk1", Number: 7, Tier: 1}
		if withHubTime {
			r.Updated = filed
		}
		pass(time.Second)
		d.Receipt(r)

		// A technician answers 20 s after filing, the user replies 10 s
		// later, the technician resolves the ticket 10 s after that.
		pass(20 * time.Second)
		d.Update(wire.TicketUpdate{TicketID: "tk1", Number: 7, State: "open", Tier: 1, Time: hubNow(), From: "tess", Message: "Try again now"})
		pass(10 * time.Second)
		if err := d.Reply(context.Background(), root, wire.UserReply{TicketID: "tk1", Text: "Still broken"}); err != nil {
			t.Fatal(err)
		}
		pass(10 * time.Second)
		d.Update(wire.TicketUpdate{TicketID: "tk1", Number: 7, State: "resolved", Tier: 1, Time: hubNow(), Message: "VPN renewed", AskSurvey: true})

		list := d.Tickets(root, true)
		if len(list) != 1 {
			t.Fatalf("receipt with hub time %v: tickets %+v", withHubTime, list)
		}
		tk := list[0]
		if tk.State != "resolved" || !tk.AskSurvey {
			t.Errorf("receipt with hub time %v: state %q, survey asked %v; want the resolution and the survey at once",
				withHubTime, tk.State, tk.AskSurvey)
		}
		var order []string
		for _, m := range tk.Messages {
			order = append(order, m.From+": "+m.Text)
		}
		if got, want := strings.Join(order, " | "), "tess: Try again now | you: Still broken | : VPN renewed"; got != want {
			t.Errorf("receipt with hub time %v: messages %q, want %q", withHubTime, got, want)
		}
		// A technician's message after the user listed the tickets is
		// waiting for the user, though the device's clock is ahead.
		d.Tickets(root, false)
		pass(10 * time.Second)
		d.Update(wire.TicketUpdate{TicketID: "tk1", Number: 7, State: "resolved", Tier: 1, Time: hubNow(), From: "tess", Message: "Anything else?"})
		if n := d.WaitingFor(root); n != 2 { // the survey and the new message
			t.Errorf("receipt with hub time %v: %d waiting, want 2 (the survey and the new message)", withHubTime, n)
		}
	}
}
