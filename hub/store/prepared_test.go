package store_test

import (
	"sync"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

// A connecting device's catch-up is skipped when no ticket names it; the
// prepared statements of the connection path answer the same from many
// goroutines at once, and again after the pool's connections changed.
func TestDeviceHasTicketsAndPreparedStatements(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d-none", "none")
		enroll(t, s, "d-some", "some")
		mustCreateTicket(t, s, "t-1", "d-some", "r-1", t0)
		for _, c := range []struct {
			id   string
			want bool
		}{{"d-none", false}, {"d-some", true}, {"d-unknown", false}} {
			if got, err := s.DeviceHasTickets(ctx, c.id); err != nil || got != c.want {
				t.Errorf("DeviceHasTickets(%s) = %v, %v; want %v", c.id, got, err, c.want)
			}
		}
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := []string{"d-none", "d-some"}[i%2]
				for range 20 {
					d, err := s.DeviceAuth(ctx, id)
					if err != nil || d.ID != id {
						t.Errorf("DeviceAuth(%s) = %v, %v", id, d.ID, err)
						return
					}
					if err := s.SetPresence(ctx, []store.Presence{{ID: id, Online: i%4 < 2, At: t0}}); err != nil {
						t.Errorf("SetPresence: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		// Connections closed under the statements are prepared again.
		s.DB().SetMaxIdleConns(0)
		s.DB().SetMaxIdleConns(1)
		if _, err := s.DeviceAuth(ctx, "d-some"); err != nil {
			t.Fatalf("DeviceAuth after the pool's connections closed: %v", err)
		}
		mustIngest(t, s, telemetryItem("d-some", 1, sample(t0, 1, 2, 3, 4, 5, 6)))
		if d, err := s.DeviceAuth(ctx, "d-some"); err != nil || d.LastSeq != 1 {
			t.Fatalf("DeviceAuth after ingest: last seq %d, %v; want 1", d.LastSeq, err)
		}
	})
}
