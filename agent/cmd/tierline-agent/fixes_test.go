package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/recipes"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/wire"
)

func TestFixesCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "policy.json"), []byte(`{"max_tier": 1, "disabled": ["flush-dns"], "allow_services": ["nginx"]}`), 0o600)
	out, errOut := capture(t)
	if code := dispatch(context.Background(), []string{"fixes", "--state", dir, "--json"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep fixes.Listing
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OS != runtime.GOOS || rep.MaxTier != 1 || !strings.HasSuffix(rep.Policy, "policy.json") || rep.AllowServices[len(rep.AllowServices)-1] != "nginx" {
		t.Fatalf("report %+v", rep)
	}
	why := map[string]string{}
	for _, f := range rep.Fixes {
		why[f.ID] = f.Why
		if f.Available == (f.Why != "") {
			t.Errorf("%s: available %v why %q", f.ID, f.Available, f.Why)
		}
	}
	if !strings.Contains(why["flush-dns"], `rule "disabled"`) || !strings.Contains(why["end-process"], `rule "max_tier"`) || why["clear-temp"] != "" {
		t.Fatalf("why %v", why)
	}

	out.Reset()
	if code := dispatch(context.Background(), []string{"fixes", "--state", dir}); code != exitOK || !strings.Contains(out.String(), "restart-service allow-list") {
		t.Fatalf("text: exit %d\n%s", code, out)
	}
}

func TestBadPolicyStopsTheAgent(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "policy.json")
	os.WriteFile(bad, []byte(`{"disabled": ["run-anything"]}`), 0o600)
	for _, cmd := range []string{"run", "fixes"} {
		_, errOut := capture(t)
		code := dispatch(context.Background(), []string{cmd, "--state", dir})
		if code != exitError || !strings.Contains(errOut.String(), bad) || !strings.Contains(errOut.String(), `"run-anything"`) {
			t.Fatalf("%s: exit %d, stderr %q: want 1 and a message naming the file and the problem", cmd, code, errOut)
		}
	}
}

// TestFixesListsRecipes: `tierline-agent fixes` lists the organisation's
// signed recipes this agent accepted after the catalog, with their
// version, tier and signer, says they are recipes, judges them by the
// same policy, and names the ones it refused with the reason.
func TestFixesListsRecipes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "policy.json"), []byte(`{"max_tier": 1}`), 0o600)
	out, errOut := capture(t)
	if code := dispatch(context.Background(), []string{"fixes", "--state", dir}); code != exitOK || !strings.Contains(out.String(), "Recipes: none (no organisation recipe key is pinned") {
		t.Fatalf("no key pinned: exit %d %s\n%s", code, errOut, out)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, evil, _ := ed25519.GenerateKey(rand.Reader)
	if err := recipes.PinKey(dir, pub, "enrollment", time.Now()); err != nil {
		t.Fatal(err)
	}
	sign := func(k ed25519.PrivateKey, r recipe.Recipe) orgdoc.Signed {
		d, err := recipe.Sign(k, r)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	step := []recipe.Step{{Argv: []string{"/bin/true"}}}
	oses := []string{runtime.GOOS}
	st, err := recipes.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Apply(wire.Recipes{Docs: []orgdoc.Signed{
		sign(priv, recipe.Recipe{ID: "reset-vpn-profile", Version: 3, Title: "Reset the VPN profile", Tier: 0, OSes: oses, Steps: step, TimeoutSec: 30}),
		sign(priv, recipe.Recipe{ID: "rejoin-domain", Version: 1, Title: "Rejoin the domain", Tier: 2, OSes: oses, Steps: step, TimeoutSec: 30}),
		sign(evil, recipe.Recipe{ID: "evil-recipe", Version: 1, Title: "Not ours", Tier: 0, OSes: oses, Steps: step, TimeoutSec: 30}),
	}})
	keyID := orgdoc.KeyID(pub)

	out.Reset()
	if code := dispatch(context.Background(), []string{"fixes", "--state", dir, "--json"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep fixes.Listing
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]fixes.Listed{}
	for _, f := range rep.Fixes {
		got[f.ID] = f
	}
	if r := got["reset-vpn-profile"]; r.Recipe == nil || r.Recipe.Version != 3 || r.Recipe.Signer != keyID || r.Tier != 0 || !r.Available {
		t.Errorf("reset-vpn-profile: %+v %+v", r, r.Recipe)
	}
	if r := got["rejoin-domain"]; r.Recipe == nil || r.Available || !strings.Contains(r.Why, `rule "max_tier"`) {
		t.Errorf("rejoin-domain (tier 2 under max_tier 1): %+v", r)
	}
	if _, ok := got["evil-recipe"]; ok || got["flush-dns"].Recipe != nil {
		t.Errorf("listed: %v", got)
	}
	if rep.RecipeKey != keyID || len(rep.RecipesRefused) != 1 || !strings.Contains(rep.RecipesRefused[0].Reason, "not by the key pinned") {
		t.Errorf("key %q refused %+v", rep.RecipeKey, rep.RecipesRefused)
	}

	out.Reset()
	if code := dispatch(context.Background(), []string{"fixes", "--state", dir}); code != exitOK {
		t.Fatalf("text: exit %d", code)
	}
	text := out.String()
	for _, want := range []string{"Recipes: the organisation's own fixes, signed with its key " + keyID,
		"RECIPE", "SIGNER", "reset-vpn-profile  3", keyID, "Reset the VPN profile", "refused recipe evil-recipe (version 1)"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// The catalog's table comes first and holds no recipe.
	catalogPart, _, _ := strings.Cut(text, "Recipes:")
	if strings.Contains(catalogPart, "reset-vpn-profile") || !strings.Contains(catalogPart, "flush-dns") {
		t.Errorf("catalog table:\n%s", catalogPart)
	}
}
