package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/wire"
)

func TestSessions(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		u := store.User{ID: wire.NewID(), Name: "ann", Role: store.RoleTier2, PasswordHash: "x"}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		id := auth.Secret(32)
		h := auth.HashSecret(id)
		if err := s.CreateSession(ctx, store.Session{IDHash: h, UserID: u.ID, CSRF: "tok", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, store.Session{IDHash: auth.HashSecret("x"), UserID: "nobody", CSRF: "t", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session for an unknown user: %v, want ErrNotFound", err)
		}
		// Only the hash is stored.
		var n int
		if err := s.DB().QueryRow(fmt.Sprintf(`SELECT COUNT(*) FROM sessions WHERE id_hash = %s`, map[string]string{"sqlite": "?", "postgres": "$1"}[s.Dialect()]), []byte(id)).Scan(&n); err != nil || n != 0 {
			t.Errorf("the raw session id is stored (%d, %v)", n, err)
		}
		se, got, err := s.LookupSession(ctx, h, t0.Add(10*time.Minute), 30*time.Minute, 30*time.Second)
		if err != nil || got.Name != "ann" || se.CSRF != "tok" || !se.LastSeen.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("lookup: %+v %+v %v", se, got, err)
		}
		// Activity within touchEvery is not written again.
		se, _, _ = s.LookupSession(ctx, h, t0.Add(10*time.Minute+time.Second), 30*time.Minute, 30*time.Second)
		if !se.LastSeen.Equal(t0.Add(10 * time.Minute)) {
			t.Errorf("last seen moved within the touch interval: %s", se.LastSeen)
		}
		// Idle past the limit: expired and gone.
		if _, _, err := s.LookupSession(ctx, h, t0.Add(41*time.Minute), 30*time.Minute, 30*time.Second); !errors.Is(err, store.ErrSessionExpired) {
			t.Fatalf("idle session: %v, want ErrSessionExpired", err)
		}
		if _, _, err := s.LookupSession(ctx, h, t0.Add(41*time.Minute), 0, time.Second); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session still there: %v", err)
		}
		// Absolute expiry.
		h2 := auth.HashSecret("two")
		_ = s.CreateSession(ctx, store.Session{IDHash: h2, UserID: u.ID, CSRF: "t2", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		if _, _, err := s.LookupSession(ctx, h2, t0.Add(time.Hour), 0, time.Second); !errors.Is(err, store.ErrSessionExpired) {
			t.Fatalf("past absolute expiry: %v", err)
		}
		// Logout and per-user deletion.
		h3, h4 := auth.HashSecret("three"), auth.HashSecret("four")
		_ = s.CreateSession(ctx, store.Session{IDHash: h3, UserID: u.ID, CSRF: "t3", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		_ = s.CreateSession(ctx, store.Session{IDHash: h4, UserID: u.ID, CSRF: "t4", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		if err := s.DeleteSession(ctx, h3); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.LookupSession(ctx, h3, t0, 0, time.Second); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted session: %v", err)
		}
		if n, err := s.DeleteUserSessions(ctx, u.ID); err != nil || n != 1 {
			t.Errorf("delete user sessions: %d %v, want 1", n, err)
		}
		// Disabled users' sessions stop working.
		h5 := auth.HashSecret("five")
		_ = s.CreateSession(ctx, store.Session{IDHash: h5, UserID: u.ID, CSRF: "t5", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		if _, err := s.DB().Exec(fmt.Sprintf(`UPDATE users SET disabled_at = %d WHERE name = 'ann'`, t0.UnixNano())); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.LookupSession(ctx, h5, t0, 0, time.Second); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("disabled user's session: %v, want ErrNotFound", err)
		}
		// Prune.
		_, _ = s.DB().Exec(`UPDATE users SET disabled_at = NULL`)
		_ = s.CreateSession(ctx, store.Session{IDHash: auth.HashSecret("old"), UserID: u.ID, CSRF: "o", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)})
		_ = s.CreateSession(ctx, store.Session{IDHash: auth.HashSecret("new"), UserID: u.ID, CSRF: "n", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		if n, err := s.PruneSessions(ctx, t0.Add(2*time.Minute), t0.Add(-time.Minute)); err != nil || n != 1 {
			t.Errorf("prune: %d %v, want 1", n, err)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		if n, last, err := s.LoginFailures(ctx, "Bob"); err != nil || n != 0 || !last.IsZero() {
			t.Fatalf("no failures yet: %d %s %v", n, last, err)
		}
		for i := 1; i <= 3; i++ {
			if n, err := s.RecordLoginFailure(ctx, "Bob", t0.Add(time.Duration(i)*time.Second)); err != nil || n != i {
				t.Fatalf("failure %d: %d %v", i, n, err)
			}
		}
		// Names are compared without case or surrounding space.
		n, last, err := s.LoginFailures(ctx, " bob ")
		if err != nil || n != 3 || !last.Equal(t0.Add(3*time.Second)) {
			t.Fatalf("failures: %d %s %v", n, last, err)
		}
		if err := s.ClearLoginFailures(ctx, "BOB"); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := s.LoginFailures(ctx, "bob"); n != 0 {
			t.Fatalf("after clearing: %d", n)
		}
	})
}

func TestQueueTickets(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		queues := map[int64]string{1: "printers", 3: "printers", 6: "printers", 4: "network"}
		mk := func(num int64, tier int, state string, since time.Time, used time.Duration, running bool, assignee string) {
			tk := store.Ticket{ID: fmt.Sprintf("t%d", num), Title: fmt.Sprintf("ticket %d", num), CreatedAt: t0, UpdatedAt: t0, Queue: queues[num]}
			tk.State, tk.Tier, tk.Priority, tk.Impact, tk.Urgency = state, tier, 3, 3, 3
			tk.TierEnteredAt, tk.ClockSince, tk.ClockUsed, tk.ClockRunning, tk.Assignee = since, &since, used, running, assignee
			if _, _, err := s.CreateTicket(ctx, tk, []store.TicketEvent{{Time: t0, Actor: "test", Data: ticketevent.Filed{}}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		mk(1, 1, store.TicketNew, t0, 0, true, "")
		mk(2, 1, store.TicketOpen, t0.Add(-time.Minute), 0, true, "ann")         // due first
		mk(3, 1, store.TicketOpen, t0.Add(time.Minute), 5*time.Minute, true, "") // due before 1: more used
		mk(4, 1, store.TicketWaitingUser, t0, 0, false, "")                      // paused: last
		mk(5, 1, store.TicketResolved, t0.Add(-time.Hour), 0, true, "")          // not in a queue
		mk(6, 2, store.TicketNew, t0, 0, true, "")
		got, more, err := s.QueueTickets(ctx, store.QueueFilter{Tier: 1})
		if err != nil || more {
			t.Fatal(err, more)
		}
		if fmt.Sprint(ids(got)) != "[t3 t2 t1 t4]" {
			t.Errorf("tier 1 queue: %v, want [t3 t2 t1 t4]", ids(got))
		}
		page, more, _ := s.QueueTickets(ctx, store.QueueFilter{Tier: 1, Limit: 2})
		if fmt.Sprint(ids(page)) != "[t3 t2]" || !more {
			t.Errorf("first page of 2: %v more=%v", ids(page), more)
		}
		page, more, _ = s.QueueTickets(ctx, store.QueueFilter{Tier: 1, Limit: 2, Offset: 2})
		if fmt.Sprint(ids(page)) != "[t1 t4]" || more {
			t.Errorf("second page of 2: %v more=%v", ids(page), more)
		}
		mine, _, _ := s.QueueTickets(ctx, store.QueueFilter{Mine: "ann"})
		if fmt.Sprint(ids(mine)) != "[t2]" {
			t.Errorf("mine: %v", ids(mine))
		}
		st, _, _ := s.QueueTickets(ctx, store.QueueFilter{Tier: 1, State: store.TicketNew})
		if fmt.Sprint(ids(st)) != "[t1]" {
			t.Errorf("state new: %v", ids(st))
		}
		// A named queue, within a tier or across tiers, in SLA order.
		pq, _, err := s.QueueTickets(ctx, store.QueueFilter{Tier: 1, Queue: "printers"})
		if err != nil || fmt.Sprint(ids(pq)) != "[t3 t1]" {
			t.Errorf("tier 1 queue printers: %v %v, want [t3 t1]", ids(pq), err)
		}
		if all, _, _ := s.QueueTickets(ctx, store.QueueFilter{Queue: "printers"}); fmt.Sprint(ids(all)) != "[t3 t1 t6]" {
			t.Errorf("queue printers, every tier: %v, want [t3 t1 t6]", ids(all))
		}
		if none, _, _ := s.QueueTickets(ctx, store.QueueFilter{Tier: 1, Queue: "nobody"}); len(none) != 0 {
			t.Errorf("unknown queue: %v", ids(none))
		}
		counts, err := s.QueueCounts(ctx)
		if err != nil || counts[1] != 4 || counts[2] != 1 {
			t.Errorf("counts %v %v", counts, err)
		}
	})
}

func ids(ts []store.Ticket) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}
