package api_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/recipe"
)

// TestArticleLinksRecipe: an article's fixes may name a published signed
// recipe as they name a catalog fix; an id that is neither is refused
// with the recipes to choose from, and a refused edit changes nothing.
func TestArticleLinksRecipe(t *testing.T) {
	f := setup(t)
	// Before any recipe is published, the error says how to publish one.
	rec := f.call(t, "POST", "/api/v1/articles", f.tokens[store.RoleTier2], `{"title":"VPN profile broken","fixes":["reset-vpn-profile"]}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "no recipe is published: publish it first with tierline-hub recipe add") {
		t.Fatalf("a recipe not published yet: %d %s", rec.Code, rec.Body)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	doc, err := recipe.Sign(priv, recipe.Recipe{ID: "reset-vpn-profile", Version: 1, Title: "Reset the VPN profile", Tier: 0,
		OSes: []string{"linux"}, Steps: []recipe.Step{{Argv: []string{"/usr/bin/true"}}}, TimeoutSec: 30})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := doc.Encode()
	body, _ := json.Marshal(map[string]any{"doc": json.RawMessage(raw), "groups": []string{"*"}})
	if rec := f.call(t, "POST", "/api/v1/recipes", f.tokens[store.RoleAdmin], string(body)); rec.Code != http.StatusCreated {
		t.Fatalf("publish: %d %s", rec.Code, rec.Body)
	}
	rec = f.call(t, "POST", "/api/v1/articles", f.tokens[store.RoleTier2], `{"title":"VPN profile broken","fixes":["reset-vpn-profile","flush-dns"]}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("an article linking a recipe: %d %s", rec.Code, rec.Body)
	}
	a := decodeArticle(t, rec.Body.Bytes())
	if !slices.Equal(a.Fixes, []string{"reset-vpn-profile", "flush-dns"}) {
		t.Fatalf("fixes %v", a.Fixes)
	}
	rec = f.call(t, "PUT", "/api/v1/articles/"+a.ID, f.tokens[store.RoleTier2], `{"title":"VPN profile broken","fixes":["reset-vpm-profile"]}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `\"reset-vpm-profile\" is neither a fix of the catalog nor a published recipe`) ||
		!strings.Contains(rec.Body.String(), "or one of the recipes reset-vpn-profile") {
		t.Fatalf("a misspelt recipe: %d %s", rec.Code, rec.Body)
	}
	if got := f.getArticle(t, a.ID); !slices.Equal(got.Fixes, []string{"reset-vpn-profile", "flush-dns"}) {
		t.Errorf("a refused edit changed the article: %+v", got)
	}
}
