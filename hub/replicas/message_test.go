package replicas

import (
	"errors"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
)

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{Kind: KindRuns, From: "r1", Device: "d1"},
		{Kind: KindRuns, From: "r1", Device: "d1", Queued: &store.Run{ID: "run1", DeviceID: "d1", Fix: "flush-dns", State: store.RunSent}},
		{Kind: KindRun, From: "r1", Run: "run1", Device: "d1", State: store.RunDone, Outcome: "succeeded"},
		{Kind: KindChecks, From: "r1", Device: "d1", Request: "q1", Names: []string{"disk-space"}},
		{Kind: KindTicketUpdate, From: "r1", Device: "d1", Update: []byte(`{"ticket_id":"t1"}`)},
		{Kind: KindPolicy, From: "r1", Group: "default"},
		{Kind: KindTicket, From: "r1", Ticket: "t1", Events: []int64{4, 5}},
	} {
		p, err := m.Encode()
		if err != nil {
			t.Fatalf("encode %+v: %v", m, err)
		}
		got, err := Decode(p)
		if err != nil || got.Kind != m.Kind || got.Device != m.Device || got.Group != m.Group || got.Ticket != m.Ticket ||
			got.State != m.State || got.Outcome != m.Outcome || (got.Queued == nil) != (m.Queued == nil) {
			t.Fatalf("decode %s: %+v %v", p, got, err)
		}
		if m.Queued != nil && (got.Queued.ID != m.Queued.ID || got.Queued.Fix != m.Queued.Fix || got.Queued.State != m.Queued.State) {
			t.Fatalf("decode %s: run %+v", p, *got.Queued)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, c := range []struct{ payload, want string }{
		{`not json`, "not a replica message"},
		{`{"kind":"runs","from":"r1"}`, "without device"},
		{`{"kind":"runs","from":"r1","device":"d1","queued":{"id":"x","device_id":"d2"}}`, "not of its device"},
		{`{"kind":"runs","from":"r1","device":"d1","queued":{"device_id":"d1"}}`, "not of its device"},
		{`{"kind":"policy","from":"r1"}`, "without group"},
		{`{"kind":"launch","from":"r1"}`, "unknown kind"},
		{`{"kind":"run","run":"x"}`, "no sending replica"},
		{`{"kind":"run_progress","from":"r1"}`, "without run"},
		{`{"kind":"ticket","from":"r1","ticket":"` + strings.Repeat("x", MaxPayload) + `"}`, "over"},
	} {
		if _, err := Decode(c.payload); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode(%.60s): %v; want an error saying %q", c.payload, err, c.want)
		}
	}
	if _, err := (Message{Kind: KindTicket, From: "r", Ticket: strings.Repeat("x", MaxPayload)}).Encode(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a message over the notification size encoded: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"kind":"runs","from":"r1","device":"d1"}`)
	f.Add(`{"kind":"ticket","from":"r1","ticket":"t","events":[1,2]}`)
	f.Add(`{"kind":"ticket_update","from":"r1","device":"d","update":{"ticket_id":"t"}}`)
	f.Add(`{"kind":"runs","from":"r1","device":"d1","queued":{"id":"x","device_id":"d1","fix":"flush-dns"}}`)
	f.Add(`{"kind":"run","from":"r1","run":"x","device":"d1","state":"done","outcome":"succeeded"}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, payload string) {
		m, err := Decode(payload)
		if err != nil {
			return
		}
		p, err := m.Encode()
		if errors.Is(err, ErrTooLarge) {
			return // a run's zero fields or escaping grew it; a received message is not sent again
		}
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it again: %v", payload, err)
		}
		if _, err := Decode(p); err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", p, err)
		}
	})
}
