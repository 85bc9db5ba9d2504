package store_test

import (
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

// TestLocalSoftwareInstallRecorded: the result of a software install the
// user at the device ran (the hub never queued it) is recorded as a done
// run in the user's name and audited; sent again it is recorded once; a
// local result of any other fix, or without the local mark, is dropped as
// before.
func TestLocalSoftwareInstallRecorded(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		local := &wire.RunResult{RunID: "local-1", Fix: "install-software", Outcome: wire.OutcomeSucceeded, Reason: "Verified",
			Started: t0, Finished: t0, Local: &wire.LocalRun{User: "alice", Params: map[string]string{"entry": "hello"}}}
		mustIngest(t, s,
			store.IngestItem{DeviceID: "d1", Seq: 1, Kind: store.KindRunResult, Received: t0, RunResult: local},
			store.IngestItem{DeviceID: "d1", Seq: 2, Kind: store.KindRunResult, Received: t0, RunResult: &wire.RunResult{RunID: "local-2", Fix: "flush-dns",
				Outcome: wire.OutcomeSucceeded, Local: &wire.LocalRun{User: "alice"}}},
			store.IngestItem{DeviceID: "d1", Seq: 3, Kind: store.KindRunResult, Received: t0, RunResult: &wire.RunResult{RunID: "local-3", Fix: "install-software",
				Outcome: wire.OutcomeSucceeded}})
		r, err := s.GetRun(ctx, "local-1")
		if err != nil {
			t.Fatal(err)
		}
		if r.State != store.RunDone || r.Outcome != wire.OutcomeSucceeded || r.RequestedBy != "local user alice (self-service)" ||
			r.Params["entry"] != "hello" || r.DeviceID != "d1" || r.Tier != 0 {
			t.Fatalf("recorded local run %+v", r)
		}
		for _, id := range []string{"local-2", "local-3"} {
			if _, err := s.GetRun(ctx, id); err == nil {
				t.Errorf("run %s was recorded", id)
			}
		}
		// Delivered again (a replay from the agent's spool under a new
		// sequence number): still one run, one audit event.
		mustIngest(t, s, store.IngestItem{DeviceID: "d1", Seq: 4, Kind: store.KindRunResult, Received: t0, RunResult: local})
		ev, err := s.ListAudit(ctx, store.AuditFilter{ActionPrefix: "run.result"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range ev {
			if e.Actor == "local user alice (self-service)" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d audit events of the local install, want 1: %+v", n, ev)
		}
	})
}
