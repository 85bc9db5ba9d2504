package fixes

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/testwait"
	"github.com/tierline/tierline/shared/wire"
)

func TestJournalRoundTripAndReplay(t *testing.T) {
	dir := t.TempDir()
	r, rec := newTestRunner(t, dir, nil)
	first := r.Do(context.Background(), req("run-a", catalog.FlushDNS, 0, nil), nil)
	if first.Outcome != wire.OutcomeSucceeded || first.Replayed {
		t.Fatalf("first run: %+v", first)
	}
	again := r.Do(context.Background(), req("run-a", catalog.FlushDNS, 0, nil), nil)
	if !again.Replayed || again.Outcome != first.Outcome || again.Reason != first.Reason || len(again.Steps) != len(first.Steps) {
		t.Fatalf("replay %+v, want the recorded result of %+v", again, first)
	}
	// Even a different request under the same run id gets the recorded answer.
	other := r.Do(context.Background(), req("run-a", catalog.ResetNetwork, 3, nil), nil)
	if !other.Replayed || other.Fix != catalog.FlushDNS {
		t.Fatalf("reused run id ran again: %+v", other)
	}
	if n := len(rec.snapshot()); n != 1 {
		t.Fatalf("executor called %d times, want 1", n)
	}
	// Refusals are journaled too.
	ref := r.Do(context.Background(), req("run-b", catalog.EndProcess, 0, map[string]string{"name": "x"}), nil)
	if ref.Outcome != wire.OutcomeRefused || ref.Code != wire.RefuseTier {
		t.Fatalf("refusal %+v", ref)
	}
	ref2 := r.Do(context.Background(), req("run-b", catalog.EndProcess, 3, map[string]string{"name": "x"}), nil)
	if !ref2.Replayed || ref2.Code != wire.RefuseTier {
		t.Fatalf("refusal replay %+v", ref2)
	}
	// The files: one per run id, no temp files left.
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(names) != 2 {
		t.Fatalf("journal files %v", names)
	}
}

// TestJournalCrashBetweenStartedAndFinished: the agent dies after the
// durable "started" record and before "finished". On restart the run is
// reported once as interrupted, and a redelivery is answered the same way;
// nothing runs again.
func TestJournalCrashBetweenStartedAndFinished(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start("run-crash", catalog.ResetNetwork, time.Now(), FromHub); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write also leaves a temp file, which the next open removes.
	os.WriteFile(filepath.Join(dir, "run-other.json.tmp"), []byte("{half"), 0o600)

	var delivered []wire.RunResult
	r, rec := newTestRunner(t, dir, func(c *Config) {
		c.Deliver = func(res wire.RunResult) { delivered = append(delivered, res) }
	})
	if u := r.cfg.Journal.Unfinished(); len(u) != 1 || u[0].RunID != "run-crash" {
		t.Fatalf("unfinished %+v", u)
	}
	r.Start(context.Background())
	testwait.Until(t, "the interrupted run answered", func() bool { return len(r.cfg.Journal.Unfinished()) == 0 })
	r.Stop()
	if len(delivered) != 1 || delivered[0].Outcome != wire.OutcomeFailed || delivered[0].Reason != ReasonInterrupted || delivered[0].RunID != "run-crash" {
		t.Fatalf("delivered at start %+v", delivered)
	}
	got := r.Do(context.Background(), req("run-crash", catalog.ResetNetwork, 3, map[string]string{}), nil)
	if got.Outcome != wire.OutcomeFailed || got.Reason != ReasonInterrupted || !got.Replayed {
		t.Fatalf("redelivered crashed run: %+v", got)
	}
	if n := len(rec.snapshot()); n != 0 {
		t.Fatalf("executor called %d times for an interrupted run", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "run-other.json.tmp")); !os.IsNotExist(err) {
		t.Fatalf("temp file left: %v", err)
	}

	// Without a Runner start in between (a crash loop), a lookup of a
	// started-only record is answered as interrupted as well.
	j2, _ := OpenJournal(t.TempDir(), JournalOptions{})
	j2.Start("run-x", catalog.FlushDNS, time.Now(), FromHub)
	r2, _ := New(Config{Journal: j2, Exec: newRecorder(), Machine: func() Machine { return machine("linux") }})
	got = r2.Do(context.Background(), req("run-x", catalog.FlushDNS, 0, nil), nil)
	if got.Reason != ReasonInterrupted || !got.Replayed || got.Outcome != wire.OutcomeFailed {
		t.Fatalf("started-only lookup: %+v", got)
	}
}

func TestJournalDamagedEntryDoesNotRun(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "run-bad.json"), []byte(`{"v":1,"run_id":"run-bad","state":"finished"}`), 0o600)
	r, rec := newTestRunner(t, dir, nil)
	got := r.Do(context.Background(), req("run-bad", catalog.FlushDNS, 0, nil), nil)
	if got.Outcome != wire.OutcomeFailed || !got.Replayed || !strings.Contains(got.Reason, "damaged") {
		t.Fatalf("damaged entry: %+v", got)
	}
	if len(rec.snapshot()) != 0 {
		t.Fatal("a run with a damaged journal entry ran")
	}
}

func TestJournalPrune(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	write := func(id string, age time.Duration) {
		p := filepath.Join(dir, id+".json")
		data, _ := json.Marshal(Record{V: 1, RunID: id, Fix: "flush-dns", State: StateStarted, Started: now.Add(-age)})
		os.WriteFile(p, data, 0o600)
		os.Chtimes(p, now.Add(-age), now.Add(-age))
	}
	write("old", 31*24*time.Hour)
	for i := range 12 {
		write(fmt.Sprintf("r%02d", i), time.Duration(12-i)*time.Hour)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("left alone"), 0o600)
	// r00 and r01 are past HubKeep, so the bound may prune them.
	j, err := OpenJournal(dir, JournalOptions{MaxEntries: 10, HubKeep: 10*time.Hour + 30*time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"old", "r00", "r01"} {
		if _, found, _ := j.Get(id); found {
			t.Errorf("%s not pruned", id)
		}
	}
	for _, id := range []string{"r02", "r11"} {
		if _, found, _ := j.Get(id); !found {
			t.Errorf("%s pruned", id)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Error("an unrelated file was removed")
	}
	// The newest started records are the unfinished runs.
	if u := j.Unfinished(); len(u) != 10 {
		t.Fatalf("unfinished %d, want 10", len(u))
	}
}

// TestJournalLocalFloodKeepsHubRuns: a local user runs a Tier 0 fix
// thousands of times; the hub then sends an old run again (it does after
// every reconnect until it has the result). The journal still knows the
// hub's run, so it is answered from the journal and nothing runs. Before,
// local runs shared the journal's one count bound and pushed the hub's
// run out, and it ran a second time.
func TestJournalLocalFloodKeepsHubRuns(t *testing.T) {
	dir := t.TempDir()
	// Past 1,000 finished runs the journal prunes as it goes.
	const bound, floods = 300, 1500
	r, rec := newTestRunner(t, dir, func(c *Config) {
		j, err := OpenJournal(dir, JournalOptions{MaxEntries: bound, MaxLocal: bound})
		if err != nil {
			t.Fatal(err)
		}
		c.Journal = j
	})
	ctx := context.Background()
	hubRun := req("hub-run-1", catalog.RestartService, 2, map[string]string{"service": "cups"})
	first := r.Do(ctx, hubRun, nil)
	if first.Replayed || first.Outcome == wire.OutcomeRefused {
		t.Fatalf("hub run: %+v", first)
	}
	// A newer hub run too, and then the flood of local runs.
	if res := r.Do(ctx, req("hub-run-2", catalog.FlushDNS, 1, nil), nil); res.Replayed {
		t.Fatalf("hub run 2: %+v", res)
	}
	local := WithRequesterConsent(ctx)
	for i := range floods {
		if res := r.Do(local, req(fmt.Sprintf("local-%d", i), catalog.FlushDNS, 0, nil), nil); res.Outcome != wire.OutcomeSucceeded {
			t.Fatalf("local run %d: %+v", i, res)
		}
	}
	ranHub := func() int {
		n := 0
		for _, c := range rec.snapshot() {
			if c.RunID == hubRun.RunID {
				n++
			}
		}
		return n
	}
	before := ranHub()
	if before == 0 {
		t.Fatal("the hub run reached no executor the first time")
	}
	again := r.Do(ctx, hubRun, nil)
	if !again.Replayed || again.Outcome != first.Outcome {
		t.Fatalf("redelivered hub run after %d local runs: %+v, want the journal's answer %q", floods, again, first.Outcome)
	}
	// After a restart (the journal prunes at open) it is still known.
	r2, rec2 := newTestRunner(t, dir, func(c *Config) {
		j, err := OpenJournal(dir, JournalOptions{MaxEntries: bound, MaxLocal: bound})
		if err != nil {
			t.Fatal(err)
		}
		c.Journal = j
	})
	for _, id := range []string{"hub-run-1", "hub-run-2"} {
		if res := r2.Do(ctx, req(id, catalog.RestartService, 2, map[string]string{"service": "cups"}), nil); !res.Replayed {
			t.Fatalf("after a restart, hub run %s ran again: %+v", id, res)
		}
	}
	if n := ranHub(); n != before || len(rec2.snapshot()) != 0 {
		t.Fatalf("the redelivered hub run reached the executor: %d calls, was %d; %d after restart", n, before, len(rec2.snapshot()))
	}
	// The local runs are bounded on their own.
	names, _ := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if len(names) > bound {
		t.Fatalf("%d local entries kept, bound %d", len(names), bound)
	}
}

// TestJournalKeepsHubRunsWhateverTheirNumber: hub runs younger than
// HubKeep outlive the count bound; older ones are pruned by it.
func TestJournalKeepsHubRunsWhateverTheirNumber(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	for i := range 30 {
		id := fmt.Sprintf("h%02d", i)
		p := filepath.Join(dir, id+".json")
		data, _ := json.Marshal(Record{V: 1, RunID: id, Fix: "flush-dns", State: StateFinished,
			Result: &wire.RunResult{RunID: id, Fix: "flush-dns", Outcome: wire.OutcomeSucceeded}})
		os.WriteFile(p, data, 0o600)
		age := time.Duration(30-i) * time.Hour // h00 is 30 h old, h29 1 h
		os.Chtimes(p, now.Add(-age), now.Add(-age))
	}
	j, err := OpenJournal(dir, JournalOptions{MaxEntries: 5, HubKeep: 20 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		id := fmt.Sprintf("h%02d", i)
		_, found, _ := j.Get(id)
		if young := i > 10; found != young {
			t.Errorf("%s (%d h old): kept %v, want %v", id, 30-i, found, young)
		}
	}
	if _, err := OpenJournal(dir, JournalOptions{HubKeep: 2 * time.Hour, MaxAge: time.Minute}); err != nil {
		t.Fatal(err)
	}
	// MaxAge is never below HubKeep: the 1 h old entry stays.
	if _, found, _ := j.Get("h29"); !found {
		t.Error("MaxAge shorter than HubKeep pruned a hub run")
	}
}

func TestJournalRefusesBadRunIDs(t *testing.T) {
	j, _ := OpenJournal(t.TempDir(), JournalOptions{})
	for _, id := range []string{"", "../../etc/passwd", "a/b", "x.json", strings.Repeat("a", 65), "a\x00b", `..\x`} {
		if err := j.Start(id, "flush-dns", time.Now(), FromLocal); err == nil {
			t.Errorf("Start(%q) accepted", id)
		}
		if _, found, err := j.Get(id); found || err == nil {
			t.Errorf("Get(%q) = %v, %v", id, found, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	ok, _ := json.Marshal(Record{V: 1, RunID: "r1", Fix: "flush-dns", State: StateStarted, Started: time.Unix(0, 0).UTC()})
	fin, _ := json.Marshal(Record{V: 1, RunID: "r1", Fix: "flush-dns", State: StateFinished,
		Result: &wire.RunResult{RunID: "r1", Fix: "flush-dns", Outcome: wire.OutcomeSucceeded}})
	for _, s := range [][]byte{ok, fin, []byte(`{}`), []byte(`{"v":1,"run_id":"../x","state":"started"}`), []byte(`{"v":1,"run_id":"r","state":"finished","result":{"run_id":"q"}}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		if wire.ValidateRunID(r.RunID) != nil {
			t.Fatalf("accepted run id %q", r.RunID)
		}
		if r.State == StateFinished && (r.Result == nil || r.Result.RunID != r.RunID || r.Result.Validate() != nil) {
			t.Fatalf("accepted a finished record with result %+v", r.Result)
		}
		if r.State != StateFinished && r.State != StateStarted {
			t.Fatalf("accepted state %q", r.State)
		}
	})
}
