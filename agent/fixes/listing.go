package fixes

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/wire"
)

// Listed is one catalog fix as it applies to this machine.
type Listed struct {
	catalog.Fix
	// Available: the agent runs it here when asked by a tier of at least Tier.
	Available bool `json:"available"`
	// Why says which policy rule, OS limit or missing tool keeps it from
	// running here.
	Why string `json:"why,omitempty"`
	// Recipe is set for an organisation's signed recipe the agent
	// accepted (not a fix compiled into it).
	Recipe *RecipeOrigin `json:"recipe,omitempty"`
}

// RecipeOrigin says which signed document a listed recipe came from.
type RecipeOrigin struct {
	Version int64 `json:"version"`
	// Signer is the id of the organisation key that signed it (the key
	// pinned on this machine).
	Signer string `json:"signer"`
}

// AcceptedRecipe is a recipe the agent accepted, with its signer.
type AcceptedRecipe struct {
	Recipe recipe.Recipe
	Signer string
}

// Listing is the fix catalog compiled into the agent as it applies to one
// machine under its policy (`tierline-agent fixes`).
type Listing struct {
	OS                string   `json:"os"`
	Policy            string   `json:"policy"`
	MaxTier           int      `json:"max_tier"`
	TechnicianConsent bool     `json:"technician_consent"`
	AllowServices     []string `json:"allow_services"`
	Fixes             []Listed `json:"fixes"`
	// RecipeKey is the id of the organisation key pinned here ("" when
	// none is: the agent then accepts no recipes).
	RecipeKey string `json:"recipe_key"`
	// RecipesRefused are the recipes the hub sent last that the agent
	// refused, with the reason.
	RecipesRefused []wire.RecipeRef `json:"recipes_refused,omitempty"`
}

// AddRecipes lists the accepted recipes after the catalog, judged by the
// same policy and OS as the catalog's fixes.
func (rep *Listing) AddRecipes(pol Policy, m Machine, key string, accepted []AcceptedRecipe, refused []wire.RecipeRef) {
	rep.RecipeKey, rep.RecipesRefused = key, refused
	for _, a := range accepted {
		f := a.Recipe.Fix()
		l := Listed{Fix: f, Available: true, Recipe: &RecipeOrigin{Version: a.Recipe.Version, Signer: a.Signer}}
		switch {
		case !f.Supports(m.GOOS):
			l.Available, l.Why = false, "not available on "+m.GOOS
		case !pol.Allows(f):
			l.Available, l.Why = false, PolicyRefusal(pol, f)
		}
		rep.Fixes = append(rep.Fixes, l)
	}
}

// List says which fixes run on m under pol, and why the others do not.
func List(pol Policy, m Machine) Listing {
	rep := Listing{OS: m.GOOS, Policy: pol.SourceName(), MaxTier: pol.MaxTier, TechnicianConsent: pol.TechnicianConsent,
		AllowServices: AllowedServices(m.GOOS, pol)}
	for _, f := range catalog.All() {
		l := Listed{Fix: f, Available: true}
		switch {
		case !f.Supports(m.GOOS):
			l.Available, l.Why = false, "not available on "+m.GOOS
		case !pol.Allows(f):
			l.Available, l.Why = false, PolicyRefusal(pol, f)
		default:
			if why := NotApplicableHere(f, m); why != "" {
				l.Available, l.Why = false, "not applicable here: "+why
			}
		}
		rep.Fixes = append(rep.Fixes, l)
	}
	return rep
}

// NotApplicableHere says in plain words why f does not apply to m (the
// tool it needs is missing, systemd is not running, there is no DHCP
// lease, ...), or "" when it does. It plans f with sample parameters and
// runs nothing; a fix that takes a target (a service, a process) may
// still not apply to the one asked for.
func NotApplicableHere(f catalog.Fix, m Machine) string {
	params, _ := f.Validate(sampleParams[f.ID])
	if _, err := MakePlan(f, params, m); err != nil {
		var na *NotApplicableError
		if errors.As(err, &na) {
			return na.Reason
		}
	}
	return ""
}

// NotApplicable maps each catalog fix for m's OS that does not apply to m
// to the reason (NotApplicableHere), for the inventory: the console then
// does not offer them.
func NotApplicable(m Machine) map[string]string {
	out := map[string]string{}
	for _, f := range catalog.For(m.GOOS) {
		if why := NotApplicableHere(f, m); why != "" {
			out[f.ID] = why
		}
	}
	return out
}

// SourceName is the policy's file, or "defaults".
func (p Policy) SourceName() string {
	if p.Source == "" {
		return "defaults"
	}
	return p.Source
}

// Write prints the listing as a table, with why each fix that is not
// available is not.
func (rep Listing) Write(w io.Writer) {
	fmt.Fprintf(w, "Fixes on this %s machine (policy: %s; technician consent %s)\n\n", rep.OS, rep.Policy,
		map[bool]string{true: "accepted", false: "not accepted"}[rep.TechnicianConsent])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIX\tTIER\tCONSENT\tDISRUPTIVE\tAVAILABLE\tTITLE")
	var notes []string
	status := func(l Listed) string {
		if !l.Available {
			notes = append(notes, fmt.Sprintf("  %s: %s", l.ID, l.Why))
			return "no (see below)"
		}
		return "available"
	}
	var recipes []Listed
	for _, l := range rep.Fixes {
		if l.Recipe != nil {
			recipes = append(recipes, l)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", l.ID, l.Tier, yesNo(l.Consent), yesNo(l.Disruptive), status(l), l.Title)
	}
	tw.Flush()
	switch {
	case len(recipes) > 0:
		fmt.Fprintf(w, "\nRecipes: the organisation's own fixes, signed with its key %s and accepted by this agent\n\n", rep.RecipeKey)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RECIPE\tVERSION\tTIER\tSIGNER\tCONSENT\tDISRUPTIVE\tAVAILABLE\tTITLE")
		for _, l := range recipes {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Recipe.Version, l.Tier, l.Recipe.Signer, yesNo(l.Consent), yesNo(l.Disruptive), status(l), l.Title)
		}
		tw.Flush()
	case rep.RecipeKey == "":
		fmt.Fprintln(w, "\nRecipes: none (no organisation recipe key is pinned here, so this agent accepts none)")
	default:
		fmt.Fprintf(w, "\nRecipes: none accepted (the pinned organisation key is %s)\n", rep.RecipeKey)
	}
	for _, r := range rep.RecipesRefused {
		fmt.Fprintf(w, "  refused recipe %s (version %d): %s\n", r.ID, r.Version, r.Reason)
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nNot available here:\n%s\n", strings.Join(notes, "\n"))
	}
	fmt.Fprintf(w, "\nrestart-service allow-list: %s\n", strings.Join(rep.AllowServices, ", "))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

// sampleParams make a plan for the listing; only their presence matters.
var sampleParams = map[string]map[string]string{
	catalog.ClearCredentials: {"target": "example"},
	catalog.RestartService:   {"service": "example"},
	catalog.EndProcess:       {"name": "example"},
}
