package mailin_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/mailin"
	"github.com/tierline/tierline/hub/store/storetest"
)

// BenchmarkCollect1000 turns 1,000 new mails from 1,000 senders in a real
// Dovecot mailbox (IMAPS on loopback) into 1,000 tickets on SQLite, and
// reports mails per second and the hub process's CPU per mail (the
// collector, the ticket service and SQLite; Dovecot's own CPU is not
// counted).
func BenchmarkCollect1000(b *testing.B) {
	const mails = 1000
	for range b.N {
		b.StopTimer()
		dc := startDovecot(b)
		st := storetest.Open(b)
		r := newRig(b, st, dc, mailin.TLSImplicit, func(c *mailin.Config) { c.SenderLimit = 2 })
		for i := range mails {
			dc.Deliver(b, msg(fmt.Sprintf("user%d@example.test", i), fmt.Sprintf("Printer on floor %d is offline", i%7),
				fmt.Sprintf("bench-%d@example.test", i), "Hello,\nthe printer says offline since this morning.\nThanks"))
		}
		cpu0 := cpuTime()
		start := time.Now()
		b.StartTimer()
		filed := 0
		for filed < mails {
			res, err := r.col.Poll(context.Background())
			if err != nil {
				b.Fatalf("poll: %v", err)
			}
			if res.Filed == 0 {
				b.Fatalf("a poll filed nothing with %d of %d mails in", filed, mails)
			}
			filed += res.Filed
		}
		b.StopTimer()
		took, cpu := time.Since(start), cpuTime()-cpu0
		b.ReportMetric(float64(mails)/took.Seconds(), "mails/s")
		b.ReportMetric(float64(cpu)/float64(time.Millisecond)/mails, "cpu-ms/mail")
	}
}

// cpuTime is the CPU this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
