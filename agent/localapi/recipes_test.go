package localapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/recipes"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/wire"
)

// TestTier0RecipeInGetHelp: a Tier 0 recipe the agent accepted is offered
// to the user on the Get help page like a built-in fix (for the failing
// check it verifies) and runs for them; a Tier 1 recipe is not offered to
// the user and is refused when asked for.
func TestTier0RecipeInGetHelp(t *testing.T) {
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := recipes.PinKey(dir, pub, "enrollment", time.Now()); err != nil {
		t.Fatal(err)
	}
	store, err := recipes.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var docs []orgdoc.Signed
	for _, r := range []recipe.Recipe{
		{ID: "reset-corp-dns", Version: 1, Title: "Reset the company DNS settings", UserText: "Put the company's name servers back.", Tier: 0,
			OSes: []string{catalog.Linux}, Steps: []recipe.Step{{Argv: []string{"resolvectl", "revert", "eth0"}}}, TimeoutSec: 30,
			Verify: []string{"dns-resolution"}},
		{ID: "rejoin-domain", Version: 1, Title: "Rejoin the domain", Tier: 1, OSes: []string{catalog.Linux},
			Steps: []recipe.Step{{Argv: []string{"realm", "join", "corp.example"}}}, TimeoutSec: 60},
	} {
		d, err := recipe.Sign(priv, r)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	if st := store.Apply(wire.Recipes{Docs: docs}); len(st.Accepted) != 2 {
		t.Fatalf("accepted %+v", st)
	}
	f := newOpsFixture(t, store)
	user := localipc.Caller{UID: 1001, User: "alice"}
	ctx := context.Background()
	var found *localipc.Fix
	list := f.ops.fixList(ctx, user)
	for i, x := range list.Fixes {
		if x.ID == "rejoin-domain" {
			t.Error("a Tier 1 recipe is offered to the user")
		}
		if x.ID == "reset-corp-dns" {
			found = &list.Fixes[i]
		}
	}
	if found == nil || !found.Applicable || found.Worst != "failing" || found.Description != "Put the company's name servers back." {
		t.Fatalf("reset-corp-dns in the user's list: %+v", found)
	}
	res, err := f.ops.run(ctx, user, localipc.RunCall{Fix: "reset-corp-dns"})
	if err != nil || res.Outcome == wire.OutcomeRefused || !strings.Contains(f.exec.ran(), "resolvectl revert eth0") {
		t.Fatalf("run: %+v %v; ran %q", res, err, f.exec.ran())
	}
	if _, err := f.ops.run(ctx, user, localipc.RunCall{Fix: "rejoin-domain"}); err == nil || !strings.Contains(err.Error(), "Tier 1") {
		t.Fatalf("the user ran a Tier 1 recipe: %v", err)
	}
	if strings.Contains(f.exec.ran(), "realm") {
		t.Fatal("the Tier 1 recipe ran")
	}
}
