package store_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

func connect(t *testing.T, s *store.Store, replica, id string, at time.Time) {
	t.Helper()
	s.SetReplica(replica)
	if err := s.SetPresence(context.Background(), []store.Presence{{ID: id, Online: true, At: at}}); err != nil {
		t.Fatal(err)
	}
}

func disconnect(t *testing.T, s *store.Store, replica, id string, at time.Time) {
	t.Helper()
	s.SetReplica(replica)
	if err := s.SetPresence(context.Background(), []store.Presence{{ID: id, Online: false, At: at}}); err != nil {
		t.Fatal(err)
	}
}

func presence(t *testing.T, s *store.Store, id string) (bool, string) {
	t.Helper()
	d, err := s.GetDevice(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d.Online, d.Replica
}

// TestReplicaPresence: a device's connection names its replica; a
// disconnect recorded by a replica that no longer holds the device leaves
// it online; a replica starting resets only its own devices on
// PostgreSQL (every device on SQLite, which has one hub); the devices of a
// replica whose lease lapsed go offline, and that replica is told so when
// it renews, and takes back the devices it still holds.
func TestReplicaPresence(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		enroll(t, s, "d1", "one")
		enroll(t, s, "d2", "two")
		enroll(t, s, "d3", "three")
		now := t0
		for _, r := range []store.Replica{{ID: "aaaaaaaaaaaaaaaa", Address: "https://a"}, {ID: "bbbbbbbbbbbbbbbb", Address: "https://b"}} {
			r.StartedAt, r.LeaseUntil = now, now.Add(15*time.Second)
			if err := s.RegisterReplica(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		a, b := "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"
		connect(t, s, a, "d1", now)
		connect(t, s, a, "d2", now)
		connect(t, s, b, "d3", now)
		if on, rep := presence(t, s, "d1"); !on || rep != a {
			t.Fatalf("d1 after connecting to a: online %v replica %q", on, rep)
		}
		// d2 moves to b; a records its disconnect late.
		connect(t, s, b, "d2", now.Add(time.Second))
		disconnect(t, s, a, "d2", now.Add(2*time.Second))
		if on, rep := presence(t, s, "d2"); !on || rep != b {
			t.Fatalf("d2 moved to b, then a's late disconnect: online %v replica %q; want online on b", on, rep)
		}
		// b restarts.
		s.SetReplica(b)
		if err := s.ResetPresence(ctx); err != nil {
			t.Fatal(err)
		}
		on1, _ := presence(t, s, "d1")
		on3, _ := presence(t, s, "d3")
		if s.Dialect() == store.DialectPostgres {
			if !on1 || on3 {
				t.Fatalf("b restarted on PostgreSQL: d1 (on a) online %v, d3 (on b) online %v; want true, false", on1, on3)
			}
		} else if on1 || on3 {
			t.Fatalf("the one hub restarted on SQLite: d1 online %v, d3 online %v; want both offline", on1, on3)
		}
		if s.Dialect() != store.DialectPostgres {
			return
		}
		// a stops renewing; b renews and reaps.
		later := now.Add(20 * time.Second)
		connect(t, s, b, "d3", later)
		if ok, err := s.RenewReplica(ctx, b, later.Add(15*time.Second)); err != nil || !ok {
			t.Fatalf("renew b: %v %v", ok, err)
		}
		devs, gone, err := s.ReapReplicas(ctx, later)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(devs, []string{"d1"}) || !slices.Equal(gone, []string{a}) {
			t.Fatalf("reap: devices %v replicas %v; want [d1] [%s]", devs, gone, a)
		}
		if on, _ := presence(t, s, "d1"); on {
			t.Fatal("d1 still online after its replica's lease lapsed")
		}
		if on, _ := presence(t, s, "d3"); !on {
			t.Fatal("d3 (on b, whose lease stands) went offline in the reap")
		}
		if ok, err := s.RenewReplica(ctx, a, later); err != nil || ok {
			t.Fatalf("renew of a reaped replica: %v %v; want false", ok, err)
		}
		s.SetReplica(a)
		if err := s.ClaimDevices(ctx, []string{"d1"}); err != nil {
			t.Fatal(err)
		}
		if on, rep := presence(t, s, "d1"); !on || rep != a {
			t.Fatalf("d1 claimed back by a: online %v replica %q", on, rep)
		}
		// b stops cleanly.
		if err := s.RemoveReplica(ctx, b, later); err != nil {
			t.Fatal(err)
		}
		if on, _ := presence(t, s, "d3"); on {
			t.Fatal("d3 online after its replica stopped")
		}
		if on, _ := presence(t, s, "d1"); !on {
			t.Fatal("d1 (on a) went offline when b stopped")
		}
		rs, err := s.Replicas(ctx)
		if err != nil || len(rs) != 0 {
			// a was reaped and has not registered again here.
			t.Fatalf("replicas: %+v %v; want none", rs, err)
		}
	})
}

// TestNotifyHolder: the replica holding a device hears a notification on
// its own channel, named by the one statement that found it; a device
// offline or held by the sender gets none.
func TestNotifyHolder(t *testing.T) {
	server := os.Getenv(storetest.PostgresEnv)
	if server == "" {
		t.Skip(storetest.PostgresEnv + " is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, dsn := storetest.OpenPostgresURL(t, server)
	enroll(t, s, "d1", "one")
	enroll(t, s, "d2", "two")
	enroll(t, s, "d3", "three")
	a, b := "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"
	connect(t, s, b, "d1", t0)
	connect(t, s, a, "d2", t0)
	listener, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(context.Background())
	for _, ch := range []string{"tl_test_" + a, "tl_test_" + b} {
		if _, err := listener.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}

	for _, c := range []struct{ device, want string }{
		{"d2", ""}, // held here
		{"d3", ""}, // offline
		{"d9", ""}, // no such device
		{"d1", b},
	} {
		got, err := s.NotifyHolder(ctx, store.HolderNote{Device: c.device, ChannelPrefix: "tl_test_", Payload: "payload " + c.device, From: a})
		if err != nil || got != c.want {
			t.Fatalf("NotifyHolder(%s) from %s = %q, %v; want %q", c.device, a, got, err, c.want)
		}
	}
	// Only d1's notification was sent: it is the first to arrive.
	n, err := listener.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Channel != "tl_test_"+b || n.Payload != "payload d1" {
		t.Fatalf("notification on %q: %q; want payload d1 on tl_test_%s", n.Channel, n.Payload, b)
	}
}
