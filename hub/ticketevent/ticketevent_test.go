package ticketevent_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/wire"
)

// stored are event rows as the hub wrote them before the types existed:
// the data is built as it was, as a map (which encoding/json writes with
// sorted keys), next to the typed event the row must decode into. Every
// kind is here at least once, with each optional field both present and
// absent.
var stored = []struct {
	kind string
	data map[string]any
	want ticketevent.Data
}{
	{"filed", map[string]any{"tier": 1, "impact": 3, "urgency": 3, "category": "network", "queue": "vpn", "rule": "vpn-to-t2",
		"hostname": "pc-17", "user": "maria", "filed_on_device": "2026-03-02T08:59:00.5Z"},
		ticketevent.Filed{Tier: 1, Impact: 3, Urgency: 3, Category: "network", Queue: "vpn", Rule: "vpn-to-t2", Hostname: "pc-17",
			User: "maria", FiledOnDevice: "2026-03-02T08:59:00.5Z"}},
	{"filed", map[string]any{"tier": 2, "impact": 3, "urgency": 3}, ticketevent.Filed{Tier: 2, Impact: 3, Urgency: 3}},
	{"self_help", map[string]any{"articles": []any{"kb-1", "kb-2"}, "runs": []any{map[string]any{"fix": "flush-dns", "outcome": "not_fixed", "reason": ""}}},
		ticketevent.SelfHelp{Articles: []string{"kb-1", "kb-2"}, Runs: []ticketevent.SelfHelpRun{{Fix: "flush-dns", Outcome: "not_fixed"}}}},
	{"self_help", map[string]any{"articles": []any{}, "runs": []any{map[string]any{"fix": "clear-temp", "outcome": "refused", "reason": "consent"}}},
		ticketevent.SelfHelp{Articles: []string{}, Runs: []ticketevent.SelfHelpRun{{Fix: "clear-temp", Outcome: "refused", Reason: "consent"}}}},
	{"assigned", map[string]any{"to": "ana"}, ticketevent.Assigned{To: "ana"}},
	{"assigned", map[string]any{"to": ""}, ticketevent.Assigned{}},
	{"collaborator", map[string]any{"user": "bo"}, ticketevent.Collaborator{User: "bo"}},
	{"message", map[string]any{"from": "technician", "text": "Please restart <b>now</b> & \"then\" tell me"},
		ticketevent.Message{From: "technician", Text: "Please restart <b>now</b> & \"then\" tell me"}},
	{"message", map[string]any{"from": "user", "text": "done ✓", "msg_id": "m-1"}, ticketevent.Message{From: "user", Text: "done ✓", MsgID: "m-1"}},
	{"waiting", map[string]any{"state": "waiting_user", "reason": "user_info"}, ticketevent.Waiting{State: "waiting_user", Reason: "user_info"}},
	{"resumed", nil, ticketevent.Resumed{}},
	{"escalated", map[string]any{"from": 1, "to": 2, "auto": false, "note": "needs admin rights"},
		ticketevent.Escalated{From: 1, To: 2, Note: "needs admin rights"}},
	{"escalated", map[string]any{"from": 1, "to": 2, "auto": true, "reason": "tier 1 time limit of 15m0s passed"},
		ticketevent.Escalated{From: 1, To: 2, Auto: true, Reason: "tier 1 time limit of 15m0s passed"}},
	{"escalated", map[string]any{"from": 3, "to": 4, "auto": false, "note": "forwarded to vendor Acme", "vendor": "v1"},
		ticketevent.Escalated{From: 3, To: 4, Note: "forwarded to vendor Acme", Vendor: "v1"}},
	{"sla_warning", map[string]any{"tier": 1, "pct": 50, "limit": "15m0s"}, ticketevent.SLAWarning{Tier: 1, Pct: 50, Limit: "15m0s"}},
	{"sla_breach", map[string]any{"tier": 2, "limit": "4h0m0s"}, ticketevent.SLABreach{Tier: 2, Limit: "4h0m0s"}},
	{"response_breach", map[string]any{"tier": 1, "limit": "5m0s"}, ticketevent.ResponseBreach{Tier: 1, Limit: "5m0s"}},
	{"run", map[string]any{"run": "r-1", "fix": "flush-dns", "outcome": "fixed"}, ticketevent.Run{Run: "r-1", Fix: "flush-dns", Outcome: "fixed"}},
	{"run", map[string]any{"run": "r-2", "fix": "flush-dns"}, ticketevent.Run{Run: "r-2", Fix: "flush-dns"}},
	{"resolved", map[string]any{"resolution": "cache flushed"}, ticketevent.Resolved{Resolution: "cache flushed"}},
	{"reopened", map[string]any{"reason": "back again"}, ticketevent.Reopened{Reason: "back again"}},
	{"reopened", nil, ticketevent.Reopened{}},
	{"closed", nil, ticketevent.Closed{}},
	{"survey", map[string]any{"score": 4, "comment": "quick"}, ticketevent.Survey{Score: 4, Comment: "quick"}},
	{"survey", map[string]any{"score": 5}, ticketevent.Survey{Score: 5}},
	{"priority", map[string]any{"impact": 1, "urgency": 2}, ticketevent.Priority{Impact: 1, Urgency: 2}},
	{"problem", map[string]any{"problem": "p-1"}, ticketevent.Problem{Problem: "p-1"}},
	{"problem", map[string]any{"problem": ""}, ticketevent.Problem{}},
	{"link", map[string]any{"other": "t-2", "kind": "duplicate"}, ticketevent.Link{Other: "t-2", LinkKind: "duplicate"}},
	{"vendor_sent", map[string]any{"vendor": "v1", "name": "Acme", "channels": []any{"webhook", "email"}, "target": "8h0m0s",
		"due": "2026-03-02T17:00:00Z", "note": "firmware", "skipped": "email: this hub sends no email"},
		ticketevent.VendorSent{Vendor: "v1", Name: "Acme", Channels: []string{"webhook", "email"}, Target: "8h0m0s",
			Due: "2026-03-02T17:00:00Z", Note: "firmware", Skipped: "email: this hub sends no email"}},
	{"vendor_sent", map[string]any{"vendor": "v1", "name": "Acme", "channels": []any{"webhook"}},
		ticketevent.VendorSent{Vendor: "v1", Name: "Acme", Channels: []string{"webhook"}}},
	{"vendor_ref", map[string]any{"ref": "ACME-77", "vendor": "v1"}, ticketevent.VendorRef{Ref: "ACME-77", Vendor: "v1"}},
	{"vendor_overdue", map[string]any{"vendor": "v1", "due": "2026-03-02T17:00:00Z", "next": "2026-03-03T01:00:00Z"},
		ticketevent.VendorOverdue{Vendor: "v1", Due: "2026-03-02T17:00:00Z", Next: "2026-03-03T01:00:00Z"}},
	{"vendor_overdue", map[string]any{"vendor": "v1", "due": "2026-03-02T17:00:00Z", "reminder": "not sent: the vendor is disabled or gone"},
		ticketevent.VendorOverdue{Vendor: "v1", Due: "2026-03-02T17:00:00Z", Reminder: "not sent: the vendor is disabled or gone"}},
	{"vendor_delivered", map[string]any{"delivery": "d-1", "kind": "escalation", "channel": "webhook", "attempt": 1, "vendor": "v1", "name": "Acme"},
		ticketevent.VendorDelivered{Delivery: "d-1", DeliveryKind: "escalation", Channel: "webhook", Attempt: 1, Vendor: "v1", Name: "Acme"}},
	{"vendor_delivery_failed", map[string]any{"delivery": "d-1", "kind": "reminder", "channel": "email", "attempt": 2, "vendor": "v1",
		"name": "Acme", "error": "503 maintenance", "retry_at": "2026-03-02T09:01:00Z"},
		ticketevent.VendorFailed{Delivery: "d-1", DeliveryKind: "reminder", Channel: "email", Attempt: 2, Vendor: "v1", Name: "Acme",
			Error: "503 maintenance", RetryAt: "2026-03-02T09:01:00Z"}},
	{"vendor_delivery_failed", map[string]any{"delivery": "d-1", "kind": "escalation", "channel": "webhook", "attempt": 3, "vendor": "v1",
		"error": "vendor v1 is disabled or gone; the message is abandoned", "final": true},
		ticketevent.VendorFailed{Delivery: "d-1", DeliveryKind: "escalation", Channel: "webhook", Attempt: 3, Vendor: "v1",
			Error: "vendor v1 is disabled or gone; the message is abandoned", Final: true}},
	{"kb_draft", map[string]any{"article": "a-1", "title": "VPN drops"}, ticketevent.KBDraft{Article: "a-1", Title: "VPN drops"}},
	{"request_form", map[string]any{"answers": []any{map[string]any{"key": "size", "label": "Size", "value": "27 inch"}}, "name": "A new monitor", "template": "tpl-1"},
		ticketevent.RequestForm{Answers: []wire.FormAnswer{{Key: "size", Label: "Size", Value: "27 inch"}}, Name: "A new monitor", Template: "tpl-1"}},
}

// storedJSON is the row's data column as the hub wrote it: "{}" for an
// event without data.
func storedJSON(t *testing.T, data map[string]any) []byte {
	t.Helper()
	if len(data) == 0 {
		return []byte("{}")
	}
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Rows written in the old format decode into their types, and encode
// back to the very same bytes.
func TestStoredRowsDecodeAndRoundTrip(t *testing.T) {
	kinds := map[string]bool{}
	for _, tt := range stored {
		raw := storedJSON(t, tt.data)
		got, err := ticketevent.Decode(tt.kind, raw)
		if err != nil {
			t.Errorf("%s %s: %v", tt.kind, raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s:\n got %#v\nwant %#v", tt.kind, raw, got, tt.want)
		}
		if got.Kind() != tt.kind {
			t.Errorf("%s decodes as kind %s", tt.kind, got.Kind())
		}
		back, err := ticketevent.Encode(got)
		if err != nil || !bytes.Equal(back, raw) {
			t.Errorf("%s round trip:\n got %s %v\nwant %s", tt.kind, back, err, raw)
		}
		// A new write of the same event makes the same row.
		if fresh, err := ticketevent.Encode(tt.want); err != nil || !bytes.Equal(fresh, raw) {
			t.Errorf("%s written anew:\n got %s %v\nwant %s", tt.kind, fresh, err, raw)
		}
		kinds[tt.kind] = true
	}
	for _, k := range ticketevent.Kinds() {
		if !kinds[k] {
			t.Errorf("kind %s has no stored row in this test", k)
		}
	}
}

// An event of a kind this hub does not know, or with data its kind cannot
// read, loads as Unknown with its bytes kept.
func TestUnknownKept(t *testing.T) {
	for _, tt := range []struct {
		kind, raw string
		bad       bool
	}{
		{"teleported", `{"to":"mars","n":3}`, false},
		{"teleported", `{}`, false},
		{"filed", `{"tier":"one"}`, true},
		{"message", `null`, true},
		{"vendor_sent", `{"channels":"webhook"}`, true},
	} {
		got, err := ticketevent.Decode(tt.kind, []byte(tt.raw))
		u, ok := got.(ticketevent.Unknown)
		if !ok || u.Kind() != tt.kind {
			t.Errorf("%s %s: %#v, want Unknown", tt.kind, tt.raw, got)
			continue
		}
		var de *ticketevent.DecodeError
		if tt.bad != errors.As(err, &de) {
			t.Errorf("%s %s: error %v", tt.kind, tt.raw, err)
		}
		if back, err := ticketevent.Encode(u); err != nil || string(back) != tt.raw && tt.raw != "null" {
			t.Errorf("%s kept as %s %v, want %s", tt.kind, back, err, tt.raw)
		}
	}
}

func TestSelfHelpFromTheDevice(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 59, 0, 0, time.UTC)
	in := wire.SelfHelp{Articles: []string{"kb-1"}, Runs: []wire.TriedFix{{Fix: "flush-dns", Outcome: "fixed", Time: at}, {Fix: "clear-temp", Outcome: "refused", Reason: "no"}}}
	e := ticketevent.NewSelfHelp(in)
	raw, err := ticketevent.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"articles":["kb-1"],"runs":[{"fix":"flush-dns","outcome":"fixed","reason":"","time":"2026-03-02T08:59:00Z"},{"fix":"clear-temp","outcome":"refused","reason":"no"}]}`
	if string(raw) != want {
		t.Errorf("stored as %s\nwant %s", raw, want)
	}
	d, _ := ticketevent.Decode(ticketevent.KindSelfHelp, raw)
	if got := d.(ticketevent.SelfHelp).Tried(); !reflect.DeepEqual(got, in) {
		t.Errorf("read back %+v, want %+v", got, in)
	}
	if got := ticketevent.NewSelfHelp(wire.SelfHelp{}); got.Articles == nil || got.Runs == nil {
		t.Errorf("nothing tried is stored as empty lists, not null: %#v", got)
	}
}

// FuzzDecode: any stored row loads without a panic; what decodes into a
// known kind encodes to JSON that decodes to the same event again.
func FuzzDecode(f *testing.F) {
	for _, tt := range stored {
		b, _ := json.Marshal(tt.data)
		f.Add(tt.kind, b)
	}
	f.Add("teleported", []byte(`{"x":1}`))
	f.Add("filed", []byte(`{"tier":1e400}`))
	f.Add("message", []byte(``))
	f.Add("run", []byte(`[1,2]`))
	kinds := ticketevent.Kinds()
	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		d, err := ticketevent.Decode(kind, raw)
		if d == nil || d.Kind() != kind {
			t.Fatalf("Decode(%q, %q) = %#v", kind, raw, d)
		}
		_, unknown := d.(ticketevent.Unknown)
		if err != nil && !unknown {
			t.Fatalf("Decode(%q, %q): error %v with a typed result", kind, raw, err)
		}
		if slices.Contains(kinds, kind) == unknown && err == nil {
			t.Fatalf("Decode(%q, %q): %#v", kind, raw, d)
		}
		b, err := ticketevent.Encode(d)
		if err != nil {
			t.Fatalf("Encode(%#v): %v", d, err)
		}
		if unknown {
			return
		}
		again, err := ticketevent.Decode(kind, b)
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		b2, _ := ticketevent.Encode(again)
		if !bytes.Equal(b, b2) {
			t.Fatalf("unstable: %s then %s", b, b2)
		}
	})
}
