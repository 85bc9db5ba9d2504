package history

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestFullRingWraps(t *testing.T) {
	h := New(Config{Interval: 10 * time.Second, Full: time.Minute, Coarse: time.Hour})
	full, _ := h.Capacity()
	if full != 7 {
		t.Fatalf("full capacity %d, want 7 (1 min / 10 s + 1)", full)
	}
	for i := 0; i < 20; i++ {
		h.AddSummary(t0.Add(time.Duration(i)*10*time.Second), diag.Summary{CPUPct: float64(i)})
	}
	pts := h.Recent(time.Time{})
	if len(pts) != 7 {
		t.Fatalf("%d points after wraparound, want 7", len(pts))
	}
	for i, p := range pts {
		if want := float64(13 + i); p.CPUPct != want {
			t.Errorf("point %d cpu %v, want %v (oldest first)", i, p.CPUPct, want)
		}
	}
	if got := h.Recent(t0.Add(180 * time.Second)); len(got) != 2 || got[0].CPUPct != 18 {
		t.Errorf("Recent(since) = %+v", got)
	}
}

func TestMinuteDownsampling(t *testing.T) {
	h := New(Config{Interval: 10 * time.Second, Full: time.Hour, Coarse: 3 * time.Minute})
	// 10 minutes of samples, every 10 s; CPU = minute*10 + i (i = 0..5).
	for m := 0; m < 10; m++ {
		for i := 0; i < 6; i++ {
			h.AddSummary(t0.Add(time.Duration(m)*time.Minute+time.Duration(i)*10*time.Second),
				diag.Summary{CPUPct: float64(m*10 + i), MemPct: 50})
		}
	}
	// One sample into minute 10: the step in progress.
	h.AddSummary(t0.Add(10*time.Minute+5*time.Second), diag.Summary{CPUPct: 100, MemPct: 50})
	snap := h.Snapshot(time.Time{})
	// Coarse ring keeps 3 completed minutes (7, 8, 9) plus the partial one.
	if len(snap.Minute) != 4 {
		t.Fatalf("%d minute points, want 4: %+v", len(snap.Minute), snap.Minute)
	}
	for k, m := range []int{7, 8, 9} {
		p := snap.Minute[k]
		if !p.Time.Equal(t0.Add(time.Duration(m) * time.Minute)) {
			t.Errorf("minute %d time %s", m, p.Time)
		}
		if want := float64(m*10) + 2.5; p.CPUPct != want || p.N != 6 || p.Max == nil || p.Max.CPUPct != float64(m*10+5) || p.MemPct != 50 {
			t.Errorf("minute %d: mean %v n %d max %+v, want mean %v n 6 max %d", m, p.CPUPct, p.N, p.Max, want, m*10+5)
		}
	}
	if last := snap.Minute[3]; last.N != 1 || last.CPUPct != 100 {
		t.Errorf("partial minute: %+v", last)
	}
	if len(snap.Full) != 61 {
		t.Errorf("%d full points, want 61", len(snap.Full))
	}
	// since filters both rings.
	snap = h.Snapshot(t0.Add(9 * time.Minute))
	if len(snap.Minute) != 2 || len(snap.Full) != 7 {
		t.Errorf("Snapshot(since 9m): %d minute, %d full points", len(snap.Minute), len(snap.Full))
	}
}

func TestDefaultBudget(t *testing.T) {
	h := New(Config{})
	full, coarse := h.Capacity()
	if full < 360 || coarse != 1440 {
		t.Errorf("capacity %d full, %d coarse; want >= 360 (1 h at 10 s) and 1440 (24 h at 1 min)", full, coarse)
	}
	if b := h.Bytes(); b > 512<<10 {
		t.Errorf("rings take %d bytes; budget is 512 KiB", b)
	}
	t.Logf("default history: %d + %d points, %d bytes", full, coarse, h.Bytes())
	s := diag.Sample{Time: t0, CPU: diag.CPU{TotalPct: 10}}
	allocs := testing.AllocsPerRun(1000, func() {
		s.Time = s.Time.Add(10 * time.Second)
		h.Add(s)
	})
	if allocs != 0 {
		t.Errorf("Add allocates %v times; memory must stay fixed", allocs)
	}
}

func TestLatestAndConcurrency(t *testing.T) {
	h := New(Config{Interval: time.Second, Full: time.Minute, Coarse: 10 * time.Minute})
	if _, ok := h.Latest(); ok {
		t.Error("Latest on an empty history")
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				h.Add(diag.Sample{Time: t0.Add(time.Duration(w*500+i) * time.Second)})
				if i%50 == 0 {
					h.Snapshot(t0)
					h.Recent(t0)
					h.Latest()
				}
			}
		}()
	}
	wg.Wait()
	if s, ok := h.Latest(); !ok || s.Time.IsZero() {
		t.Error("no latest sample")
	}
	full, _ := h.Capacity()
	if n := len(h.Recent(time.Time{})); n != full {
		t.Errorf("%d points, want a full ring of %d", n, full)
	}
}

func TestRecentProcsFollowTheRing(t *testing.T) {
	h := New(Config{Interval: 10 * time.Second, Full: time.Minute, Coarse: time.Hour})
	for i := 0; i < 10; i++ {
		s := diag.Sample{Time: t0.Add(time.Duration(i) * 10 * time.Second)}
		if i%2 == 0 {
			s.TopCPU = []diag.Process{{PID: 100, Name: "spin", CPUPct: 99.5}, {PID: int32(200 + i), Name: "other", CPUPct: 3}}
		}
		h.Add(s)
	}
	h.AddSummary(t0.Add(100*time.Second), diag.Summary{})
	pts := h.RecentProcs(time.Time{})
	if len(pts) != 7 {
		t.Fatalf("%d points, want 7", len(pts))
	}
	for i, p := range pts[:6] {
		n := 4 + i
		if want := t0.Add(time.Duration(n) * 10 * time.Second); !p.Time.Equal(want) {
			t.Errorf("point %d time %v, want %v", i, p.Time, want)
		}
		if n%2 == 1 && len(p.Top) != 0 {
			t.Errorf("point %d: a sample without processes kept %+v", i, p.Top)
		}
		if n%2 == 0 && (len(p.Top) != 2 || p.Top[0].PID != 100 || p.Top[0].CPUPct != 99.5 || p.Top[1].PID != int32(200+n)) {
			t.Errorf("point %d top %+v", i, p.Top)
		}
	}
	if last := pts[6]; len(last.Top) != 0 {
		t.Errorf("a summary-only point reused an older slot's processes: %+v", last.Top)
	}
}

func TestWaitAfterWaitsForASampleMeasuredAfter(t *testing.T) {
	h := New(Config{})
	h.Add(diag.Sample{Time: t0})
	h.Add(diag.Sample{Time: t0.Add(10 * time.Second)})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.WaitAfter(ctx, t0.Add(time.Second)); err == nil {
		t.Fatal("WaitAfter returned with a sample whose rates began before the time")
	}
	if err := h.WaitAfter(context.Background(), t0); err != nil {
		t.Fatalf("a sample measured from the time on is there already: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.WaitAfter(context.Background(), t0.Add(time.Second)) }()
	h.Add(diag.Sample{Time: t0.Add(20 * time.Second)}) // measured from t0+10s: enough
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- h.WaitAfter(context.Background(), t0.Add(25*time.Second)) }()
	h.Add(diag.Sample{Time: t0.Add(30 * time.Second)}) // its rates began at t0+20s: not yet
	select {
	case err := <-done:
		t.Fatalf("woke on a sample measured partly before: %v", err)
	default:
	}
	h.Add(diag.Sample{Time: t0.Add(40 * time.Second)})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
