package gethelp

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/ratelimit"
	"github.com/tierline/tierline/shared/wire"
)

func limitedDesk(t *testing.T, lim Limits, clock func() time.Time) *Desk {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	_, key, _ := ed25519.GenerateKey(nil)
	l, err := link.New(link.Config{URL: "wss://127.0.0.1:1/agent/v1/connect", DeviceID: strings.Repeat("ab", 16), Key: key,
		Spool: spool.NewMem(1<<20, log), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return NewDesk(Config{Link: l, Checks: health.NewRunnerOf(time.Second), History: history.New(history.Config{}), Logger: log,
		Dir: t.TempDir(), Limits: lim, Clock: clock})
}

// TestHelpRequestLimits: past the per-user limit a user is refused with
// the time to ask again, and nothing is spooled for the hub; another user
// still files until the computer's limit; the same request sent again
// (its answer lost) is not counted twice; the budget comes back with time.
func TestHelpRequestLimits(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.Local)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	d := limitedDesk(t, Limits{PerUser: ratelimit.Limit{N: 2, Per: time.Hour}, PerDevice: ratelimit.Limit{N: 3, Per: time.Hour}}, clock)
	ctx := context.Background()
	file := func(user, id, text string) (HelpAnswer, error) {
		return d.file(ctx, HelpCall{RequestID: id, Text: text, User: user, Wait: time.Millisecond})
	}
	limited := func(err error, want ...string) {
		t.Helper()
		var le *localipc.Error
		if !errors.As(err, &le) || le.Code != localipc.CodeLimited {
			t.Fatalf("got %v, want a %s refusal", err, localipc.CodeLimited)
		}
		for _, w := range want {
			if !strings.Contains(le.Message, w) {
				t.Errorf("refusal %q does not say %q", le.Message, w)
			}
		}
	}
	first, err := file("maria", "", "printer jams")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file("maria", first.RequestID, "printer jams"); err != nil {
		t.Fatalf("the same request again: %v", err)
	}
	if _, err := file("maria", "", "printer still jams"); err != nil {
		t.Fatalf("second request: %v", err)
	}
	_, err = file("maria", "", "printer jams again")
	limited(err, "You have already asked for help", "2 an hour", "You can ask again at 09:30 (in 30 minutes)")
	if _, err := file("omar", "", "no wifi"); err != nil {
		t.Fatalf("another user: %v", err)
	}
	_, err = file("omar", "", "still no wifi")
	limited(err, "This computer has already sent", "3 an hour", "at 09:20 (in 20 minutes)")
	// Four sent: the first twice (the hub files it once), the second, omar's.
	if depth := d.link.State().SpoolDepth; depth != 4 {
		t.Fatalf("%d requests spooled for the hub, want 4", depth)
	}
	mu.Lock()
	now = now.Add(31 * time.Minute)
	mu.Unlock()
	if _, err := file("maria", "", "printer jams again"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// TestHubRefusalReachesTheUser: the hub refuses a help request (its
// device is over the hub's budget): the user waiting is told why and when
// to ask again, no ticket appears in My tickets, and the request is no
// longer pending.
func TestHubRefusalReachesTheUser(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.Local)
	d := limitedDesk(t, Limits{}, func() time.Time { return now })
	id := wire.NewID()
	go func() {
		for {
			d.mu.Lock()
			_, waiting := d.waiting[id]
			d.mu.Unlock()
			if waiting {
				d.Receipt(wire.HelpReceipt{RequestID: id, Refused: "This computer has asked the help desk for help more often than it takes.",
					RetryAt: now.Add(12 * time.Minute)})
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	_, err := d.file(context.Background(), HelpCall{RequestID: id, Text: "printer", User: "maria", Wait: 10 * time.Second})
	var le *localipc.Error
	if !errors.As(err, &le) || le.Code != localipc.CodeLimited || !strings.Contains(le.Message, "more often than it takes") ||
		!strings.Contains(le.Message, "at 09:12 (in 12 minutes)") {
		t.Fatalf("hub's refusal: %v", err)
	}
	if ts := d.Tickets(localipc.Caller{User: "maria", Privileged: true}, true); len(ts) != 0 {
		t.Fatalf("tickets after a refusal: %+v", ts)
	}
	if _, pending := d.requesters[id]; pending {
		t.Fatal("refused request still pending")
	}
}

func TestAskAgain(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.Local)
	for wait, want := range map[time.Duration]string{
		0: "now", 20 * time.Second: "at 09:00 (in less than a minute)", time.Minute: "at 09:01 (in a minute)",
		90 * time.Second: "at 09:01 (in 2 minutes)", 3 * time.Hour: "at 12:00 (in 3 hours)", 20 * time.Hour: "at Mon 05:00 (in 20 hours)",
	} {
		if got := AskAgain(now.Add(wait), now); got != want {
			t.Errorf("AskAgain(+%s) = %q, want %q", wait, got, want)
		}
	}
}
