package fixes

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/wire"
)

// RecipeSource gives the organisation's signed recipes this agent has
// accepted, each verified against the pinned key (agent/recipes.Store).
type RecipeSource interface {
	Get(id string) (recipe.Recipe, bool)
	List() []recipe.Recipe
}

// Lookup finds a fix by id: the compiled catalog first, then the signed
// recipes (rs may be nil). A recipe comes with its document.
func Lookup(id string, rs RecipeSource) (catalog.Fix, *recipe.Recipe, bool) {
	if f, ok := catalog.Get(id); ok {
		return f, nil, true
	}
	if rs == nil {
		return catalog.Fix{}, nil, false
	}
	r, ok := rs.Get(id)
	if !ok {
		return catalog.Fix{}, nil, false
	}
	return r.Fix(), &r, true
}

// AllFixes is the catalog followed by the accepted recipes.
func AllFixes(rs RecipeSource) []catalog.Fix {
	out := catalog.All()
	if rs != nil {
		for _, r := range rs.List() {
			out = append(out, r.Fix())
		}
	}
	return out
}

// RecipePlan turns a recipe's templates into a plan for m. Values the
// expansion refuses (an option-looking value where the template does not
// end options, a ".." path element, a Windows switch) refuse the run as
// bad_params before anything runs.
func RecipePlan(r recipe.Recipe, params map[string]string, m Machine) (Plan, error) {
	if !slices.Contains(r.OSes, m.GOOS) {
		return Plan{}, notApplicable("%s is not available on %s", r.ID, m.GOOS)
	}
	steps, _, err := r.Expand(m.GOOS, params)
	var ve *recipe.ValueError
	var pe *catalog.ParamError
	switch {
	case errors.As(err, &ve), errors.As(err, &pe):
		return Plan{}, &RefusalError{Code: wire.RefuseBadParams, Reason: err.Error()}
	case err != nil:
		return Plan{}, err
	}
	var p Plan
	for _, st := range steps {
		p.Steps = append(p.Steps, Step{Argv: st.Argv, OKExits: st.OKExits, Optional: st.Optional})
	}
	p.Note = fmt.Sprintf("(recipe %s version %d)", r.ID, r.Version)
	return p, nil
}
