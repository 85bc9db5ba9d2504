package recipes

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/wire"
)

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func cacheRecipe(version int64) recipe.Recipe {
	return recipe.Recipe{ID: "clear-lob-cache", Version: version, Title: "Clear the LOB app's cache", Tier: 0, OSes: []string{catalog.Linux},
		Steps:      []recipe.Step{{Argv: []string{"/usr/bin/find", "/var/cache/lob", "-mindepth", "1", "-delete"}}},
		TimeoutSec: 60}
}

func sign(t *testing.T, priv ed25519.PrivateKey, r recipe.Recipe) orgdoc.Signed {
	t.Helper()
	d, err := recipe.Sign(priv, r)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func keyChange(t *testing.T, by ed25519.PrivateKey, to ed25519.PublicKey, serial int64) orgdoc.Signed {
	t.Helper()
	d, err := orgdoc.Sign(by, orgdoc.KindKeyChange, orgdoc.KeyChange{New: orgdoc.EncodePublicKey(to), Serial: serial})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func refusal(st wire.RecipeStatus, id string) string {
	for _, r := range st.Refused {
		if r.ID == id {
			return r.Reason
		}
	}
	return ""
}

// TestHostileRecipes plays a hub that owns the device's connection: every
// document the pinned key did not sign as it stands is refused with its
// reason, and the refused recipes are not listed nor found to run.
func TestHostileRecipes(t *testing.T) {
	dir := t.TempDir()
	orgPub, orgPriv := newKey(t)
	_, evilPriv := newKey(t)
	evilPub2, _ := newKey(t)
	now := time.Now()

	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing pinned: nothing accepted.
	st := s.Apply(wire.Recipes{Docs: []orgdoc.Signed{sign(t, orgPriv, cacheRecipe(1))}})
	if len(st.Accepted) != 0 || !strings.Contains(refusal(st, "clear-lob-cache"), "no organisation signing key is pinned") {
		t.Fatalf("without a pinned key: %+v", st)
	}
	if err := PinKey(dir, orgPub, "enrollment", now); err != nil {
		t.Fatal(err)
	}

	v2 := sign(t, orgPriv, cacheRecipe(2))
	foreign := cacheRecipe(1)
	foreign.ID = "evil-recipe"
	tampered := sign(t, orgPriv, func() recipe.Recipe { r := cacheRecipe(1); r.ID = "tampered"; return r }())
	var tr recipe.Recipe
	json.Unmarshal(tampered.Body, &tr)
	tr.Steps[0].Argv = []string{"/bin/sh", "-c", "id"}
	tampered.Body, _ = json.Marshal(tr)

	st = s.Apply(wire.Recipes{Docs: []orgdoc.Signed{v2, sign(t, evilPriv, foreign), tampered}})
	if len(st.Accepted) != 1 || st.Accepted[0].ID != "clear-lob-cache" || st.Accepted[0].Version != 2 {
		t.Fatalf("accepted %+v, want clear-lob-cache v2 only", st.Accepted)
	}
	if why := refusal(st, "evil-recipe"); !strings.Contains(why, "not by the key pinned") {
		t.Errorf("foreign recipe: %q", why)
	}
	if why := refusal(st, "tampered"); !strings.Contains(why, "changed after it was signed") {
		t.Errorf("tampered recipe: %q", why)
	}
	for _, id := range []string{"evil-recipe", "tampered"} {
		if _, ok := s.Get(id); ok {
			t.Errorf("refused recipe %s can be looked up to run", id)
		}
	}
	if st.Key != orgdoc.KeyID(orgPub) {
		t.Errorf("status key %s, want %s", st.Key, orgdoc.KeyID(orgPub))
	}

	// An older version replayed, also after a restart and a withdrawal.
	s.Apply(wire.Recipes{})
	if _, ok := s.Get("clear-lob-cache"); ok {
		t.Fatal("a withdrawn recipe is still offered")
	}
	s, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	st = s.Apply(wire.Recipes{Docs: []orgdoc.Signed{sign(t, orgPriv, cacheRecipe(1))}})
	if why := refusal(st, "clear-lob-cache"); !strings.Contains(why, "older than version 2") {
		t.Fatalf("replayed v1: %+v", st)
	}
	// The same version with other content.
	s.Apply(wire.Recipes{Docs: []orgdoc.Signed{v2}})
	other := cacheRecipe(2)
	other.Title = "Something else"
	st = s.Apply(wire.Recipes{Docs: []orgdoc.Signed{sign(t, orgPriv, other)}})
	if why := refusal(st, "clear-lob-cache"); !strings.Contains(why, "needs a new version") {
		t.Fatalf("same version, other content: %+v", st)
	}

	// A key change not signed by the pinned key.
	st = s.Apply(wire.Recipes{KeyChanges: []orgdoc.Signed{keyChange(t, evilPriv, evilPub2, 1)}})
	if why := refusal(st, "key-change"); !strings.Contains(why, "not by the key pinned") {
		t.Fatalf("forged key change: %+v", st)
	}
	if _, pub, _, _ := ReadPin(dir); !pub.Equal(orgPub) {
		t.Fatal("a forged key change moved the pinned key")
	}

	// A real rotation: the old key signs the change; recipes by the new
	// key are accepted, those by the old one no longer.
	newPub, newPriv := newKey(t)
	change := keyChange(t, orgPriv, newPub, 1)
	st = s.Apply(wire.Recipes{KeyChanges: []orgdoc.Signed{change}, Docs: []orgdoc.Signed{sign(t, newPriv, cacheRecipe(3))}})
	if len(st.Accepted) != 1 || st.Accepted[0].Version != 3 || st.Key != orgdoc.KeyID(newPub) {
		t.Fatalf("after rotation: %+v", st)
	}
	if _, ok := s.Get("clear-lob-cache"); !ok {
		t.Fatal("recipe signed by the new key not found")
	}
	st = s.Apply(wire.Recipes{KeyChanges: []orgdoc.Signed{change}, Docs: []orgdoc.Signed{sign(t, orgPriv, cacheRecipe(4))}})
	if why := refusal(st, "clear-lob-cache"); !strings.Contains(why, "not by the key pinned") {
		t.Fatalf("recipe by the retired key: %+v", st)
	}
	if refusal(st, "key-change") != "" {
		t.Fatalf("the applied change sent again is reported: %+v", st)
	}
	// Replaying a change back to the old key: signed by the old key,
	// which is no longer pinned.
	back := keyChange(t, orgPriv, orgPub, 2)
	st = s.Apply(wire.Recipes{KeyChanges: []orgdoc.Signed{back}})
	if why := refusal(st, "key-change"); !strings.Contains(why, "not by the key pinned") {
		t.Fatalf("change signed by the retired key: %+v", st)
	}

	// Root pins another key locally: kept recipes by the old key stop
	// verifying at once.
	s.Apply(wire.Recipes{Docs: []orgdoc.Signed{sign(t, newPriv, cacheRecipe(5))}})
	if err := PinKey(dir, orgPub, "local", now); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get("clear-lob-cache"); ok {
		t.Fatal("a recipe by the key no longer pinned is still offered after a local re-pin")
	}
	if p, _, _, _ := ReadPin(dir); p.Serial != 1 || p.SetBy != "local" {
		t.Fatalf("pin after the local change: %+v", p)
	}
}

func TestPinAtEnrollment(t *testing.T) {
	a, _ := newKey(t)
	b, _ := newKey(t)
	dir := t.TempDir()
	tokA := orgdoc.EncodePublicKey(a)
	if id, err := PinAtEnrollment(dir, "", tokA, time.Now()); err != nil || id != orgdoc.KeyID(a) {
		t.Fatalf("token's key: %s %v", id, err)
	}
	// A later token naming another key cannot replace it.
	if err := CheckEnrollmentKey(dir, "", orgdoc.EncodePublicKey(b)); err == nil || !strings.Contains(err.Error(), "cannot change it") ||
		!strings.Contains(err.Error(), dir) {
		t.Fatalf("token with another key: %v", err)
	}
	// The administrator's flag can, from a file.
	f := filepath.Join(t.TempDir(), "org.pub")
	os.WriteFile(f, []byte(orgdoc.EncodePublicKey(b)+"\n"), 0o644)
	if id, err := PinAtEnrollment(dir, f, "", time.Now()); err != nil || id != orgdoc.KeyID(b) {
		t.Fatalf("flag's key: %s %v", id, err)
	}
	// Flag and token disagreeing: refused.
	if err := CheckEnrollmentKey(t.TempDir(), f, tokA); err == nil || !strings.Contains(err.Error(), "--recipe-key") {
		t.Fatalf("flag and token disagree: %v", err)
	}
	if _, err := PinAtEnrollment(t.TempDir(), "not-a-key", "", time.Now()); err == nil {
		t.Fatal("a bad --recipe-key was pinned")
	}
}

// BenchmarkApply50 measures what a hub's recipes message costs the agent:
// 50 signed recipes verified, checked and saved (the largest set a group
// gets).
func BenchmarkApply50(b *testing.B) {
	dir := b.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := PinKey(dir, pub, "enrollment", time.Now()); err != nil {
		b.Fatal(err)
	}
	s, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	var msg wire.Recipes
	for i := 0; i < wire.MaxRecipes; i++ {
		r := cacheRecipe(1)
		r.ID = "recipe-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		d, err := recipe.Sign(priv, r)
		if err != nil {
			b.Fatal(err)
		}
		msg.Docs = append(msg.Docs, d)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if st := s.Apply(msg); len(st.Accepted) != wire.MaxRecipes {
			b.Fatalf("accepted %d", len(st.Accepted))
		}
	}
}
