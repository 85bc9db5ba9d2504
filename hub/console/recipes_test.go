package console

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/recipes"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/wire"
)

// TestRecipesPage: the recipes page lists each published recipe with its
// signer, version and groups, how many agents accepted it, and on which
// devices it was refused with the agent's reason, escaped.
func TestRecipesPage(t *testing.T) {
	tc := newTestConsole(t)
	ctx := context.Background()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	doc, err := recipe.Sign(priv, recipe.Recipe{ID: "restart-vpn-client", Version: 4, Title: "Restart the VPN client", Tier: 1,
		OSes: []string{catalog.Linux}, Steps: []recipe.Step{{Argv: []string{"systemctl", "restart", "openvpn-client@corp"}}}, TimeoutSec: 60})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := doc.Encode()
	if _, err := recipes.Publish(ctx, tc.st, raw, []string{"sales", "default"}, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	for i, st := range []wire.RecipeStatus{
		{Key: doc.Key, Accepted: []wire.RecipeRef{{ID: "restart-vpn-client", Version: 4}}},
		{Key: "ffffffffffffffff", Refused: []wire.RecipeRef{{ID: "restart-vpn-client", Version: 4, Reason: "signed by key " + doc.Key + ", not by the key pinned " + hostile}}},
	} {
		secret := auth.Secret(16)
		tc.st.CreateToken(ctx, store.Token{ID: wire.NewID(), MaxUses: 1, ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}, auth.HashSecret(secret))
		id := wire.NewID()
		if _, err := tc.st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: id, Hostname: []string{"laptop-ok", "laptop-old-key"}[i], OS: "linux"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(st)
		if err := tc.st.SetRecipeStatus(ctx, store.RecipeStatus{DeviceID: id, Signer: st.Key, Status: b, UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	res, page := tc.get(t, tc.login(t, store.RoleTier1), "/recipes")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /recipes: %d", res.StatusCode)
	}
	row := page[strings.Index(page, `data-recipe="restart-vpn-client"`):]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{"Restart the VPN client", ">4<", doc.Key, "default, sales", ">1<", "laptop-old-key", "not by the key pinned"} {
		if !strings.Contains(row, want) {
			t.Errorf("recipe row lacks %q:\n%s", want, row)
		}
	}
	if strings.Contains(page, "<script>window.__xss") {
		t.Error("an agent's refusal reason is not escaped")
	}
}
