package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
)

func TestVendors(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		v := store.Vendor{ID: "v1", Name: "Acme", Email: "support@acme.example", WebhookURL: "https://acme.example/hook",
			WebhookSecret: "s3cret-s3cret-s3cret", ContractRef: "C-1", ResponseTarget: 4 * time.Hour, CreatedAt: t0}
		if err := s.CreateVendor(ctx, v); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "same name", s.CreateVendor(ctx, store.Vendor{ID: "v2", Name: "Acme", CreatedAt: t0}), store.ErrExists)
		if err := s.CreateVendor(ctx, store.Vendor{ID: "v2", Name: "Beta", WebhookURL: "https://beta.example", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"v1", "Acme"} {
			got, err := s.GetVendor(ctx, key)
			if err != nil || got.ID != "v1" || got.WebhookSecret != v.WebhookSecret || !got.HasSecret || got.ResponseTarget != 4*time.Hour || got.ContractRef != "C-1" {
				t.Fatalf("get %s: %+v %v", key, got, err)
			}
			// The secret never goes out in JSON.
			b, _ := json.Marshal(got)
			if strings.Contains(string(b), v.WebhookSecret) || !strings.Contains(string(b), `"has_secret":true`) {
				t.Fatalf("JSON shows the secret: %s", b)
			}
		}
		_, err := s.GetVendor(ctx, "nope")
		wantErr(t, "get unknown", err, store.ErrNotFound)

		// An update without a secret keeps it; clearing removes it.
		v.Email, v.WebhookSecret = "help@acme.example", ""
		if err := s.UpdateVendor(ctx, v, false, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetVendor(ctx, "v1")
		if got.Email != "help@acme.example" || got.WebhookSecret != "s3cret-s3cret-s3cret" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("after update: %+v", got)
		}
		if err := s.UpdateVendor(ctx, v, true, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.GetVendor(ctx, "v1"); got.HasSecret {
			t.Fatalf("secret not cleared: %+v", got)
		}
		v.Name = "Beta"
		wantErr(t, "rename onto another", s.UpdateVendor(ctx, v, false, t0), store.ErrExists)
		wantErr(t, "update unknown", s.UpdateVendor(ctx, store.Vendor{ID: "nope", Name: "x"}, false, t0), store.ErrNotFound)

		at := t0.Add(2 * time.Hour)
		if err := s.SetVendorDisabled(ctx, "v2", &at, at); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "disable unknown", s.SetVendorDisabled(ctx, "nope", &at, at), store.ErrNotFound)
		list, err := s.ListVendors(ctx, false)
		if err != nil || len(list) != 1 || list[0].ID != "v1" {
			t.Fatalf("enabled vendors %+v %v", list, err)
		}
		if list, _ = s.ListVendors(ctx, true); len(list) != 2 || list[1].DisabledAt == nil {
			t.Fatalf("all vendors %+v", list)
		}
	})
}

// TestVendorDeliveries: deliveries are queued with their event in one
// transaction, come due, are retried and finish.
func TestVendorDeliveries(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustCreateTicket(t, s, "t1", "dev-a", "r1", t0)
		if err := s.CreateVendor(ctx, store.Vendor{ID: "v1", Name: "Acme", WebhookURL: "https://acme.example", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		send := func(kind string, ds ...store.VendorDelivery) error {
			_, _, err := s.UpdateTicket(ctx, "t1", func(tk *store.Ticket) ([]store.TicketEvent, error) {
				return []store.TicketEvent{{Time: t0.Add(time.Minute), Actor: "eng", Data: ticketevent.Unknown{Name: kind, Raw: []byte(`{"vendor":"v1"}`)}, Deliveries: ds}}, nil
			})
			return err
		}
		if err := send("vendor_sent",
			store.VendorDelivery{ID: "d1", VendorID: "v1", Kind: "escalation", Channel: store.ChannelWebhook, Note: "n"},
			store.VendorDelivery{ID: "d2", VendorID: "v1", Kind: "escalation", Channel: store.ChannelEmail}); err != nil {
			t.Fatal(err)
		}
		// A failing event takes its deliveries with it.
		if err := send("vendor_sent", store.VendorDelivery{ID: "d1", VendorID: "v1", Kind: "escalation", Channel: store.ChannelWebhook}); err == nil {
			t.Fatal("duplicate delivery id accepted")
		}
		due, err := s.DueDeliveries(ctx, t0.Add(time.Minute), 10)
		if err != nil || len(due) != 2 || due[0].ID != "d1" || due[0].EventID == 0 || due[0].TicketID != "t1" || due[0].Note != "n" {
			t.Fatalf("due %+v %v", due, err)
		}
		next := t0.Add(5 * time.Minute)
		if err := s.FinishDelivery(ctx, "d1", store.DeliveryPending, "503 maintenance", &next, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDelivery(ctx, "d2", store.DeliveryDelivered, "", nil, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "finish a finished delivery", s.FinishDelivery(ctx, "d2", store.DeliveryDelivered, "", nil, t0), store.ErrNotFound)
		if due, _ = s.DueDeliveries(ctx, t0.Add(4*time.Minute), 10); len(due) != 0 {
			t.Fatalf("due before the retry: %+v", due)
		}
		if due, _ = s.DueDeliveries(ctx, next, 10); len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "503 maintenance" {
			t.Fatalf("due at the retry: %+v", due)
		}
		all, err := s.TicketDeliveries(ctx, "t1")
		if err != nil || len(all) != 2 || all[1].State != store.DeliveryDelivered || all[1].DoneAt == nil {
			t.Fatalf("ticket deliveries %+v %v", all, err)
		}
	})
}

// TestMessageIDs: a message event carrying an id is stored once per
// ticket; the second is refused with ErrDuplicate and changes nothing.
func TestMessageIDs(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustCreateTicket(t, s, "t1", "dev-a", "r1", t0)
		mustCreateTicket(t, s, "t2", "dev-a", "r2", t0)
		msg := func(id, ticket string) error {
			_, _, err := s.UpdateTicket(ctx, ticket, func(tk *store.Ticket) ([]store.TicketEvent, error) {
				return []store.TicketEvent{{Time: t0, Actor: "user", Data: ticketevent.Message{From: "user", Text: "hi"}, MessageID: id}}, nil
			})
			return err
		}
		if err := msg("m1", "t1"); err != nil {
			t.Fatal(err)
		}
		if err := msg("m1", "t1"); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("second delivery: %v", err)
		}
		if err := msg("m1", "t2"); err != nil {
			t.Fatalf("same id on another ticket: %v", err)
		}
		evs, _ := s.TicketEvents(ctx, "t1")
		if n := len(evs); n != 2 { // filed + one message
			t.Fatalf("%d events on t1", n)
		}
	})
}

// TestJobLock: on PostgreSQL one store at a time runs a job, and the lock
// is released when the run ends; on SQLite the job always runs.
func TestJobLock(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		hold, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			s.WithJobLock(ctx, "sla", func(context.Context) error { close(hold); <-release; return nil })
		}()
		<-hold
		ran, err := s.WithJobLock(ctx, "sla", func(context.Context) error { return nil })
		if err != nil || ran != (s.Dialect() == store.DialectSQLite) {
			t.Fatalf("%s: second run while held ran=%v err=%v", s.Dialect(), ran, err)
		}
		// Another job is not blocked.
		if ran, err := s.WithJobLock(ctx, "vendor-deliveries", func(context.Context) error { return nil }); !ran || err != nil {
			t.Fatalf("other job: %v %v", ran, err)
		}
		close(release)
		<-done
		if ran, err := s.WithJobLock(ctx, "sla", func(context.Context) error { return errors.New("boom") }); !ran || err == nil {
			t.Fatalf("after release: %v %v", ran, err)
		}
		if ran, _ := s.WithJobLock(ctx, "sla", func(context.Context) error { return nil }); !ran {
			t.Fatal("lock not released after an error")
		}
	})
}
