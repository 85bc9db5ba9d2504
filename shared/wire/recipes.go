package wire

import (
	"errors"
	"fmt"

	"github.com/tierline/tierline/shared/orgdoc"
)

func init() {
	register(func() Body { return new(Recipes) })
	register(func() Body { return new(RecipeStatus) })
}

// Message types of the organisation's signed recipes (added 2026-12-06
// within protocol version 1: an agent that does not know them logs and
// ignores them, and a hub that does not know recipe_status refuses it
// without closing the connection).
const (
	// TypeRecipes carries the signed recipes published to the device's
	// group, and key changes, hub → agent, at each connection and when
	// they change. The agent verifies each against its pinned key.
	TypeRecipes Type = "recipes"
	// TypeRecipeStatus reports what the agent accepted and refused, agent
	// → hub, after each Recipes. Unsequenced: the latest report replaces
	// the one before, and the next connection brings a new one.
	TypeRecipeStatus Type = "recipe_status"
)

// Limits of the recipe messages.
const (
	MaxRecipes       = 50
	MaxKeyChanges    = 8
	MaxRecipeRefusal = 500
)

// Recipes is the set of signed recipes a device should offer: the agent
// accepts those its pinned key signed and drops the ones it held that are
// no longer in the set.
type Recipes struct {
	Docs []orgdoc.Signed `json:"docs"`
	// KeyChanges, oldest first, move the pinned key on; each must be
	// signed by the key it replaces.
	KeyChanges []orgdoc.Signed `json:"key_changes,omitempty"`
}

func (Recipes) Type() Type { return TypeRecipes }

func (r Recipes) Validate() error {
	if len(r.Docs) > MaxRecipes || len(r.KeyChanges) > MaxKeyChanges {
		return fmt.Errorf("at most %d recipes and %d key changes", MaxRecipes, MaxKeyChanges)
	}
	// Each document's own form is judged one by one by the agent, so a
	// bad one is refused with its reason and the others still apply.
	return nil
}

// RecipeRef names one version of a recipe.
type RecipeRef struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	// Reason is why the agent refused it (in RecipeStatus.Refused).
	Reason string `json:"reason,omitempty"`
}

// RecipeStatus is what the agent made of the last Recipes.
type RecipeStatus struct {
	// Key is the id of the organisation key pinned on the device, empty
	// when none is.
	Key      string      `json:"key,omitempty"`
	Accepted []RecipeRef `json:"accepted,omitempty"`
	Refused  []RecipeRef `json:"refused,omitempty"`
}

func (RecipeStatus) Type() Type { return TypeRecipeStatus }

func (s RecipeStatus) Validate() error {
	if len(s.Key) > 16 {
		return errors.New("key id is longer than 16 bytes")
	}
	if len(s.Accepted) > MaxRecipes || len(s.Refused) > MaxRecipes+MaxKeyChanges {
		return errors.New("too many recipes in the status")
	}
	for _, r := range append(append([]RecipeRef{}, s.Accepted...), s.Refused...) {
		if len(r.ID) > 64 || len(r.Reason) > MaxRecipeRefusal {
			return fmt.Errorf("recipe %q: id over 64 bytes or reason over %d", Clip(r.ID, 64), MaxRecipeRefusal)
		}
	}
	return nil
}
