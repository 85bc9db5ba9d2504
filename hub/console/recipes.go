package console

import (
	"context"
	"net/http"

	"github.com/tierline/tierline/hub/recipes"
	"github.com/tierline/tierline/hub/store"
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
