package store_test

import (
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

func mustUser(t *testing.T, s *store.Store, id, name string, role store.Role) {
	t.Helper()
	if err := s.CreateUser(ctx, store.User{ID: id, Name: name, Role: role, PasswordHash: "x", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
}

// TestNotifyPrefs: choices are stored per user; the webhook secret is kept
// by an update that sends none and cleared only when asked.
func TestNotifyPrefs(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustUser(t, s, "u1", "ana", store.RoleTier1)
		_, err := s.GetNotifyPrefs(ctx, "u1")
		wantErr(t, "never saved", err, store.ErrNotFound)
		wantErr(t, "unknown user", s.PutNotifyPrefs(ctx, store.NotifyPrefs{UserID: "nope", Prefs: "{}", UpdatedAt: t0}, false), store.ErrNotFound)
		if err := s.PutNotifyPrefs(ctx, store.NotifyPrefs{UserID: "u1", Prefs: `{"a":1}`, WebhookSecret: "0123456789abcdef", UpdatedAt: t0}, false); err != nil {
			t.Fatal(err)
		}
		if err := s.PutNotifyPrefs(ctx, store.NotifyPrefs{UserID: "u1", Prefs: `{"a":2}`, UpdatedAt: t0.Add(time.Minute)}, false); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetNotifyPrefs(ctx, "u1")
		if err != nil || got.Prefs != `{"a":2}` || got.WebhookSecret != "0123456789abcdef" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("after update without a secret: %+v %v", got, err)
		}
		if err := s.PutNotifyPrefs(ctx, store.NotifyPrefs{UserID: "u1", Prefs: `{"a":3}`, UpdatedAt: t0}, true); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListNotifyPrefs(ctx)
		if err != nil || len(all) != 1 || all["u1"].WebhookSecret != "" || all["u1"].Prefs != `{"a":3}` {
			t.Fatalf("list after clearing the secret: %+v %v", all, err)
		}
	})
}

// TestNotifications: a notification is stored once per user and key with
// its deliveries, listed newest first, counted unread and marked read;
// the outbox comes due, is held back, retried and finished.
func TestNotifications(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustUser(t, s, "u1", "ana", store.RoleTier1)
		mustUser(t, s, "u2", "bo", store.RoleTier2)
		later := t0.Add(8 * time.Hour)
		n1 := store.Notification{ID: "n1", UserID: "u1", DedupeKey: "t1:1:assigned", Event: "assigned", TicketID: "t1", Title: "#1 assigned to you", Link: "/tickets/t1", CreatedAt: t0}
		added, err := s.AddNotification(ctx, n1, []store.NotifyDelivery{{ID: "n1-email", Channel: store.NotifyEmail}, {ID: "n1-webhook", Channel: store.NotifyWebhook, NextAttemptAt: &later}})
		if err != nil || !added {
			t.Fatalf("add: %v %v", added, err)
		}
		// The same key again (another hub, a replayed change): nothing new.
		dup := n1
		dup.ID = "n1-again"
		added, err = s.AddNotification(ctx, dup, []store.NotifyDelivery{{ID: "n1-again-email", Channel: store.NotifyEmail}})
		if err != nil || added {
			t.Fatalf("duplicate: added %v, %v", added, err)
		}
		// The same key for another user is theirs.
		if added, err = s.AddNotification(ctx, store.Notification{ID: "n2", UserID: "u2", DedupeKey: n1.DedupeKey, Event: "assigned", Title: "x", CreatedAt: t0.Add(time.Second)}, nil); err != nil || !added {
			t.Fatalf("other user: %v %v", added, err)
		}
		if _, err = s.AddNotification(ctx, store.Notification{ID: "n3", UserID: "u1", DedupeKey: "k3", Event: "sla_breach", Title: "breach", CreatedAt: t0.Add(time.Minute)},
			[]store.NotifyDelivery{{ID: "bad", Channel: "pager"}}); err == nil {
			t.Fatal("a delivery over an unknown channel was stored")
		}
		if _, err := s.GetNotification(ctx, "n3"); err == nil {
			t.Fatal("the notification of a refused delivery was kept")
		}
		if _, err = s.AddNotification(ctx, store.Notification{ID: "n3", UserID: "u1", DedupeKey: "k3", Event: "sla_breach", Title: "breach", CreatedAt: t0.Add(time.Minute)}, nil); err != nil {
			t.Fatal(err)
		}
		farOff := t0.Add(48 * time.Hour)
		// One batch: a user who is gone is passed over, a key seen before
		// adds nothing, the rest are stored.
		got, err := s.AddNotifications(ctx, []store.NewNotification{
			{Notification: store.Notification{ID: "b1", UserID: "gone", DedupeKey: "kb", Event: "assigned", Title: "x", CreatedAt: t0}},
			{Notification: store.Notification{ID: "b2", UserID: "u2", DedupeKey: "kb", Event: "assigned", Title: "x", CreatedAt: t0},
				Deliveries: []store.NotifyDelivery{{ID: "b2-email", Channel: store.NotifyEmail, NextAttemptAt: &farOff}}},
			{Notification: store.Notification{ID: "b3", UserID: "u2", DedupeKey: n1.DedupeKey, Event: "assigned", Title: "x", CreatedAt: t0}},
		})
		if err != nil || len(got) != 3 || got[0] || !got[1] || got[2] {
			t.Fatalf("batch: %v %v", got, err)
		}
		if ds, _ := s.NotificationDeliveries(ctx, "b2"); len(ds) != 1 {
			t.Fatalf("batch deliveries: %+v", ds)
		}
		list, err := s.Notifications(ctx, "u1", false, 10)
		if err != nil || len(list) != 2 || list[0].ID != "n3" || list[1].ID != "n1" || list[1].Link != "/tickets/t1" {
			t.Fatalf("list: %+v %v", list, err)
		}
		if n, err := s.UnreadNotifications(ctx, "u1"); err != nil || n != 2 {
			t.Fatalf("unread %d %v", n, err)
		}
		// Marking another user's notification does nothing.
		if n, err := s.MarkNotificationsRead(ctx, "u1", []string{"n2", "n1"}, t0.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("mark read: %d %v", n, err)
		}
		if list, _ = s.Notifications(ctx, "u1", true, 10); len(list) != 1 || list[0].ID != "n3" {
			t.Fatalf("unread list: %+v", list)
		}
		if n, _ := s.UnreadNotifications(ctx, "u2"); n != 2 {
			t.Fatalf("the other user's notification was marked read")
		}
		if n, err := s.MarkNotificationsRead(ctx, "u1", nil, t0.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("mark all read: %d %v", n, err)
		}

		due, err := s.DueNotifyDeliveries(ctx, t0, 10)
		if err != nil || len(due) != 1 || due[0].ID != "n1-email" || due[0].UserID != "u1" {
			t.Fatalf("due now: %+v %v", due, err)
		}
		if err := s.DeferNotifyDelivery(ctx, "n1-email", t0.Add(time.Minute), "rate limit"); err != nil {
			t.Fatal(err)
		}
		if due, _ = s.DueNotifyDeliveries(ctx, t0, 10); len(due) != 0 {
			t.Fatalf("a held-back delivery is due: %+v", due)
		}
		next := t0.Add(2 * time.Minute)
		if err := s.FinishNotifyDelivery(ctx, "n1-email", store.NotifyPending, "connection refused", &next, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if p, f, err := s.NotifyOutboxCounts(ctx); err != nil || p != 3 || f != 1 {
			t.Fatalf("counts pending %d failing %d %v", p, f, err)
		}
		if err := s.FinishNotifyDelivery(ctx, "n1-email", store.NotifySent, "", nil, next); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "finish twice", s.FinishNotifyDelivery(ctx, "n1-email", store.NotifySent, "", nil, next), store.ErrNotFound)
		if n, err := s.NotifySentSince(ctx, "u1", store.NotifyEmail, t0); err != nil || n != 1 {
			t.Fatalf("sent since: %d %v", n, err)
		}
		if n, _ := s.NotifySentSince(ctx, "u1", store.NotifyEmail, next.Add(time.Second)); n != 0 {
			t.Fatalf("sent since later: %d", n)
		}
		if due, _ = s.DueNotifyDeliveries(ctx, later, 10); len(due) != 1 || due[0].ID != "n1-webhook" {
			t.Fatalf("due after quiet hours: %+v", due)
		}
		ds, err := s.NotificationDeliveries(ctx, "n1")
		if err != nil || len(ds) != 2 || ds[0].State != store.NotifySent || ds[0].Attempts != 2 || ds[1].State != store.NotifyPending {
			t.Fatalf("deliveries: %+v %v", ds, err)
		}
	})
}

// TestDevicesWentOffline: only offline, unrevoked devices of the groups
// whose connection ended in the window.
func TestDevicesWentOffline(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		for _, id := range []string{"d1", "d2", "d3", "d4"} {
			enroll(t, s, id, "host-"+id)
			if err := s.SetDeviceGroup(ctx, id, "lab"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetDeviceGroup(ctx, "d4", "office"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"d1", "d2", "d4"} {
			if err := s.MarkConnected(ctx, id, store.DeviceHello{Hostname: "host-" + id}, t0); err != nil {
				t.Fatal(err)
			}
		}
		// d1 and d4 went away at t0+1m; d2 is still online; d3 never came.
		for _, id := range []string{"d1", "d4"} {
			if err := s.MarkDisconnected(ctx, id, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.DevicesWentOffline(ctx, []string{"lab"}, t0, t0.Add(time.Hour))
		if err != nil || len(got) != 1 || got[0].ID != "d1" || got[0].Group != "lab" {
			t.Fatalf("lab: %+v %v", got, err)
		}
		if got, _ = s.DevicesWentOffline(ctx, []string{"lab", "office"}, t0, t0.Add(time.Hour)); len(got) != 2 {
			t.Fatalf("both groups: %+v", got)
		}
		if got, _ = s.DevicesWentOffline(ctx, []string{"lab"}, t0.Add(2*time.Minute), t0.Add(time.Hour)); len(got) != 0 {
			t.Fatalf("outside the window: %+v", got)
		}
		if got, _ = s.DevicesWentOffline(ctx, nil, t0, t0.Add(time.Hour)); len(got) != 0 {
			t.Fatalf("no groups: %+v", got)
		}
	})
}
