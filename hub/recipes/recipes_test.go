package recipes

import (
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
)

func signed(t *testing.T, priv ed25519.PrivateKey, id string) []byte {
	t.Helper()
	d, err := recipe.Sign(priv, recipe.Recipe{ID: id, Version: 1, Title: id, Tier: 0, OSes: []string{catalog.Linux},
		Steps: []recipe.Step{{Argv: []string{"true"}}}, TimeoutSec: 5})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := d.Encode()
	return raw
}

// TestPrepareAndMessage: uploads are checked for form (the hub has no key
// to check signatures with), groups are validated, and each device gets
// its group's recipes and every key change.
func TestPrepareAndMessage(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	for _, c := range []struct {
		raw    []byte
		groups []string
		want   string
	}{
		{signed(t, priv, "a"), nil, "name the device groups"},
		{signed(t, priv, "a"), []string{"bad group!"}, "group"},
		{[]byte(`{"kind":"recipe","body":{"id":"a"},"key":"0123456789abcdef","sig":"` + strings.Repeat("A", 86) + `=="}`), []string{"x"}, "recipe body"},
		{[]byte(`{"kind":"script","body":{},"key":"0123456789abcdef","sig":""}`), []string{"x"}, "unknown document kind"},
		{[]byte(`not json`), []string{"x"}, "not a signed document"},
	} {
		if _, err := Prepare(c.raw, c.groups, "t", now); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Prepare(%.40s, %v) = %v, want %q", c.raw, c.groups, err, c.want)
		}
	}
	var all []store.Recipe
	for id, g := range map[string][]string{"for-sales": {"sales"}, "for-all": {AllGroups}, "for-default-hr": {"default", "hr"}} {
		up, err := Prepare(signed(t, priv, id), g, "t", now)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, *up.Recipe)
	}
	newPub, _, _ := ed25519.GenerateKey(rand.Reader)
	kcDoc, _ := orgdoc.Sign(priv, orgdoc.KindKeyChange, orgdoc.KeyChange{New: orgdoc.EncodePublicKey(newPub), Serial: 1})
	kcRaw, _ := kcDoc.Encode()
	up, err := Prepare(kcRaw, nil, "t", now)
	if err != nil || up.KeyChange == nil || up.KeyChange.Serial != 1 {
		t.Fatalf("key change: %+v %v", up, err)
	}
	for group, want := range map[string]string{"": "for-all for-default-hr", "sales": "for-all for-sales", "hr": "for-all for-default-hr"} {
		msg := Message(all, []store.RecipeKeyChange{*up.KeyChange}, group)
		var ids []string
		for _, d := range msg.Docs {
			r, _ := recipe.Parse(d)
			ids = append(ids, r.ID)
		}
		slices.Sort(ids)
		if got := strings.Join(ids, " "); got != want {
			t.Errorf("group %q gets %q, want %q", group, got, want)
		}
		if len(msg.KeyChanges) != 1 {
			t.Errorf("group %q gets %d key changes", group, len(msg.KeyChanges))
		}
	}
}
