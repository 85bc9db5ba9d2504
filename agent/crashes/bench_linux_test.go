package crashes

import (
	"context"
	"errors"
	"testing"
)

// BenchmarkKmsgRefresh is what the kernel-log source costs a check once
// its first read walked the ring buffer: a read of what is new.
func BenchmarkKmsgRefresh(b *testing.B) {
	src := NewKmsgSource("/dev/kmsg", "/proc/uptime")
	defer src.Close()
	if _, err := src.Read(context.Background()); errors.Is(err, ErrNoSource) {
		b.Skipf("kernel log not readable: %v", err)
	}
	tr := NewTracker(Config{Sources: []Source{src}})
	b.ReportAllocs()
	for b.Loop() {
		tr.Refresh(context.Background(), true)
		tr.Summary()
	}
}

// BenchmarkKmsgFirstRead is the first read: the whole ring buffer.
func BenchmarkKmsgFirstRead(b *testing.B) {
	for b.Loop() {
		src := NewKmsgSource("/dev/kmsg", "/proc/uptime")
		if _, err := src.Read(context.Background()); err != nil {
			b.Skipf("kernel log not readable: %v", err)
		}
		src.Close()
	}
}
