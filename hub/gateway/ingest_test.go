package gateway

import (
	"fmt"
	"testing"
)

// TestIngestShardKeepsADeviceOnOneQueue: every message of a device goes
// to the same ingest queue (or a later one could commit first and make an
// earlier one look like a duplicate), and devices spread over the queues.
func TestIngestShardKeepsADeviceOnOneQueue(t *testing.T) {
	const n, devices = 4, 4000
	per := make([]int, n)
	for i := range devices {
		id := fmt.Sprintf("%032x", i*7919)
		s := ingestShard(id, n)
		for range 3 {
			if again := ingestShard(id, n); again != s {
				t.Fatalf("device %s went to queue %d, then %d", id, s, again)
			}
		}
		per[s]++
	}
	for i, c := range per {
		if c < devices/n/2 {
			t.Errorf("queue %d has %d of %d devices: %v", i, c, devices, per)
		}
	}
	if got := ingestShard("anything", 1); got != 0 {
		t.Errorf("one queue: shard %d", got)
	}
}
