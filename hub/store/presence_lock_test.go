package store_test

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

// TestPresenceAndIngestDoNotDeadlock: on PostgreSQL, one replica's
// presence batches (connects named in any order), another's ingest
// batches for the same devices and a third's bulk updates (marking a
// lapsed replica's devices offline, resetting its own at a start) commit
// side by side without a deadlock: all lock the devices' rows in id order.
func TestPresenceAndIngestDoNotDeadlock(t *testing.T) {
	server := os.Getenv(storetest.PostgresEnv)
	if server == "" {
		t.Skip(storetest.PostgresEnv + " is not set: row locks between replicas are PostgreSQL's")
	}
	s := storetest.OpenPostgres(t, server)
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("d%02d", i))
	}
	backwards := slices.Clone(ids)
	slices.Reverse(backwards)
	// Enrolled last first, so the table's own order (a bulk update's
	// scan) is the reverse of the id order.
	for _, id := range backwards {
		enroll(t, s, id, id)
	}
	const rounds = 60
	var wg sync.WaitGroup
	errs := make(chan error, 3*rounds)
	wg.Add(3)
	go func() {
		defer wg.Done()
		for range rounds {
			var batch []store.Presence
			for _, id := range backwards {
				batch = append(batch, store.Presence{ID: id, Online: true, At: t0})
			}
			if err := s.SetPresence(ctx, batch); err != nil {
				errs <- fmt.Errorf("presence: %w", err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for r := range rounds {
			var items []store.IngestItem
			for _, id := range ids {
				items = append(items, healthItem(id, uint64(r+1), t0))
			}
			if _, err := s.Ingest(ctx, items); err != nil {
				errs <- fmt.Errorf("ingest: %w", err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for r := range rounds {
			var err error
			if r%2 == 0 {
				_, _, err = s.ReapReplicas(ctx, t0) // no replica is registered: every online device
			} else {
				err = s.ResetPresence(ctx)
			}
			if err != nil {
				errs <- fmt.Errorf("bulk presence: %w", err)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
