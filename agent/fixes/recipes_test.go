package fixes

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/recipes"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/wire"
)

// printerRecipe re-adds a printer with lpadmin (docs/recipes.md).
func printerRecipe() recipe.Recipe {
	return recipe.Recipe{ID: "readd-printer", Version: 1, Title: "Re-add a printer", Tier: 1, OSes: []string{catalog.Linux},
		Params: []catalog.Param{
			{Name: "queue", Title: "Queue", Kind: catalog.KindString, Required: true, Pattern: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`},
			{Name: "uri", Title: "Device URI", Kind: catalog.KindString, Required: true, Pattern: `ipps?://[A-Za-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._/-]*`},
			{Name: "note", Title: "Note", Kind: catalog.KindString, Pattern: `[-A-Za-z0-9 ./]{1,64}`},
		},
		Steps: []recipe.Step{
			{Argv: []string{"lpadmin", "-x", "{queue}"}, OKExits: []int{1}, Optional: true},
			{Argv: []string{"lpadmin", "-p", "{queue}", "-E", "-v", "{uri}", "-m", "everywhere"}},
			{Argv: []string{"/usr/bin/logger", "{note}"}, Optional: true},
		},
		TimeoutSec: 120, Consent: true, Verify: []string{"printer-stopped"}}
}

func recipeStore(t *testing.T, docs ...recipe.Recipe) (*recipes.Store, ed25519.PrivateKey) {
	t.Helper()
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := recipes.PinKey(dir, pub, "enrollment", time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := recipes.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var signed []orgdoc.Signed
	for _, r := range docs {
		d, err := recipe.Sign(priv, r)
		if err != nil {
			t.Fatal(err)
		}
		signed = append(signed, d)
	}
	if st := s.Apply(wire.Recipes{Docs: signed}); len(st.Refused) > 0 {
		t.Fatalf("refused: %+v", st.Refused)
	}
	return s, priv
}

// TestRecipeRuns: a signed recipe runs through the same runner as catalog
// fixes (tier, consent, verification, journal), its argv built only from
// its literals and whole values; values that try injection are refused
// and the executor sees nothing.
func TestRecipeRuns(t *testing.T) {
	s, _ := recipeStore(t, printerRecipe())
	v := &verifier{before: diag.StatusFailing, after: diag.StatusOK}
	r, rec := newTestRunner(t, t.TempDir(), func(c *Config) { c.Recipes = s; c.Verify = v.verify })
	ctx := context.Background()

	good := req("run-1", "readd-printer", 1, map[string]string{"queue": "floor2", "uri": "ipps://print.corp.example/ipp/print"})
	good.ConsentObtained = true
	res := r.Do(ctx, good, nil)
	if res.Outcome != wire.OutcomeFixed || !strings.Contains(res.Reason, "recipe readd-printer version 1") {
		t.Fatalf("good run: %s %s %s", res.Outcome, res.Code, res.Reason)
	}
	calls := rec.snapshot()
	want := []string{"lpadmin -x floor2", "lpadmin -p floor2 -E -v ipps://print.corp.example/ipp/print -m everywhere", "/usr/bin/logger"}
	if len(calls) != 3 {
		t.Fatalf("calls %+v", calls)
	}
	for i, c := range calls {
		if strings.Join(c.Argv, " ") != want[i] {
			t.Errorf("step %d argv %q, want %q", i, c.Argv, want[i])
		}
	}
	if again := r.Do(ctx, good, nil); !again.Replayed || len(rec.snapshot()) != 3 {
		t.Fatalf("the same run id ran again: %+v", again)
	}

	for i, c := range []struct {
		params    map[string]string
		tier      int
		consent   bool
		code, why string
	}{
		{map[string]string{"queue": "--foo", "uri": "ipp://h/p"}, 1, true, wire.RefuseBadParams, "does not match"},
		{map[string]string{"queue": "q", "uri": "ipp://h/p", "note": "--foo"}, 1, true, wire.RefuseBadParams, "looks like an option"},
		{map[string]string{"queue": "q", "uri": "ipp://h/../../etc"}, 1, true, wire.RefuseBadParams, `".." path element`},
		{map[string]string{"queue": "q", "uri": "ipp://h/p", "note": "a/../b"}, 1, true, wire.RefuseBadParams, `".." path element`},
		{map[string]string{"queue": "q;reboot", "uri": "ipp://h/p"}, 1, true, wire.RefuseBadParams, "does not match"},
		{map[string]string{"queue": "$(id)", "uri": "ipp://h/p"}, 1, true, wire.RefuseBadParams, "does not match"},
		{map[string]string{"queue": "q", "uri": "ipp://h/p | sh"}, 1, true, wire.RefuseBadParams, "does not match"},
		{map[string]string{"queue": "q", "uri": "ipp://h/p"}, 0, true, wire.RefuseTier, "tier 1"},
		{map[string]string{"queue": "q", "uri": "ipp://h/p"}, 1, false, wire.RefuseConsent, "consent"},
	} {
		q := req("bad-"+string(rune('a'+i)), "readd-printer", c.tier, c.params)
		q.ConsentObtained = c.consent
		res := r.Do(ctx, q, nil)
		if res.Outcome != wire.OutcomeRefused || res.Code != c.code || !strings.Contains(res.Reason, c.why) {
			t.Errorf("%v: %s %s %q, want refused %s %q", c.params, res.Outcome, res.Code, res.Reason, c.code, c.why)
		}
	}
	res = r.Do(ctx, req("unknown", "not-a-recipe", 3, nil), nil)
	if res.Code != wire.RefuseUnknownFix || !strings.Contains(res.Reason, "signed by the organisation's pinned key") {
		t.Errorf("unknown recipe: %+v", res)
	}
	if n := len(rec.snapshot()); n != 3 {
		t.Fatalf("refused runs reached the executor: %d calls", n)
	}
}
