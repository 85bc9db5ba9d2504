package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

// BenchmarkConnectPath is the store's part of one agent connecting in a
// reconnect storm: its hello's lookup, its pending runs, and presence
// written in batches of 100 (as the gateway's presence loop writes them).
func BenchmarkConnectPath(b *testing.B) {
	s := storetest.Open(b)
	const devices = 1000
	for i := range devices {
		enroll(b, s, fmt.Sprintf("c%d", i), fmt.Sprintf("host%d", i))
	}
	var batch []store.Presence
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		id := fmt.Sprintf("c%d", n%devices)
		if _, err := s.DeviceAuth(ctx, id); err != nil {
			b.Fatal(err)
		}
		if _, err := s.PendingRuns(ctx, id, t0); err != nil {
			b.Fatal(err)
		}
		batch = append(batch, store.Presence{ID: id, Online: true, Hello: store.DeviceHello{Hostname: "h", OS: "linux"}, At: t0.Add(time.Duration(n))})
		if len(batch) == 100 {
			if err := s.SetPresence(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "connects/s")
}
