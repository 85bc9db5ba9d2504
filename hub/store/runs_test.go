package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

func newRun(id, dev, fix string, at time.Time) store.Run {
	return store.Run{ID: id, DeviceID: dev, Fix: fix, Params: map[string]string{"k": "v"}, RequestedBy: "ana",
		RequesterRole: store.RoleTier1, Tier: 1, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
}

func TestRuns(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		enroll(t, s, "d2", "beta")

		// The per-device queue is ordered by creation.
		for i, id := range []string{"r1", "r2", "r3"} {
			if err := s.CreateRuns(ctx, nil, []store.Run{newRun(id, "d1", "flush-dns", t0.Add(time.Duration(i)*time.Second))}); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, "duplicate run id", s.CreateRuns(ctx, nil, []store.Run{newRun("r1", "d1", "flush-dns", t0)}), store.ErrExists)
		wantErr(t, "unknown device", s.CreateRuns(ctx, nil, []store.Run{newRun("rx", "nope", "flush-dns", t0)}), store.ErrNotFound)

		pending, err := s.PendingRuns(ctx, "d1", t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got := runIDs(pending); got != "r1,r2,r3" {
			t.Fatalf("pending %s, want r1,r2,r3 in order", got)
		}
		if pending[0].Params["k"] != "v" || pending[0].State != store.RunQueued || pending[0].RequestedBy != "ana" {
			t.Fatalf("pending run %+v", pending[0])
		}

		// Sent runs stay pending (redelivered after a reconnect) until a
		// result arrives.
		if err := s.MarkRunSent(ctx, "r1", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.CancelRun(ctx, "r2", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "cancel a sent run", s.CancelRun(ctx, "r1", t0), store.ErrRunNotQueued)
		wantErr(t, "cancel an unknown run", s.CancelRun(ctx, "zz", t0), store.ErrNotFound)
		pending, _ = s.PendingRuns(ctx, "d1", t0.Add(time.Minute))
		if got := runIDs(pending); got != "r1,r3" {
			t.Fatalf("pending after send and cancel: %s, want r1,r3", got)
		}

		// A result finishes the run once; a replay changes nothing; another
		// device cannot answer for it.
		result := &wire.RunResult{RunID: "r1", Fix: "flush-dns", Outcome: wire.OutcomeFixed, Reason: "dns works again",
			Before: []diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusFailing}},
			After:  []diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusOK}},
			Bundle: []byte("tar.gz bytes"), BundleName: "logs.tar.gz"}
		res := mustIngest(t, s,
			store.IngestItem{DeviceID: "d2", Seq: 1, Kind: store.KindRunResult, Received: t0.Add(2 * time.Minute), RunResult: &wire.RunResult{RunID: "r1", Outcome: wire.OutcomeFailed}},
			store.IngestItem{DeviceID: "d1", Seq: 1, Kind: store.KindRunResult, Received: t0.Add(2 * time.Minute), RunResult: result},
			store.IngestItem{DeviceID: "d1", Seq: 2, Kind: store.KindRunResult, Received: t0.Add(3 * time.Minute), RunResult: &wire.RunResult{RunID: "r1", Outcome: wire.OutcomeFailed, Replayed: true}},
		)
		if res[0].RunDone != nil || res[0].Err != nil {
			t.Errorf("another device's result: %+v", res[0])
		}
		if res[1].RunDone == nil || res[1].RunDone.ID != "r1" {
			t.Errorf("first result did not finish r1: %+v", res[1])
		}
		if res[2].RunDone != nil {
			t.Errorf("replayed result finished the run again")
		}
		r, err := s.GetRun(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if r.State != store.RunDone || r.Outcome != wire.OutcomeFixed || r.Result == nil || len(r.Result.After) != 1 ||
			r.Result.Bundle != nil || r.BundleName != "logs.tar.gz" || r.BundleSize != len("tar.gz bytes") || r.FinishedAt == nil {
			t.Fatalf("stored run %+v result %+v", r, r.Result)
		}
		name, b, err := s.RunBundle(ctx, "r1")
		if err != nil || name != "logs.tar.gz" || string(b) != "tar.gz bytes" {
			t.Fatalf("bundle %q %q %v", name, b, err)
		}
		_, _, err = s.RunBundle(ctx, "r3")
		wantErr(t, "bundle of a run without one", err, store.ErrNotFound)

		// The result is in the audit log under the requester's name.
		evs, err := s.ListAudit(ctx, store.AuditFilter{ActionPrefix: "run.result"})
		if err != nil || len(evs) != 1 || evs[0].Actor != "ana" || evs[0].Target != "d1" || evs[0].Outcome != wire.OutcomeFixed {
			t.Fatalf("audit %+v %v", evs, err)
		}

		// A run handed straight to a connected device is stored as sent.
		direct := newRun("r0", "d2", "flush-dns", t0)
		direct.State = store.RunSent
		if err := s.CreateRuns(ctx, nil, []store.Run{direct}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetRun(ctx, "r0"); got.State != store.RunSent || got.SentAt == nil {
			t.Fatalf("direct run stored as %s, sent at %v", got.State, got.SentAt)
		}
		if err := s.CancelRun(ctx, "r0", t0); !errors.Is(err, store.ErrRunNotQueued) {
			t.Fatalf("cancel a sent run: %v", err)
		}

		// Queued runs expire at their expiry; sent ones get a grace period.
		if err := s.MarkRunSent(ctx, "r3", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRuns(ctx, nil, []store.Run{newRun("r4", "d1", "flush-dns", t0)}); err != nil {
			t.Fatal(err)
		}
		ids, err := s.ExpireRuns(ctx, t0.Add(time.Hour+time.Second))
		if err != nil || runIDList(ids) != "r4" {
			t.Fatalf("expired %v %v, want r4 only", ids, err)
		}
		ids, _ = s.ExpireRuns(ctx, t0.Add(2*time.Hour))
		if runIDList(ids) != "r3,r0" && runIDList(ids) != "r0,r3" {
			t.Fatalf("expired %v, want r3 after the grace period", ids)
		}
		if p, _ := s.PendingRuns(ctx, "d1", t0); len(p) != 0 {
			t.Fatalf("pending after expiry: %s", runIDs(p))
		}

		// Listing filters.
		list, err := s.ListRuns(ctx, store.RunFilter{DeviceID: "d1"})
		if err != nil || len(list) != 4 {
			t.Fatalf("list %d runs, %v", len(list), err)
		}
		list, _ = s.ListRuns(ctx, store.RunFilter{State: store.RunCancelled})
		if runIDs(list) != "r2" {
			t.Fatalf("cancelled: %s", runIDs(list))
		}

		// Batches count progress by state and outcome; a revoked device
		// cannot be given a run.
		batch := &store.RunBatch{ID: "b1", Fix: "flush-dns", Target: "all", RequestedBy: "root", CreatedAt: t0}
		r5, r6 := newRun("r5", "d1", "flush-dns", t0), newRun("r6", "d2", "flush-dns", t0)
		r5.BatchID, r6.BatchID = "b1", "b1"
		if err := s.CreateRuns(ctx, batch, []store.Run{r5, r6}); err != nil {
			t.Fatal(err)
		}
		mustIngest(t, s, store.IngestItem{DeviceID: "d2", Seq: 2, Kind: store.KindRunResult, Received: t0, RunResult: &wire.RunResult{RunID: "r6", Outcome: wire.OutcomeSucceeded}})
		got, err := s.GetRunBatch(ctx, "b1")
		if err != nil || got.Total != 2 || got.States[store.RunQueued] != 1 || got.States[store.RunDone] != 1 || got.Outcomes[wire.OutcomeSucceeded] != 1 {
			t.Fatalf("batch %+v %v", got, err)
		}
		if err := s.RevokeDevice(ctx, "d2", t0); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "run on a revoked device", s.CreateRuns(ctx, nil, []store.Run{newRun("r7", "d2", "flush-dns", t0)}), store.ErrNotFound)
	})
}

func TestDeviceFixesFromPresence(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		d, _ := s.GetDevice(ctx, "d1")
		if len(d.Fixes) != 0 {
			t.Fatalf("fixes before the first connection: %v", d.Fixes)
		}
		err := s.SetPresence(ctx, []store.Presence{{ID: "d1", Online: true, At: t0, Hello: store.DeviceHello{OS: "linux", Fixes: []string{"flush-dns", "clear-temp"}}}})
		if err != nil {
			t.Fatal(err)
		}
		d, _ = s.GetDevice(ctx, "d1")
		if len(d.Fixes) != 2 || d.Fixes[0] != "flush-dns" || d.Fixes[1] != "clear-temp" {
			t.Fatalf("fixes %v", d.Fixes)
		}
	})
}

func runIDs(rs []store.Run) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return runIDList(ids)
}

func runIDList(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ","
		}
		out += id
	}
	return out
}

func TestDeviceGroups(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		enroll(t, s, "d2", "beta")
		if err := s.SetDeviceGroup(ctx, "d1", "lab-2"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "unknown device", s.SetDeviceGroup(ctx, "nope", "lab"), store.ErrNotFound)
		for _, bad := range []string{"", "a b", "<x>", "../x"} {
			if err := s.SetDeviceGroup(ctx, "d2", bad); err == nil {
				t.Errorf("group %q accepted", bad)
			}
		}
		ds, err := s.ListDevices(ctx, store.ListDevicesOptions{Group: "lab-2"})
		if err != nil || len(ds) != 1 || ds[0].ID != "d1" || ds[0].Group != "lab-2" {
			t.Fatalf("devices in lab-2: %+v %v", ds, err)
		}
	})
}

// TestConcurrentCreateRuns: concurrent run requests share transactions,
// and each still gets its own answer: one for a revoked device fails
// alone, a duplicate id fails alone, the rest are stored.
func TestConcurrentCreateRuns(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		enroll(t, s, "d2", "beta")
		if err := s.RevokeDevice(ctx, "d2", t0); err != nil {
			t.Fatal(err)
		}
		const n = 60
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dev, id := "d1", fmt.Sprintf("c%02d", i)
				switch {
				case i%10 == 3:
					dev = "d2"
				case i%10 == 7:
					id = "dup"
				}
				r := newRun(id, dev, "flush-dns", t0.Add(time.Duration(i)*time.Millisecond))
				errs[i] = s.CreateRuns(ctx, nil, []store.Run{r}, store.AuditEvent{Time: t0, Actor: "ana", Action: "run.request", Target: dev})
			}()
		}
		wg.Wait()
		dups := 0
		for i, err := range errs {
			switch {
			case i%10 == 3:
				wantErr(t, fmt.Sprintf("run %d on a revoked device", i), err, store.ErrNotFound)
			case i%10 == 7:
				if err == nil {
					dups++
				} else {
					wantErr(t, "duplicate id", err, store.ErrExists)
				}
			case err != nil:
				t.Errorf("run %d: %v", i, err)
			}
		}
		if dups != 1 {
			t.Errorf("%d of the runs sharing one id were stored, want exactly 1", dups)
		}
		runs, _ := s.ListRuns(ctx, store.RunFilter{DeviceID: "d1", Limit: 1000})
		if want := n - n/10*2 + 1; len(runs) != want {
			t.Errorf("%d runs stored, want %d", len(runs), want)
		}
		evs, _ := s.ListAudit(ctx, store.AuditFilter{ActionPrefix: "run.request", Limit: 1000})
		if len(evs) != len(runs) {
			t.Errorf("%d audit events for %d stored runs: a failed request left its audit event, or the reverse", len(evs), len(runs))
		}
	})
}

// TestCreateRunWithItsAuditEntry: a run asked alone (one statement on
// PostgreSQL) is stored with its audit entry, and a refused one leaves
// neither: a revoked device, a taken id.
func TestCreateRunWithItsAuditEntry(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		enroll(t, s, "d2", "beta")
		if err := s.RevokeDevice(ctx, "d2", t0); err != nil {
			t.Fatal(err)
		}
		ask := func(id, dev string) error {
			r := newRun(id, dev, "flush-dns", t0)
			r.State, r.Params = store.RunSent, map[string]string{"note": "x"}
			return s.CreateRuns(ctx, nil, []store.Run{r}, store.AuditEvent{Time: t0, Actor: "ana", Action: "run.request", Target: id,
				Detail: map[string]any{"fix": "flush-dns"}})
		}
		if err := ask("a1", "d1"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "a revoked device", ask("a2", "d2"), store.ErrNotFound)
		wantErr(t, "a taken id", ask("a1", "d1"), store.ErrExists)
		wantErr(t, "an unknown device", ask("a3", "nope"), store.ErrNotFound)
		r, err := s.GetRun(ctx, "a1")
		if err != nil || r.State != store.RunSent || r.SentAt == nil || r.Params["note"] != "x" || r.DeviceID != "d1" {
			t.Fatalf("stored run: %+v %v", r, err)
		}
		evs, _ := s.ListAudit(ctx, store.AuditFilter{ActionPrefix: "run.request", Limit: 10})
		if len(evs) != 1 || evs[0].Target != "a1" || evs[0].Actor != "ana" || evs[0].Detail["fix"] != "flush-dns" {
			t.Fatalf("audit entries: %+v; want a1's alone", evs)
		}
	})
}
