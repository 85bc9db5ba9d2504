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
// presence batches (connects named in any order) and another's ingest
// batches for the same devices commit side by side without a deadlock:
// both lock the devices' rows in id order.
func TestPresenceAndIngestDoNotDeadlock(t *testing.T) {
	server := os.Getenv(storetest.PostgresEnv)
	if server == "" {
		t.Skip(storetest.PostgresEnv + " is not set: row locks between replicas are PostgreSQL's")
	}
	s := storetest.OpenPostgres(t, server)
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("d%02d", i)
		enroll(t, s, id, id)
		ids = append(ids, id)
	}
	backwards := slices.Clone(ids)
	slices.Reverse(backwards)
	const rounds = 60
	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds)
	wg.Add(2)
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
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
