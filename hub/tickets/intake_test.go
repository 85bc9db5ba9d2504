package tickets_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
)

// A technician files tickets for people who called, walked in or wrote:
// without a device the ticket works end to end; for an enrolled device
// that is offline it says why it carries no diagnostics; the channel and
// type are on the ticket, its timeline and in the support metrics, on
// SQLite and PostgreSQL.
func TestOpen(t *testing.T) {
	stores := map[string]*store.Store{"sqlite": storetest.Open(t)}
	if pg := os.Getenv(storetest.PostgresEnv); pg != "" {
		stores["postgres"] = storetest.OpenPostgres(t, pg)
	}
	for name, st := range stores {
		t.Run(name, func(t *testing.T) { testOpen(t, st) })
	}
}

func testOpen(t *testing.T, st *store.Store) {
	secret := []byte("enroll-secret-hash-0123456789abcd")
	if err := st.CreateToken(ctx, store.Token{ID: "tok", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), MaxUses: 1}, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnrollDevice(ctx, secret, store.Device{ID: "pc-9", PublicKey: []byte("pk"), Hostname: "pc-9", OS: "linux"}, t0); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, st, tickets.Policy{})

	// A phone call from someone whose laptop does not start.
	phone, created, err := h.svc.Open(ctx, "ana", tickets.Intake{Requester: "Maria Lopez", Text: "My laptop won't boot\nIt beeps three times.",
		Category: "other", RequestID: "call-1"}, nil)
	if err != nil || !created {
		t.Fatalf("open: %v, created %v", err, created)
	}
	if phone.Channel != store.IntakePhone || phone.Type != store.TypeIncident || phone.DeviceID != "" || phone.Snapshot != nil {
		t.Errorf("phone ticket: channel %q type %q device %q snapshot %v", phone.Channel, phone.Type, phone.DeviceID, phone.Snapshot)
	}
	if phone.Title != "Maria Lopez: My laptop won't boot" || phone.Tier != 1 || phone.State != store.TicketNew {
		t.Errorf("phone ticket: title %q tier %d state %s", phone.Title, phone.Tier, phone.State)
	}
	// The client retries: the same ticket, not a second one.
	again, created, err := h.svc.Open(ctx, "ana", tickets.Intake{Requester: "Maria Lopez", Text: "My laptop won't boot", RequestID: "call-1"}, nil)
	if err != nil || created || again.ID != phone.ID {
		t.Errorf("replayed open: %v, created %v, ticket %s want %s", err, created, again.ID, phone.ID)
	}
	// It is worked like any other ticket.
	if _, err := h.svc.Message(ctx, phone.ID, "ana", tickets.FromTechnician, "Hold the power button for 30 s, then try again."); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Resolve(ctx, phone.ID, "ana", "Battery reset; it starts."); err != nil {
		t.Fatal(err)
	}

	// A walk-in service request for an enrolled device that is offline.
	walk, _, err := h.svc.Open(ctx, "bo", tickets.Intake{DeviceID: "pc-9", Text: "Needs a second monitor", Type: store.TypeRequest,
		Channel: store.IntakeWalkIn, Impact: 3, Urgency: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if walk.Channel != store.IntakeWalkIn || walk.Type != store.TypeRequest || walk.DeviceID != "pc-9" || walk.Snapshot != nil {
		t.Errorf("walk-in: channel %q type %q device %q snapshot %v", walk.Channel, walk.Type, walk.DeviceID, walk.Snapshot)
	}
	if walk.Title != "pc-9: Needs a second monitor" || walk.Priority != tickets.Priority(3, 3) {
		t.Errorf("walk-in: title %q priority %d", walk.Title, walk.Priority)
	}
	tl, err := st.TicketEvents(ctx, walk.ID)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := tl[0].Data.(ticketevent.Filed)
	if !ok || f.Channel != store.IntakeWalkIn || f.Type != store.TypeRequest || tl[0].Actor != "bo" ||
		f.NoSnapshot != "the device was offline when the ticket was filed" {
		t.Errorf("walk-in filed event by %s: %+v", tl[0].Actor, tl[0].Data)
	}

	// Stored and listed by channel and type.
	got, err := st.GetTicket(ctx, walk.ID)
	if err != nil || got.Channel != store.IntakeWalkIn || got.Type != store.TypeRequest {
		t.Errorf("stored walk-in: %v channel %q type %q", err, got.Channel, got.Type)
	}
	for _, c := range []struct {
		f    store.TicketFilter
		want []string
	}{
		{store.TicketFilter{Channel: store.IntakePhone}, []string{phone.ID}},
		{store.TicketFilter{Type: store.TypeRequest}, []string{walk.ID}},
		{store.TicketFilter{Channel: store.IntakeAgent}, nil},
	} {
		list, err := h.svc.List(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tk := range list {
			ids = append(ids, tk.ID)
		}
		if strings.Join(ids, ",") != strings.Join(c.want, ",") {
			t.Errorf("list %+v: %v, want %v", c.f, ids, c.want)
		}
	}
	// A device's own help request is on the agent channel.
	dev, _, err := h.svc.File(ctx, "pc-9", "pc-9", helpRequest("r-1", "VPN drops"))
	if err != nil || dev.Channel != store.IntakeAgent || dev.Type != store.TypeIncident {
		t.Errorf("filed from the device: %v, channel %q type %q", err, dev.Channel, dev.Type)
	}

	m, err := h.svc.Metrics(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if m.Channels[store.IntakePhone] != 1 || m.Channels[store.IntakeWalkIn] != 1 || m.Channels[store.IntakeAgent] != 1 ||
		m.Types[store.TypeIncident] != 2 || m.Types[store.TypeRequest] != 1 {
		t.Errorf("metrics by channel %v, by type %v", m.Channels, m.Types)
	}
}

// Every bad intake is refused with words that say what to send, and files
// nothing.
func TestOpenRefusals(t *testing.T) {
	st := storetest.Open(t)
	h := newHarness(t, st, tickets.Policy{})
	for _, c := range []struct {
		in   tickets.Intake
		want string
	}{
		{tickets.Intake{Requester: "maria"}, "text is required"},
		{tickets.Intake{Text: "printer jams"}, "name the requester"},
		{tickets.Intake{Requester: "maria\nbo", Text: "x"}, "requester must be 1 to 255 characters on one line"},
		{tickets.Intake{Requester: "maria", Text: "x", Channel: "agent"}, `channel "agent": use one of phone, walk-in, chat, email, web`},
		{tickets.Intake{Requester: "maria", Text: "x", Channel: "fax"}, `channel "fax"`},
		{tickets.Intake{Requester: "maria", Text: "x", Type: "problem"}, `type "problem": use incident or request`},
		{tickets.Intake{Requester: "maria", Text: "x", Category: "hardware"}, `category "hardware": use one of cannot-connect`},
		{tickets.Intake{Requester: "maria", Text: "x", Impact: 4}, "impact and urgency must be 1 (high) to 3 (low)"},
		{tickets.Intake{Requester: "maria", Text: "x", Urgency: -1}, "impact and urgency must be 1 (high) to 3 (low)"},
		{tickets.Intake{Requester: "maria", Text: "x", RequestID: strings.Repeat("r", 65)}, "request_id must be at most 64 bytes"},
		{tickets.Intake{Requester: "maria", Text: "x", DeviceID: "no-such-pc"}, `no device "no-such-pc" is enrolled`},
		{tickets.Intake{Requester: "maria", Text: string([]byte{0xff, 0xfe})}, "text must be valid UTF-8"},
	} {
		_, _, err := h.svc.Open(ctx, "ana", c.in, nil)
		if !errors.Is(err, tickets.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("open %+v: %v; want invalid: %q", c.in, err, c.want)
		}
	}
	if list, _ := h.svc.List(ctx, store.TicketFilter{}); len(list) != 0 {
		t.Errorf("%d tickets filed by refused requests", len(list))
	}
}
