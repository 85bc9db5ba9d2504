package store_test

import (
	"errors"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

func TestRecipes(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		rev0, err := s.RecipesRevision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := store.Recipe{ID: "restart-vpn", Version: 2, Signer: "0123456789abcdef", Title: "Restart VPN", Tier: 1,
			Doc: []byte(`{"v":2}`), Groups: []string{"default", "sales"}, AddedBy: "cli", AddedAt: t0}
		if err := s.PutRecipe(ctx, r); err != nil {
			t.Fatal(err)
		}
		rev1, _ := s.RecipesRevision(ctx)
		if rev1 == rev0 {
			t.Fatal("revision did not change after a publish")
		}
		old := r
		old.Version, old.Doc = 1, []byte(`{"v":1}`)
		if err := s.PutRecipe(ctx, old); !errors.Is(err, store.ErrRecipeVersion) {
			t.Fatalf("older version: %v", err)
		}
		other := r
		other.Doc = []byte(`{"v":"2b"}`)
		if err := s.PutRecipe(ctx, other); !errors.Is(err, store.ErrRecipeVersion) {
			t.Fatalf("same version, other document: %v", err)
		}
		regroup := r
		regroup.Groups = []string{"*"}
		regroup.AddedAt = t0.Add(1)
		if err := s.PutRecipe(ctx, regroup); err != nil {
			t.Fatalf("same document, other groups: %v", err)
		}
		rs, err := s.ListRecipes(ctx)
		if err != nil || len(rs) != 1 || rs[0].Groups[0] != "*" || string(rs[0].Doc) != `{"v":2}` || rs[0].Version != 2 {
			t.Fatalf("ListRecipes = %+v, %v", rs, err)
		}
		if err := s.AddRecipeKeyChange(ctx, store.RecipeKeyChange{Serial: 1, Doc: []byte(`{}`), AddedBy: "cli", AddedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddRecipeKeyChange(ctx, store.RecipeKeyChange{Serial: 1, Doc: []byte(`{}`), AddedBy: "cli", AddedAt: t0}); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate key change: %v", err)
		}
		if ks, err := s.ListRecipeKeyChanges(ctx); err != nil || len(ks) != 1 {
			t.Fatalf("key changes %+v %v", ks, err)
		}
		for i := 0; i < 2; i++ {
			if err := s.SetRecipeStatus(ctx, store.RecipeStatus{DeviceID: "dev1", Signer: "k", Status: []byte(`{"n":` + string(rune('0'+i)) + `}`), UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		s.SetRecipeStatus(ctx, store.RecipeStatus{DeviceID: "dev2", Signer: "k", Status: []byte(`{}`), UpdatedAt: t0})
		one, err := s.RecipeStatuses(ctx, "dev1")
		if err != nil || len(one) != 1 || string(one["dev1"].Status) != `{"n":1}` {
			t.Fatalf("RecipeStatuses(dev1) = %+v, %v", one, err)
		}
		if all, _ := s.RecipeStatuses(ctx); len(all) != 2 {
			t.Fatalf("all statuses: %d", len(all))
		}
		d := enroll(t, s, "0123456789abcdef0123456789abcdef", "laptop")
		if err := s.SetDeviceGroup(ctx, d.ID, "sales"); err != nil {
			t.Fatal(err)
		}
		if gs, err := s.DeviceGroupsByID(ctx); err != nil || gs[d.ID] != "sales" {
			t.Fatalf("DeviceGroupsByID = %v, %v", gs, err)
		}
		if err := s.DeleteRecipe(ctx, "restart-vpn"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRecipe(ctx, "restart-vpn"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}
