package store_test

import (
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

// TestRunProgress: a sent run keeps its device's latest progress step; a
// queued run, another device's step and a finished run's step are
// dropped, and a finished run keeps its last step (pages no longer show it).
func TestRunProgress(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		enroll(t, s, "d2", "beta")
		if err := s.CreateRuns(ctx, nil, []store.Run{newRun("p1", "d1", "install-software", t0)}); err != nil {
			t.Fatal(err)
		}
		step := wire.RunProgress{RunID: "p1", Percent: 40, Text: "Unpacking hello (amd64)"}
		if ok, err := s.SetRunProgress(ctx, "d1", step, t0); ok || err != nil {
			t.Fatalf("progress of a queued run: %v %v", ok, err)
		}
		if err := s.MarkRunSent(ctx, "p1", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.SetRunProgress(ctx, "d2", step, t0); ok || err != nil {
			t.Fatalf("another device's progress: %v %v", ok, err)
		}
		if ok, err := s.SetRunProgress(ctx, "d1", wire.RunProgress{RunID: "p1", Percent: wire.NoPercent, Text: "Step 1 of 3: apt-get update"}, t0.Add(2*time.Second)); !ok || err != nil {
			t.Fatalf("first step: %v %v", ok, err)
		}
		r, err := s.GetRun(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if r.Progress == nil || r.Progress.Percent != nil || r.ProgressLine() != "Installing… Step 1 of 3: apt-get update" {
			t.Fatalf("progress without a percent: %+v %q", r.Progress, r.ProgressLine())
		}
		if ok, err := s.SetRunProgress(ctx, "d1", step, t0.Add(3*time.Second)); !ok || err != nil {
			t.Fatalf("second step: %v %v", ok, err)
		}
		runs, err := s.ListRuns(ctx, store.RunFilter{DeviceID: "d1"})
		if err != nil || len(runs) != 1 {
			t.Fatalf("list: %v %v", runs, err)
		}
		if p := runs[0].Progress; p == nil || p.Percent == nil || *p.Percent != 40 || !p.At.Equal(t0.Add(3*time.Second)) ||
			runs[0].ProgressLine() != "Installing… 40% Unpacking hello (amd64)" {
			t.Fatalf("listed progress %+v %q", p, runs[0].ProgressLine())
		}
		mustIngest(t, s, store.IngestItem{DeviceID: "d1", Seq: 1, Kind: store.KindRunResult, Received: t0.Add(time.Minute),
			RunResult: &wire.RunResult{RunID: "p1", Fix: "install-software", Outcome: wire.OutcomeSucceeded}})
		if ok, err := s.SetRunProgress(ctx, "d1", step, t0.Add(2*time.Minute)); ok || err != nil {
			t.Fatalf("progress after the result: %v %v", ok, err)
		}
		if r, err := s.GetRun(ctx, "p1"); err != nil || r.Progress == nil || r.Progress.Text != step.Text || r.ProgressLine() != "" {
			t.Fatalf("finished run: last step %+v, line %q, %v", r.Progress, r.ProgressLine(), err)
		}
	})
}
