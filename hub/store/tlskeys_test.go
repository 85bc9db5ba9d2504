package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

// Ticket keys: one made at first, the same returned within the rotation,
// a new one first after it with the old still there, the old gone after
// two rotations.
func TestTLSTicketKeys(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Now()
		const day = 24 * time.Hour
		k1, err := s.TLSTicketKeys(ctx, t0, day)
		if err != nil || len(k1) != 1 || k1[0] == ([32]byte{}) {
			t.Fatalf("first: %d keys %v", len(k1), err)
		}
		if k, _ := s.TLSTicketKeys(ctx, t0.Add(time.Hour), day); len(k) != 1 || k[0] != k1[0] {
			t.Fatalf("within the day: %d keys, same %v", len(k), len(k) > 0 && k[0] == k1[0])
		}
		k2, _ := s.TLSTicketKeys(ctx, t0.Add(day+time.Hour), day)
		if len(k2) != 2 || k2[0] == k1[0] || k2[1] != k1[0] {
			t.Fatalf("after a day: %d keys, want the new one first and the old one second", len(k2))
		}
		k3, _ := s.TLSTicketKeys(ctx, t0.Add(2*day+2*time.Hour), day)
		for _, k := range k3 {
			if k == k1[0] {
				t.Fatal("a key older than two days is still used")
			}
		}
	})
}
