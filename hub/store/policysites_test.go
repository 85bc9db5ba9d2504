package store_test

import (
	"errors"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/policy"
)

// A policy kept to a site overrides the group's shared one for the
// group's devices of that site only; the default group's follow, site
// first; a caller of some sites sees and saves only their sites' and
// the shared ones, which they cannot change.
func TestPolicySites(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		doc := func(dns string) policy.Document { return policy.Document{DNSNames: []string{dns}} }
		put := func(group, site, dns string) store.Policy {
			t.Helper()
			p, err := s.PutPolicy(ctx, group, site, doc(dns), "admin", t0)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		want := func(group, site, dns string) {
			t.Helper()
			p, err := s.PolicyFor(ctx, group, site)
			if err != nil || len(p.Doc.DNSNames) != 1 || p.Doc.DNSNames[0] != dns {
				t.Fatalf("group %s at %s: want %s, got %+v %v", group, site, dns, p, err)
			}
		}
		put(store.DefaultGroup, "", "default.shared")
		want("lab", "north", "default.shared")
		put(store.DefaultGroup, "north", "default.north")
		want("lab", "north", "default.north")
		want("lab", "south", "default.shared")
		put("lab", "", "lab.shared")
		want("lab", "north", "lab.shared")
		want("lab", "south", "lab.shared")
		pn := put("lab", "north", "lab.north")
		want("lab", "north", "lab.north")
		want("lab", "south", "lab.shared")
		want("office", "north", "default.north")
		if pn.Version != 2 || pn.Site != "north" {
			t.Fatalf("versions are numbered per group across its sites: %+v", pn)
		}
		if p, err := s.GetPolicy(ctx, "lab", "", 0); err != nil || p.Version != 1 || p.Site != "" {
			t.Fatalf("shared: %+v %v", p, err)
		}
		if vs, err := s.PolicyVersions(ctx, "lab", "north"); err != nil || len(vs) != 1 || vs[0].Version != 2 {
			t.Fatalf("north versions: %+v %v", vs, err)
		}
		ls, err := s.ListPolicies(ctx)
		if err != nil || len(ls) != 4 {
			t.Fatalf("list: %+v %v", ls, err)
		}

		south := store.WithSites(ctx, []string{"south"})
		if ls, err := s.ListPolicies(south); err != nil || len(ls) != 2 || ls[0].Site != "" || ls[1].Site != "" {
			t.Fatalf("south sees only the shared: %+v %v", ls, err)
		}
		if _, err := s.GetPolicy(south, "lab", "north", 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("south reads north's: %v", err)
		}
		if _, err := s.GetPolicy(south, "lab", "", 2); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("south reads north's by version: %v", err)
		}
		if _, err := s.PutPolicy(south, "lab", "", doc("x"), "s", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("south changes the shared: %v", err)
		}
		if _, err := s.PutPolicy(south, "lab", "north", doc("x"), "s", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("south changes north's: %v", err)
		}
		if p, err := s.PutPolicy(south, "lab", "south", doc("lab.south"), "s", t0); err != nil || p.Version != 3 {
			t.Fatalf("south keeps its own: %+v %v", p, err)
		}
		want("lab", "south", "lab.south")
		want("lab", "north", "lab.north")
	})
}
