package store_test

import (
	"errors"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

func TestUpdateReleasesRolloutsReports(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		content := []byte("\x7fELF binary bytes \x00\x01\x02")
		rel := store.Release{Version: "1.1.0", OS: "linux", Arch: "amd64", SHA256: "ab", Size: int64(len(content)),
			Manifest: []byte(`{"version":"1.1.0"}`), Signature: "c2ln", CreatedAt: t0}
		if err := s.AddRelease(ctx, rel, content); err != nil {
			t.Fatal(err)
		}
		if err := s.AddRelease(ctx, rel, content); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate release: %v", err)
		}
		bad := rel
		bad.Version, bad.Size = "1.2.0", 3
		if err := s.AddRelease(ctx, bad, content); err == nil {
			t.Fatal("release with the wrong size accepted")
		}
		got, err := s.GetRelease(ctx, "1.1.0", "linux", "amd64")
		if err != nil || string(got.Manifest) != string(rel.Manifest) || got.Signature != "c2ln" || !got.CreatedAt.Equal(t0) {
			t.Fatalf("GetRelease = %+v, %v", got, err)
		}
		if _, err := s.GetRelease(ctx, "1.1.0", "windows", "amd64"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing release: %v", err)
		}
		if b, err := s.ReleaseContent(ctx, "ab"); err != nil || string(b) != string(content) {
			t.Fatalf("ReleaseContent = %q, %v", b, err)
		}
		if ls, err := s.ListReleases(ctx); err != nil || len(ls) != 1 {
			t.Fatalf("ListReleases = %v, %v", ls, err)
		}

		if err := s.SetRollout(ctx, store.Rollout{Group: "", Version: "9.9.9", Percent: 10}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("rollout of a version never uploaded: %v", err)
		}
		if err := s.SetRollout(ctx, store.Rollout{Version: "1.1.0", Percent: 101}); err == nil {
			t.Fatal("percent 101 accepted")
		}
		if err := s.SetRollout(ctx, store.Rollout{Version: "1.1.0", Percent: 10, UpdatedAt: t0, UpdatedBy: "admin"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRollout(ctx, store.Rollout{Version: "1.1.0", Percent: 50, UpdatedAt: t0, UpdatedBy: "admin"}); err != nil {
			t.Fatal(err)
		}
		r, err := s.RolloutFor(ctx, "")
		if err != nil || r.Group != store.DefaultGroup || r.Percent != 50 || r.UpdatedBy != "admin" {
			t.Fatalf("RolloutFor = %+v, %v", r, err)
		}
		if _, err := s.RolloutFor(ctx, "lab"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("rollout of another group: %v", err)
		}

		enroll(t, s, "d1", "alpha")
		enroll(t, s, "d2", "beta")
		if err := s.RecordUpdateReport(ctx, store.UpdateReport{DeviceID: "d1", From: "1.0.0", To: "1.1.0", Outcome: "refused", Error: "bad", Time: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordUpdateReport(ctx, store.UpdateReport{DeviceID: "d1", From: "1.0.0", To: "1.1.0", Outcome: "rolled_back", Time: t0}); err != nil {
			t.Fatal(err)
		}
		st, err := s.UpdateStatus(ctx, store.DefaultGroup)
		if err != nil || len(st) != 2 || st[0].Last == nil || st[0].Last.Outcome != "rolled_back" || st[1].Last != nil {
			t.Fatalf("UpdateStatus = %+v, %v", st, err)
		}
		if st, _ := s.UpdateStatus(ctx, "lab"); len(st) != 0 {
			t.Fatalf("devices in group lab: %+v", st)
		}
		ps, err := s.RolloutProgress(ctx)
		if err != nil || len(ps) != 1 || ps[0].Devices != 2 || ps[0].Outcomes["rolled_back"] != 1 || ps[0].OnTarget != 0 {
			t.Fatalf("RolloutProgress = %+v, %v", ps, err)
		}
		if err := s.DeleteRollout(ctx, store.DefaultGroup); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRelease(ctx, "1.1.0", "linux", "amd64"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReleaseContent(ctx, "ab"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted release content: %v", err)
		}
	})
}
