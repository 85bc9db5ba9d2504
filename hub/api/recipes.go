package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tierline/tierline/hub/recipes"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/wire"
)

// recipesStore is what the recipe routes, and recipe runs, call on the
// store.
type recipesStore interface {
	recipes.PublishStore
	ListRecipes(ctx context.Context) ([]store.Recipe, error)
	DeleteRecipe(ctx context.Context, id string) error
	RecipeStatuses(ctx context.Context, ids ...string) (map[string]store.RecipeStatus, error)
	ListDevices(ctx context.Context, opt store.ListDevicesOptions) ([]store.Device, error)
}

// PublishRecipeRequest is the body of POST /api/v1/recipes.
type PublishRecipeRequest struct {
	// Doc is the signed document `tierline-hub recipe sign` (or `recipe
	// rotate`) wrote.
	Doc    json.RawMessage `json:"doc"`
	Groups []string        `json:"groups"`
}

func (a *API) publishRecipe(w http.ResponseWriter, r *http.Request, who Caller) {
	var req PublishRecipeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	up, err := recipes.Publish(r.Context(), a.recipes, req.Doc, req.Groups, who.Name, a.cfg.Now())
	var refused *recipes.RefusedError
	switch {
	case errors.Is(err, store.ErrRecipeVersion), errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "conflict", err.Error())
		return
	case errors.As(err, &refused):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		a.internal(w, "publish recipe", err)
		return
	}
	if up.Recipe != nil {
		writeJSON(w, http.StatusCreated, map[string]any{"recipe": up.Recipe})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"key_change": map[string]any{"serial": up.KeyChange.Serial}})
}

func (a *API) listRecipes(w http.ResponseWriter, r *http.Request, who Caller) {
	rs, err := a.recipes.ListRecipes(r.Context())
	if err != nil {
		a.internal(w, "list recipes", err)
		return
	}
	sts, err := a.recipes.RecipeStatuses(r.Context())
	if err != nil {
		a.internal(w, "recipe statuses", err)
		return
	}
	out, err := recipes.Views(r.Context(), rs, sts, a.recipes)
	if err != nil {
		a.internal(w, "list devices", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recipes": out})
}

func (a *API) deleteRecipe(w http.ResponseWriter, r *http.Request, who Caller) {
	id := r.PathValue("id")
	err := a.recipes.DeleteRecipe(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no recipe %q", clip(id)))
		return
	}
	if err != nil {
		a.internal(w, "delete recipe", err)
		return
	}
	a.audit(r, who, "recipe.withdraw", id, "ok", nil)
	w.WriteHeader(http.StatusNoContent)
}

// lookupRecipe finds a published recipe by id for a run.
func (a *API) lookupRecipe(ctx context.Context, id string) (store.Recipe, recipe.Recipe, bool, error) {
	rs, err := a.recipes.ListRecipes(ctx)
	if err != nil {
		return store.Recipe{}, recipe.Recipe{}, false, err
	}
	for _, sr := range rs {
		if sr.ID == id {
			p, err := recipes.Parsed(sr)
			if err != nil {
				return store.Recipe{}, recipe.Recipe{}, false, nil
			}
			return sr, p, true, nil
		}
	}
	return store.Recipe{}, recipe.Recipe{}, false, nil
}

// recipeRefuses says why the recipe of p cannot run on d, or "": it must
// be published to d's group, d's agent must have accepted this version,
// and the values must expand for d's OS (the agent checks all of it
// again).
func (a *API) recipeRefuses(ctx context.Context, d store.Device, p prepared, values bool) string {
	if d.RevokedAt != nil {
		return "the device is revoked"
	}
	if !recipes.Published(*p.stored, d.Group) {
		return fmt.Sprintf("recipe %s is not published to the device's group %q", p.fix.ID, d.Group)
	}
	if !p.fix.Supports(d.OS) {
		return fmt.Sprintf("%s is not available on %s", p.fix.ID, d.OS)
	}
	sts, err := a.recipes.RecipeStatuses(ctx, d.ID)
	if err != nil {
		return "the device's recipe status could not be read; try again"
	}
	s, ok := recipes.Status(sts[d.ID], len(sts) > 0)
	switch {
	case !ok:
		return fmt.Sprintf("the agent on %s has not reported its recipes yet (it does when it connects)", d.Hostname)
	case !recipes.Accepted(s, p.fix.ID, p.stored.Version):
		if why := recipes.RefusalOf(s, p.fix.ID); why != "" {
			return fmt.Sprintf("the agent on %s refused recipe %s: %s", d.Hostname, p.fix.ID, why)
		}
		return fmt.Sprintf("the agent on %s has not accepted version %d of recipe %s yet", d.Hostname, p.stored.Version, p.fix.ID)
	}
	if _, _, err := p.recipe.Expand(d.OS, p.params); values && err != nil {
		return err.Error()
	}
	return ""
}

// runRefuses is deviceRefuses for a catalog fix, recipeRefuses for a
// recipe, and for a software install also softwareRefuses.
func (a *API) runRefuses(ctx context.Context, d store.Device, p prepared) string {
	if p.recipe != nil {
		return a.recipeRefuses(ctx, d, p, true)
	}
	if why := deviceRefuses(d, p.fix); why != "" || p.software == nil {
		return why
	}
	return a.softwareRefuses(ctx, d, *p.software)
}

// lookupSoftware finds a published software catalog entry by id.
func (a *API) lookupSoftware(ctx context.Context, id string) (store.Recipe, bool, error) {
	rs, err := a.recipes.ListRecipes(ctx)
	if err != nil {
		return store.Recipe{}, false, err
	}
	for _, sr := range rs {
		if sr.ID == id {
			_, isSW, err := recipes.ParsedSoftware(sr)
			return sr, isSW && err == nil, nil
		}
	}
	return store.Recipe{}, false, nil
}

// softwareRefuses says why entry cannot be installed on d, or "": it
// must be published to d's group, for d's OS, and accepted by d's agent
// at this version (the agent checks the signature and all of it again).
func (a *API) softwareRefuses(ctx context.Context, d store.Device, sr store.Recipe) string {
	e, _, err := recipes.ParsedSoftware(sr)
	switch {
	case err != nil:
		return err.Error()
	case !recipes.Published(sr, d.Group):
		g := d.Group
		if g == "" {
			g = store.DefaultGroup
		}
		return fmt.Sprintf("software %s is not published to the device's group %q", e.ID, g)
	case e.OS() != d.OS:
		return fmt.Sprintf("software %s is installed with %s, for %s; the device runs %s", e.ID, e.Manager, e.OS(), d.OS)
	}
	sts, err := a.recipes.RecipeStatuses(ctx, d.ID)
	if err != nil {
		return "the device's catalog status could not be read; try again"
	}
	s, ok := recipes.Status(sts[d.ID], len(sts) > 0)
	switch {
	case !ok:
		return fmt.Sprintf("the agent on %s has not reported its signed documents yet (it does when it connects)", d.Hostname)
	case !recipes.Accepted(s, e.ID, sr.Version):
		if why := recipes.RefusalOf(s, e.ID); why != "" {
			return fmt.Sprintf("the agent on %s refused software %s: %s", d.Hostname, e.ID, why)
		}
		return fmt.Sprintf("the agent on %s has not accepted version %d of software %s yet", d.Hostname, sr.Version, e.ID)
	}
	return ""
}

// recipeCatalog adds the recipes published to the device's group (or,
// without a device, every recipe) to the catalog listing.
func (a *API) recipeCatalog(ctx context.Context, who Caller, dev *store.Device) ([]CatalogFix, error) {
	rs, err := a.recipes.ListRecipes(ctx)
	if err != nil {
		return nil, err
	}
	var out []CatalogFix
	for _, sr := range rs {
		p, err := recipes.Parsed(sr)
		if err != nil {
			continue
		}
		cf := CatalogFix{Fix: p.Fix(), Allowed: true, Recipe: &RecipeInfo{Version: sr.Version, Signer: sr.Signer}}
		if dev != nil {
			if !recipes.Published(sr, dev.Group) || !cf.Supports(dev.OS) {
				continue
			}
			pr := prepared{fix: cf.Fix, recipe: &p, stored: &sr}
			if why := a.recipeRefuses(ctx, *dev, pr, false); why != "" {
				cf.Allowed, cf.Refusal = false, why
			}
		}
		if reason := roleRefuses(who.Role, cf.Fix); reason != "" {
			cf.Allowed, cf.Refusal = false, reason
		}
		out = append(out, cf)
	}
	return out, nil
}

// RecipeInfo marks a catalog entry that is an organisation recipe.
type RecipeInfo struct {
	Version int64  `json:"version"`
	Signer  string `json:"signer"`
}

// DeviceRecipes is GET /api/v1/devices/{id}/recipes: what the device's
// agent made of the recipes it was last sent.
type DeviceRecipes struct {
	// Reported is false until the agent has sent a report.
	Reported bool `json:"reported"`
	// Key is the id of the organisation key pinned on the device, the
	// signer of every recipe it accepted ("" when none is pinned).
	Key        string           `json:"key"`
	Accepted   []wire.RecipeRef `json:"accepted"`
	Refused    []wire.RecipeRef `json:"refused"`
	ReportedAt *time.Time       `json:"reported_at"`
}

func (a *API) deviceRecipes(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	sts, err := a.recipes.RecipeStatuses(r.Context(), d.ID)
	if err != nil {
		a.internal(w, "recipe status", err)
		return
	}
	out := DeviceRecipes{Accepted: []wire.RecipeRef{}, Refused: []wire.RecipeRef{}}
	st, found := sts[d.ID]
	if s, ok := recipes.Status(st, found); ok {
		at := st.UpdatedAt.UTC()
		out.Reported, out.Key, out.ReportedAt = true, s.Key, &at
		if s.Accepted != nil {
			out.Accepted = s.Accepted
		}
		if s.Refused != nil {
			out.Refused = s.Refused
		}
	}
	writeJSON(w, http.StatusOK, out)
}
