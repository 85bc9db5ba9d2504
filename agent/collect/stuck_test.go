package collect

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// TestStuckCollector: a collector that ignores its context (as statfs on a
// hung NFS mount does) neither holds up samples nor races with them.
func TestStuckCollector(t *testing.T) {
	c := NewWithConfig(Config{CollectorTimeout: 100 * time.Millisecond, Disabled: []string{"processes", "filesystems", "disk_io"}})
	release := make(chan struct{})
	var calls atomic.Int32
	c.collectors = append(c.collectors, collector{name: "stuck", busy: new(atomic.Bool), fill: func(_ context.Context, s *diag.Sample) error {
		if calls.Add(1) == 1 {
			<-release
		}
		s.Temperature = []diag.Temperature{{Sensor: "stuck"}} // written late on the first call
		return nil
	}})
	ctx := context.Background()
	start := time.Now()
	s, err := c.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("sample took %s with a stuck collector", d)
	}
	if !strings.HasPrefix(s.Unavailable["stuck"], "timed out") {
		t.Errorf("stuck collector: %q", s.Unavailable["stuck"])
	}
	if s.Memory.Total == 0 {
		t.Error("other collectors' data lost")
	}
	s, _ = c.Sample(ctx)
	if s.Unavailable["stuck"] != "still running from an earlier sample" {
		t.Errorf("second sample: %q", s.Unavailable["stuck"])
	}
	close(release)
	deadline := time.Now().Add(2 * time.Second)
	for {
		s, _ = c.Sample(ctx)
		if _, ok := s.Unavailable["stuck"]; !ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	found := false
	for _, tmp := range s.Temperature {
		found = found || tmp.Sensor == "stuck"
	}
	if _, ok := s.Unavailable["stuck"]; ok || !found {
		t.Errorf("recovered collector: unavailable %q, temperatures %+v", s.Unavailable["stuck"], s.Temperature)
	}
}
