package selfhelp

import (
	"slices"
	"sort"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/catalog"
)

// categoryFixes are the Tier 0 fixes that belong to each Get help
// category (wire.HelpCategories), most likely to help first. "sign-in",
// "application" and "other" have none of their own: the catalog has no
// Tier 0 fix for them, so the diagnosis alone orders the list.
var categoryFixes = map[string][]string{
	"cannot-connect": {catalog.FlushDNS, catalog.RenewDHCP, catalog.RestartResolver, catalog.EnableInterface},
	"printing":       {catalog.ResumePrinter, catalog.CancelPrintJobs, catalog.RestartPrintSpooler},
	"slow":           {catalog.ClearTemp},
}

// Why a fix is where it is in the list.
const (
	ForFailing  = "failing"  // it addresses a check that fails now
	ForWarning  = "warning"  // it addresses a check that warns now
	ForCategory = "category" // it belongs to the category the user chose
)

// RankedFix is a fix as the page lists it: Tier 0 and applicable here, in
// the order to try them.
type RankedFix struct {
	localipc.Fix
	// Rank is its place in the list, from 1.
	Rank int `json:"rank"`
	// For says why it is that high: ForFailing, ForWarning, ForCategory,
	// or "" for the rest.
	For string `json:"for,omitempty"`
}

// RankFixes orders the fixes a user may run from Get help: first those
// that address a check failing now, then those that address a warning,
// then those belonging to the category the user chose, then the rest.
// Within each group a fix a check names as its own comes first (over one
// that only verifies it), then a fix of the chosen category, then one that
// addresses more checks, then the category's own order, then the
// catalog's. Fixes above Tier 0 and fixes that do not apply here (the
// agent says why in Reason) are left out: the page never offers a fix
// that would only come back not_applicable.
func RankFixes(fixes []localipc.Fix, category string) []RankedFix {
	mine := categoryFixes[category]
	catOrder := func(id string) int {
		if i := slices.Index(mine, id); i >= 0 {
			return i
		}
		return len(mine)
	}
	catalogOrder := func(id string) int {
		for i, f := range catalog.All() {
			if f.ID == id {
				return i
			}
		}
		return len(catalog.All())
	}
	out := []RankedFix{}
	for _, f := range fixes {
		// install-software has its own list (Install software), one
		// button per signed catalog entry.
		if f.Tier != catalog.TierSelfHelp || !f.Applicable || f.ID == catalog.InstallSoftware {
			continue
		}
		r := RankedFix{Fix: f}
		switch {
		case f.Worst == ForFailing:
			r.For = ForFailing
		case f.Worst == ForWarning || len(f.Addresses) > 0:
			r.For = ForWarning
		case slices.Contains(mine, f.ID):
			r.For = ForCategory
		}
		out = append(out, r)
	}
	group := map[string]int{ForFailing: 0, ForWarning: 1, ForCategory: 2, "": 3}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ga, gb := group[a.For], group[b.For]; ga != gb {
			return ga < gb
		}
		if a.Suggested != b.Suggested {
			return a.Suggested
		}
		if ca, cb := slices.Contains(mine, a.ID), slices.Contains(mine, b.ID); ca != cb {
			return ca
		}
		if na, nb := len(a.Addresses), len(b.Addresses); na != nb {
			return na > nb
		}
		if ca, cb := catOrder(a.ID), catOrder(b.ID); ca != cb {
			return ca < cb
		}
		return catalogOrder(a.ID) < catalogOrder(b.ID)
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}
