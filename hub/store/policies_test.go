package store_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/policy"
)

func TestPolicies(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		if _, err := s.GetPolicy(ctx, "lab", "", 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no policy yet: %v", err)
		}
		if _, err := s.PolicyFor(ctx, "lab", ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no policy yet: %v", err)
		}
		tier := 1
		doc := policy.Document{MaxTier: &tier, Checks: []policy.Check{{Name: "vpn", Title: "VPN", DNS: &policy.DNSCheck{Name: "vpn.example"}}}}
		p1, err := s.PutPolicy(ctx, "lab", "", doc, "admin", t0)
		if err != nil || p1.Version != 1 {
			t.Fatalf("first put: %+v %v", p1, err)
		}
		doc.DNSNames = []string{"intranet.example"}
		p2, err := s.PutPolicy(ctx, "lab", "", doc, "root", t0.Add(1))
		if err != nil || p2.Version != 2 {
			t.Fatalf("second put: %+v %v", p2, err)
		}
		got, err := s.GetPolicy(ctx, "lab", "", 0)
		if err != nil || got.Version != 2 || got.CreatedBy != "root" || len(got.Doc.DNSNames) != 1 || *got.Doc.MaxTier != 1 || got.Doc.Checks[0].DNS.Name != "vpn.example" {
			t.Fatalf("newest: %+v %v", got, err)
		}
		if old, err := s.GetPolicy(ctx, "lab", "", 1); err != nil || len(old.Doc.DNSNames) != 0 || !old.CreatedAt.Equal(t0) {
			t.Fatalf("version 1: %+v %v", old, err)
		}
		if vs, err := s.PolicyVersions(ctx, "lab", ""); err != nil || len(vs) != 2 || vs[0].Version != 2 {
			t.Fatalf("versions: %+v %v", vs, err)
		}
		// A group without a policy gets the default group's.
		if _, err := s.PutPolicy(ctx, store.DefaultGroup, "", policy.Document{}, "admin", t0); err != nil {
			t.Fatal(err)
		}
		if p, err := s.PolicyFor(ctx, "office", ""); err != nil || p.Group != store.DefaultGroup {
			t.Fatalf("fallback: %+v %v", p, err)
		}
		if p, err := s.PolicyFor(ctx, "lab", ""); err != nil || p.Group != "lab" || p.Version != 2 {
			t.Fatalf("own group: %+v %v", p, err)
		}
		if ls, err := s.ListPolicies(ctx); err != nil || len(ls) != 2 || ls[0].Group != store.DefaultGroup || ls[1].Version != 2 {
			t.Fatalf("list: %+v %v", ls, err)
		}
		// Saves at once each get their own version.
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.PutPolicy(ctx, "race", "", policy.Document{}, "a", t0)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent put: %v", err)
			}
		}
		if vs, _ := s.PolicyVersions(ctx, "race", ""); len(vs) != 8 || vs[0].Version != 8 {
			t.Fatalf("concurrent versions: %+v", vs)
		}

		d := enroll(t, s, "dev1", "pc1")
		mustIngest(t, s, store.IngestItem{DeviceID: d.ID, Seq: 1, Kind: store.KindHealth, Received: t0, Checks: []diag.CheckResult{
			{Name: "disk-almost-full", Status: diag.StatusOK, Time: t0}, {Name: "vpn-up", Status: diag.StatusFailing, Time: t0},
			{Name: "old-check", Status: diag.StatusFailing, Time: t0}}})
		if _, err := s.GetDevicePolicy(ctx, d.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("never reported: %v", err)
		}
		dp := store.DevicePolicy{Group: "lab", Version: 2, Narrowed: []string{"max_tier: local wins"}, Checks: []string{"vpn-up"}, ReportedAt: t0}
		if err := s.SetDevicePolicy(ctx, d.ID, dp, []string{"flush-dns"}); err != nil {
			t.Fatal(err)
		}
		dp.Error = "refused version 3: bad"
		if err := s.SetDevicePolicy(ctx, d.ID, dp, nil); err != nil {
			t.Fatal(err)
		}
		got2, err := s.GetDevicePolicy(ctx, d.ID)
		if err != nil || got2.Version != 2 || got2.Error != dp.Error || len(got2.Narrowed) != 1 || !got2.ReportedAt.Equal(t0) {
			t.Fatalf("device policy: %+v %v", got2, err)
		}
		if dev, _ := s.DeviceAuth(ctx, d.ID); len(dev.Fixes) != 1 || dev.Fixes[0] != "flush-dns" {
			t.Fatalf("fixes: %v", dev.Fixes)
		}
		if len(got2.Checks) != 1 || got2.Checks[0] != "vpn-up" {
			t.Fatalf("checks: %v", got2.Checks)
		}
		// A declarative check the device no longer runs is forgotten; the
		// built-in ones and those it runs stay.
		dev, err := s.GetDevice(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range dev.Health {
			names = append(names, c.Name)
		}
		if len(names) != 2 || names[0] == "old-check" || names[1] == "old-check" {
			t.Fatalf("health after the policy status: %v", names)
		}
	})
}
