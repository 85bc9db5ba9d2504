package crashes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

type fakeSource struct {
	batches [][]Event
	err     error
	reads   int
}

func (f *fakeSource) Name() string { return "fake" }
func (f *fakeSource) Read(context.Context) ([]Event, error) {
	f.reads++
	if len(f.batches) == 0 {
		return nil, f.err
	}
	b := f.batches[0]
	f.batches = f.batches[1:]
	return b, f.err
}

func TestTrackerCountsPerApp(t *testing.T) {
	now := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)
	src := &fakeSource{batches: [][]Event{{
		{App: "OUTLOOK.EXE", Version: "16.0.1", Time: now.Add(-2 * time.Hour), Kind: KindCrash, Reason: "0xc0000005", PID: 1},
		{App: "OUTLOOK.EXE", Version: "16.0.2", Time: now.Add(-1 * time.Hour), Kind: KindCrash, Reason: "0xc0000374", PID: 2},
		{App: "outlook.exe", Time: now.Add(-30 * time.Minute), Kind: KindHang, PID: 3},
		{App: "OUTLOOK.EXE", Time: now.Add(-20 * time.Hour), Kind: KindCrash, PID: 4}, // yesterday, inside 24 h
		{App: "old", Time: now.Add(-25 * time.Hour), Kind: KindCrash},                 // outside the window
		{App: "", Time: now, Kind: KindCrash},                                         // nameless
		{App: "calc\x1b[31m", Time: now.Add(-time.Minute), Kind: KindCrash, Reason: "SIGFPE", PID: 9},
	}, {
		// A second read repeats an event: it is counted once.
		{App: "OUTLOOK.EXE", Version: "16.0.2", Time: now.Add(-1 * time.Hour), Kind: KindCrash, Reason: "0xc0000374", PID: 2},
	}}}
	clock := now
	tr := NewTracker(Config{Sources: []Source{src}, Now: func() time.Time { return clock }})
	tr.Refresh(context.Background(), false)
	tr.Refresh(context.Background(), false) // within Every: no read
	if src.reads != 1 {
		t.Fatalf("reads = %d, want 1 (rate-limited)", src.reads)
	}
	tr.Refresh(context.Background(), true)
	got := tr.Summary()
	want := []diag.AppCrashes{
		{App: "outlook.exe", Version: "16.0.2", Crashes: 3, Hangs: 1, Today: 3, Last: now.Add(-30 * time.Minute), LastKind: KindHang, Reason: "0xc0000374"},
		{App: "calc[31m", Crashes: 1, Today: 1, Last: now.Add(-time.Minute), LastKind: KindCrash, Reason: "SIGFPE"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("summary (-want +got):\n%s", d)
	}
	if s := got[0].Sentence(); s != "outlook crashed or stopped responding 4 times in the last 24 hours" {
		t.Fatalf("sentence: %q", s)
	}
	if s := got[1].Sentence(); s != "calc[31m crashed once today" {
		t.Fatalf("sentence: %q", s)
	}
	// A day later everything has aged out.
	clock = now.Add(Window)
	if got := tr.Summary(); len(got) != 0 {
		t.Fatalf("after a day: %+v", got)
	}
}

func TestTrackerBounds(t *testing.T) {
	now := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)
	tr := NewTracker(Config{Now: func() time.Time { return now }})
	for i := range MaxPerApp + 10 {
		tr.Add(Event{App: "loop", Time: now.Add(-time.Duration(i) * time.Minute), Kind: KindCrash, PID: i})
	}
	for i := range MaxApps + 5 {
		tr.Add(Event{App: "app" + strings.Repeat("x", i), Time: now.Add(-time.Duration(i) * time.Second), Kind: KindCrash})
	}
	tr.Add(Event{App: strings.Repeat("é", 200), Time: now, Kind: KindCrash})
	got := tr.Summary()
	if len(got) != MaxApps {
		t.Fatalf("apps kept = %d, want %d", len(got), MaxApps)
	}
	for _, a := range got {
		if a.App == "loop" && a.Crashes != MaxPerApp {
			t.Fatalf("loop crashes = %d, want capped at %d", a.Crashes, MaxPerApp)
		}
		if len(a.App) > MaxText || !strings.HasPrefix(a.App, "") {
			t.Fatalf("name longer than %d bytes: %d", MaxText, len(a.App))
		}
	}
}

func TestTrackerKeepsSourceErrors(t *testing.T) {
	bad := &fakeSource{err: errors.New("journalctl timed out")}
	absent := &fakeSource{err: ErrNoSource}
	tr := NewTracker(Config{Sources: []Source{bad}})
	tr.Refresh(context.Background(), true)
	if e := tr.Errors(); e["fake"] != "journalctl timed out" {
		t.Fatalf("errors = %v", e)
	}
	tr2 := NewTracker(Config{Sources: []Source{absent}})
	tr2.Refresh(context.Background(), true)
	if e := tr2.Errors(); len(e) != 0 {
		t.Fatalf("an absent record is not an error: %v", e)
	}
	if s := tr2.Sources(); len(s) != 0 {
		t.Fatalf("an absent record is listed as read: %v", s)
	}
	if s := tr.Sources(); len(s) != 1 || s[0] != "fake" {
		t.Fatalf("a failing record is one that is read: %v", s)
	}
}

// TestTrackerOneEventFromTwoRecords: a fault that both the kernel log and
// systemd-coredump recorded counts once, under the coredump's fuller name
// and version.
func TestTrackerOneEventFromTwoRecords(t *testing.T) {
	now := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)
	tr := NewTracker(Config{Now: func() time.Time { return now }})
	at := now.Add(-time.Hour)
	tr.Add(Event{App: "gnome-calculat", PID: 5001, Time: at.Add(40 * time.Millisecond), Kind: KindCrash, Reason: "SIGSEGV", Source: "kernel-log"})
	tr.Add(Event{App: "gnome-calculator", Version: "43.0-1", PID: 5001, Time: at, Kind: KindCrash, Reason: "SIGSEGV", Source: "coredump"})
	tr.Add(Event{App: "gnome-calculat", PID: 5001, Time: at.Add(40 * time.Millisecond), Kind: KindCrash, Reason: "SIGSEGV", Source: "kernel-log"}) // re-read
	tr.Add(Event{App: "gnome-calculator", PID: 5002, Time: at.Add(time.Minute), Kind: KindCrash, Reason: "SIGABRT", Source: "coredump"})
	got := tr.Summary()
	if len(got) != 1 || got[0].App != "gnome-calculator" || got[0].Crashes != 2 || got[0].Version != "43.0-1" {
		t.Fatalf("summary: %+v", got)
	}
}
