package console

import (
	"context"
	"net/http"
	"time"

	"github.com/tierline/tierline/hub/recipes"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// recipeStore is what the recipes page reads from the store.
type recipeStore interface {
	ListRecipes(ctx context.Context) ([]store.Recipe, error)
	RecipeStatuses(ctx context.Context, ids ...string) (map[string]store.RecipeStatus, error)
	ListDevices(ctx context.Context, opt store.ListDevicesOptions) ([]store.Device, error)
}

// The organisation's signed recipes: what is published to which groups,
// who signed it, and on which devices the agent refused it and why.
// Publishing is `tierline-hub recipe add` or POST /api/v1/recipes (admin).
func init() {
	Register(Page{Pattern: "GET /recipes", Role: store.RoleTier1, Nav: "Recipes", NavOrder: 85, Handle: recipesPage})
}

func recipesPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	ctx := r.Context()
	rs, err := c.recipes.ListRecipes(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	sts, err := c.recipes.RecipeStatuses(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	views, err := recipes.Views(ctx, rs, sts, c.recipes)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	c.Render(w, r, req, http.StatusOK, "recipes.html", View{Title: "Recipes", Data: views})
}

// deviceRecipes is what a device's agent made of the recipes it was sent
// (its latest recipe_status): the recipes it accepted, verified against
// the key pinned on it, and those it refused with the agent's reason.
type deviceRecipes struct {
	Reported bool
	// Key is the id of the organisation key pinned on the device, the
	// signer of every recipe it accepted ("" when none is pinned).
	Key        string
	Accepted   []wire.RecipeRef
	Refused    []wire.RecipeRef
	ReportedAt time.Time
}

func loadDeviceRecipes(ctx context.Context, c *Console, id string) (deviceRecipes, error) {
	sts, err := c.recipes.RecipeStatuses(ctx, id)
	if err != nil {
		return deviceRecipes{}, err
	}
	st, found := sts[id]
	s, ok := recipes.Status(st, found)
	if !ok {
		return deviceRecipes{}, nil
	}
	return deviceRecipes{Reported: true, Key: s.Key, Accepted: s.Accepted, Refused: s.Refused, ReportedAt: st.UpdatedAt}, nil
}
